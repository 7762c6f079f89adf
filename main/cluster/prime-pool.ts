/**
 * Pregenerated Paillier safe primes, sealed in the vault, so auxiliary-data generation does not
 * wait on a prime search. An entry is deleted before its primes are handed out: it is used once,
 * and a crash or restart after the hand-out cannot bring it back. A restored older copy of the
 * data folder could: each hand-out advances the rollback counter in the same transaction, and a
 * detected rollback discards the whole pool with the presignatures (see rollback-guard.ts).
 * Refilling runs while the node is idle; the search itself runs on the addon's worker threads,
 * off the JS thread.
 */
import { randomUUID } from 'node:crypto';
import type { MpcSigner } from '../mpc/index';
import { scrubAfterDelete } from '../store/database';
import type { ClusterDeps } from './deps';
import type { RollbackGuard } from './rollback-guard';

export const PRIME_POOL_RECORD = { type: 'mpc-primes', schemaVersion: 1 } as const;
export const DEFAULT_PRIME_POOL_TARGET = 2;
/** More than this is never kept, whatever the setting. */
export const PRIME_POOL_CAP = 8;

export interface PrimePoolStatus {
  level: number;
  target: number;
  /** True while a search for the next entry runs. */
  filling: boolean;
}

export interface PrimePoolDeps extends ClusterDeps {
  signer: () => MpcSigner;
  /** False while sessions run here: the search then waits, so it never slows a ceremony. */
  idle: () => boolean;
  target?: number;
  guard: RollbackGuard;
  /** Runs the rollback check of this unlock if it has not run yet (it may discard the pool). */
  rollbackChecked: () => void;
}

export class PrimePool {
  private targetValue: number;
  private filling: AbortController | null = null;

  constructor(private readonly d: PrimePoolDeps) {
    this.targetValue = clampTarget(d.target ?? DEFAULT_PRIME_POOL_TARGET);
  }

  get target(): number {
    return this.targetValue;
  }

  set target(value: number) {
    this.targetValue = clampTarget(value);
  }

  /** Entries ready to use (0 while the vault is locked). */
  level(): number {
    if (!this.d.vault.unlocked) return 0;
    return (this.d.db.prepare('SELECT COUNT(*) AS c FROM sealed_records WHERE record_type = ?').get(PRIME_POOL_RECORD.type) as { c: number }).c;
  }

  status(): PrimePoolStatus {
    return { level: this.level(), target: this.targetValue, filling: this.filling !== null };
  }

  /** Seals one entry (the output of generatePaillierPrimes); refused above the cap. */
  add(primes: Buffer): string | null {
    this.d.vault.keyRing();
    if (this.level() >= PRIME_POOL_CAP) return null;
    const id = `primes-${randomUUID()}`;
    this.d.vault.records.put(PRIME_POOL_RECORD.type, id, PRIME_POOL_RECORD.schemaVersion, primes);
    return id;
  }

  /**
   * Takes the oldest entry out of the pool: its record is deleted (and scrubbed) before the primes
   * are returned, so no entry is ever handed out twice, across restarts included. Undefined when
   * the pool is empty.
   */
  take(): Buffer | undefined {
    this.d.vault.keyRing();
    this.d.rollbackChecked();
    const taken = this.d.db.transaction(() => {
      const row = this.d.db.prepare('SELECT record_id FROM sealed_records WHERE record_type = ? ORDER BY updated_at, record_id LIMIT 1').get(PRIME_POOL_RECORD.type) as { record_id: string } | undefined;
      if (!row) return undefined;
      const primes = this.d.vault.records.get(PRIME_POOL_RECORD.type, row.record_id)?.plaintext;
      const deleted = this.d.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PRIME_POOL_RECORD.type, row.record_id).changes;
      if (!primes || deleted !== 1) {
        primes?.fill(0);
        return undefined;
      }
      this.d.guard.advance();
      return { id: row.record_id, primes };
    })();
    if (!taken) return undefined;
    if (!this.d.db.inTransaction) scrubAfterDelete(this.d.db);
    this.d.audit.append({ type: 'PRIME_POOL_ENTRY_USED', actor: 'system', subject: taken.id, details: { left: this.level() } });
    return taken.primes;
  }

  /** Drops every entry (a rollback was detected); call inside the caller's transaction. */
  discardAllInTransaction(): number {
    return this.d.db.prepare('DELETE FROM sealed_records WHERE record_type = ?').run(PRIME_POOL_RECORD.type).changes;
  }

  /**
   * Fills the pool up to its target, one entry at a time, while the node stays idle and the vault
   * unlocked. Resolves with the number of entries added; stop() ends it after the entry in work.
   */
  async fill(): Promise<number> {
    if (this.filling) return 0;
    const controller = new AbortController();
    this.filling = controller;
    let added = 0;
    try {
      while (!controller.signal.aborted && this.d.vault.unlocked && this.level() < this.targetValue) {
        if (!this.d.idle()) {
          await new Promise((r) => setTimeout(r, 1_000).unref());
          continue;
        }
        const primes = await this.d.signer().generatePaillierPrimes(controller.signal);
        try {
          if (controller.signal.aborted || !this.d.vault.unlocked) break;
          if (this.add(primes)) added += 1;
        } finally {
          primes.fill(0);
        }
      }
    } finally {
      if (this.filling === controller) this.filling = null;
    }
    return added;
  }

  stop(): void {
    this.filling?.abort();
    this.filling = null;
  }
}

function clampTarget(value: number): number {
  if (!Number.isInteger(value) || value < 0) return 0;
  return Math.min(value, PRIME_POOL_CAP);
}
