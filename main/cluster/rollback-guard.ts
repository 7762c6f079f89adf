/**
 * Rollback detection for single-use state (the presignature pool). A monotonic counter and the
 * last time this node saw its clock are kept twice:
 * - sealed in the vault (a sealed record, so nobody edits it without the vault key), and
 * - mirrored in a small state file outside the database and outside the data folder
 *   (default ~/.local/state/vaultkeeper/<vault-id>.counter), which a copy of the data folder does
 *   not carry.
 * When the vault opens, the two are compared: a database counter below its mirror means the data
 * folder was restored from an older copy; a missing mirror beside a used counter means the data
 * folder came from elsewhere (imported, or the state file was removed); a clock before the last
 * time seen means the clock went backwards. Each is a rollback: the caller discards the pool.
 *
 * What it cannot see: a snapshot of the whole machine (data folder and state file together)
 * restored later. Presignature expiry bounds that window (see README, "Presignatures").
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomically } from '../platform/atomic-file';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';

/** The sealed copy of the counter: never backed up, a restore must not bring it back. */
export const ROLLBACK_COUNTER_RECORD = { type: 'rollback-counter', id: 'self', schemaVersion: 1, backup: false } as const;

interface CounterState {
  counter: number;
  lastSeenAt: number;
}

export interface RollbackVerdict {
  /** Empty when nothing points to a rollback. */
  reasons: string[];
  databaseCounter: number;
  mirrorCounter: number | null;
}

/**
 * Where the mirror lives by default: the OS's per-user state folder, outside the data folder.
 * VAULTKEEPER_STATE_DIR overrides (tests, several consoles on one machine).
 */
export function defaultStateDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.VAULTKEEPER_STATE_DIR?.trim();
  if (override) return override;
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'Vaultkeeper', 'State');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Vaultkeeper State');
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'vaultkeeper');
}

export interface RollbackGuardOptions {
  db: Db;
  vault: VaultService;
  clock: Clock;
  /** Folder of the mirror file (tests pass a temporary folder). */
  stateDir: string;
}

export class RollbackGuard {
  /** Last time seen, in memory, to notice a clock that goes back while the vault is open. */
  private lastSeen = 0;

  constructor(private readonly o: RollbackGuardOptions) {}

  private vaultId(): string {
    const row = this.o.db.prepare('SELECT vault_id FROM vault_meta WHERE id = 1').get() as { vault_id: string } | undefined;
    if (!row) throw new Error('no vault');
    return row.vault_id;
  }

  mirrorPath(): string {
    return join(this.o.stateDir, `${this.vaultId()}.counter`);
  }

  private sealed(): CounterState | null {
    const rec = this.o.vault.records.get(ROLLBACK_COUNTER_RECORD.type, ROLLBACK_COUNTER_RECORD.id);
    if (!rec) return null;
    try {
      return parseState(rec.plaintext.toString('utf8'));
    } finally {
      rec.plaintext.fill(0);
    }
  }

  /** The mirror; 'missing' when absent, 'unreadable' when present but not ours or damaged. */
  private mirror(): CounterState | 'missing' | 'unreadable' {
    let text: string;
    try {
      text = readFileSync(this.mirrorPath(), { encoding: 'utf8', flag: 'r' });
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
    }
    if (text.length > 1024) return 'unreadable';
    try {
      const parsed = JSON.parse(text) as { vaultId?: unknown };
      if (parsed.vaultId !== this.vaultId()) return 'unreadable';
      return parseState(text) ?? 'unreadable';
    } catch {
      return 'unreadable';
    }
  }

  /** Compares the sealed counter and clock with the mirror. Needs the vault unlocked. */
  check(): RollbackVerdict {
    const sealed = this.sealed() ?? { counter: 0, lastSeenAt: 0 };
    const mirror = this.mirror();
    const reasons: string[] = [];
    const mirrorCounter = typeof mirror === 'object' ? mirror.counter : null;
    if (typeof mirror === 'object' && mirror.counter > sealed.counter) {
      reasons.push(`the database's rollback counter (${sealed.counter}) is behind its mirror (${mirror.counter}): the data folder was restored from an older copy`);
    }
    if (mirror === 'missing' && sealed.counter > 0) reasons.push('the rollback counter mirror is missing: the data folder was copied or imported from elsewhere, or the state file was removed');
    if (mirror === 'unreadable') reasons.push('the rollback counter mirror is unreadable or belongs to another vault');
    const lastSeen = Math.max(sealed.lastSeenAt, typeof mirror === 'object' ? mirror.lastSeenAt : 0);
    const now = this.o.clock.now();
    if (now < lastSeen) reasons.push(`this machine's clock is ${Math.ceil((lastSeen - now) / 1000)} s behind the last time this node saw`);
    this.lastSeen = Math.max(this.lastSeen, sealed.lastSeenAt);
    return { reasons, databaseCounter: sealed.counter, mirrorCounter };
  }

  /** True when the clock now reads earlier than the last time this node recorded. */
  clockWentBack(): boolean {
    return this.o.clock.now() < this.lastSeen;
  }

  /**
   * Advances the counter past both copies and records the time. Call inside the database
   * transaction that changes the pool: the mirror is written first, so a transaction that fails
   * afterwards leaves the mirror ahead — read as a rollback next time, the safe direction.
   */
  advance(): void {
    const sealed = this.sealed() ?? { counter: 0, lastSeenAt: 0 };
    const mirror = this.mirror();
    const next: CounterState = { counter: Math.max(sealed.counter, typeof mirror === 'object' ? mirror.counter : 0) + 1, lastSeenAt: this.o.clock.now() };
    this.writeMirror(next);
    this.o.vault.records.put(ROLLBACK_COUNTER_RECORD.type, ROLLBACK_COUNTER_RECORD.id, ROLLBACK_COUNTER_RECORD.schemaVersion, Buffer.from(JSON.stringify(next), 'utf8'));
    this.lastSeen = next.lastSeenAt;
  }

  private writeMirror(state: CounterState): void {
    mkdirSync(this.o.stateDir, { recursive: true, mode: 0o700 });
    writeFileAtomically(this.o.stateDir, basename(this.mirrorPath()), JSON.stringify({ vaultId: this.vaultId(), ...state }), { replace: true });
  }
}

function parseState(text: string): CounterState | null {
  const v = JSON.parse(text) as { counter?: unknown; lastSeenAt?: unknown };
  if (!Number.isSafeInteger(v.counter) || (v.counter as number) < 0 || !Number.isSafeInteger(v.lastSeenAt)) return null;
  return { counter: v.counter as number, lastSeenAt: v.lastSeenAt as number };
}
