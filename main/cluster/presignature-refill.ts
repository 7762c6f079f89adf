/**
 * Keeps each ECDSA keyset's presignature pool at its target: when this node is idle, connected
 * and below target, it requests presignatures one at a time, never past the cap. Signing never
 * waits on this: an empty pool means the full protocol runs (the outcome says so).
 */
import { fail } from '../errors';
import type { ClusterDeps } from './deps';
import type { Keysets } from './keysets';
import type { PresignaturePool, PresignatureRecord } from './presignatures';

/** No keyset keeps more ready presignatures than this, whatever its setting. */
export const PRESIGNATURE_POOL_CAP = 16;

export interface PresignaturePoolLevel {
  keysetId: string;
  target: number;
  ready: number;
  /** Creation time of the oldest ready presignature, or null. */
  oldestAt: string | null;
  /** When the next ready presignature expires, or null. */
  nextExpiryAt: string | null;
  /** True while a refill for the keyset runs. */
  refilling: boolean;
}

export interface PresignatureRefillDeps extends ClusterDeps {
  keysets: Keysets;
  pool: PresignaturePool;
  presign: (keysetId: string) => Promise<PresignatureRecord>;
  /** No session runs here and the coordinator is connected. */
  ready: () => boolean;
}

export class PresignatureRefill {
  private readonly running = new Set<string>();
  private stopped = false;
  /** Keysets whose last presign failed: retried after this time (ms). */
  private readonly backoffUntil = new Map<string, number>();

  constructor(private readonly d: PresignatureRefillDeps) {}

  target(keysetId: string): number {
    const row = this.d.db.prepare('SELECT presignature_target FROM mpc_keysets WHERE keyset_id = ?').get(keysetId) as { presignature_target: number } | undefined;
    return row?.presignature_target ?? 0;
  }

  setTarget(keysetId: string, target: number): void {
    this.d.vault.keyRing();
    const keyset = this.d.keysets.get(keysetId);
    if (!keyset) fail('KEYSET_NOT_FOUND', `No keyset ${keysetId} on this node.`, { keysetId });
    if (keyset.scheme !== 'ecdsa') fail('MPC_SESSION_REJECTED', 'Presignatures exist only for ECDSA keysets.', { keysetId });
    if (!Number.isInteger(target) || target < 0 || target > PRESIGNATURE_POOL_CAP) {
      fail('PRESIGNATURE_TARGET_INVALID', `A presignature pool target is 0 (no refilling) to ${PRESIGNATURE_POOL_CAP}; ${String(target)} is outside that range.`, { keysetId });
    }
    this.d.db.prepare('UPDATE mpc_keysets SET presignature_target = ? WHERE keyset_id = ?').run(target, keysetId);
    this.d.audit.append({ type: 'PRESIGNATURE_TARGET_SET', actor: 'operator', subject: keysetId, details: { target } });
  }

  level(keysetId: string): PresignaturePoolLevel {
    const ready = this.d.pool.list(keysetId).filter((p) => p.state === 'ready' && Date.parse(p.expiresAt) > this.d.clock.now());
    const byCreated = [...ready].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const byExpiry = [...ready].sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    return { keysetId, target: this.target(keysetId), ready: ready.length, oldestAt: byCreated[0]?.createdAt ?? null, nextExpiryAt: byExpiry[0]?.expiresAt ?? null, refilling: this.running.has(keysetId) };
  }

  /**
   * Refills every active ECDSA keyset below its target, one presignature at a time, while the
   * node stays ready. Resolves with the number of presignatures made; one refill per keyset at once.
   */
  async refill(): Promise<number> {
    if (this.stopped || !this.d.vault.unlocked) return 0;
    let made = 0;
    for (const keyset of this.d.keysets.list()) {
      if (keyset.scheme !== 'ecdsa' || keyset.status !== 'active' || this.running.has(keyset.keysetId)) continue;
      if ((this.backoffUntil.get(keyset.keysetId) ?? 0) > this.d.clock.now()) continue;
      this.running.add(keyset.keysetId);
      try {
        for (;;) {
          const { ready, target } = this.level(keyset.keysetId);
          if (this.stopped || !this.d.vault.unlocked || ready >= Math.min(target, PRESIGNATURE_POOL_CAP) || !this.d.ready()) break;
          await this.d.presign(keyset.keysetId);
          made += 1;
        }
        this.backoffUntil.delete(keyset.keysetId);
      } catch {
        // A quorum away or a failed session: the pool stays lower and signing falls back to the
        // full protocol; try again later rather than in a tight loop.
        this.backoffUntil.set(keyset.keysetId, this.d.clock.now() + 30_000);
      } finally {
        this.running.delete(keyset.keysetId);
      }
    }
    return made;
  }

  stop(): void {
    this.stopped = true;
  }

  resume(): void {
    this.stopped = false;
  }
}
