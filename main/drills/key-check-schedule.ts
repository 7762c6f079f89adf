/**
 * Runs the key checks that need no person when they fall due: each share's key-check signature
 * (while this node is connected to its cluster) and each current backup's verify-only check.
 * Guardian keys need their guardian: they stay flagged overdue until one signs.
 */
import type { ClusterService } from '../cluster/cluster-service';
import type { VaultService } from '../vault/vault-service';
import type { KeyCheckService } from './key-checks';

/** How often due checks are looked for (they fall due in days; an hour is soon enough). */
export const SCHEDULE_TICK_MS = 60 * 60 * 1000;

export class KeyCheckSchedule {
  private running: Promise<number> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: { keyChecks: KeyCheckService; cluster: ClusterService; vault: VaultService }) {}

  /** Starts looking every `tickMs` (0: never; tests call runDue themselves). */
  start(tickMs = SCHEDULE_TICK_MS): void {
    if (tickMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.runDue().catch(() => undefined), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs every due share and backup check once; returns how many ran. One pass at a time. */
  runDue(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<number> {
    if (!this.o.vault.unlocked) return 0;
    const due = this.o.keyChecks.overview().subjects.filter((s) => s.overdue && s.kind !== 'guardian');
    let ran = 0;
    for (const s of due) {
      if (!this.o.vault.unlocked) break;
      if (s.kind === 'share') {
        // Offline, a check would only record "no quorum": it waits for the connection instead.
        if (!this.o.cluster.connected) continue;
        await this.o.keyChecks.checkShare(s.id, 'schedule');
      } else {
        this.o.keyChecks.checkBackup(s.id, 'schedule');
      }
      ran += 1;
    }
    return ran;
  }
}
