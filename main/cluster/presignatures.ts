/**
 * This node's pool of ECDSA presignatures. A presignature is single use in fact, not only in a
 * row: reusing one for a second message reveals the key. So a presignature
 * - expires by this node's clock (per-keyset TTL, default one hour), dropped on pick, on consume
 *   and by the sweep;
 * - is bound to the parties that made it (rows keyed by id, keyset and quorum) and consumed only
 *   by a session with exactly those parties;
 * - never enters a backup or export (PRESIGNATURE_RECORD.backup is false; see export-policy);
 * - is discarded with the whole pool when the rollback guard finds this node's state rolled back
 *   (restored data folder, imported folder, clock gone backwards), before anything else uses it.
 * Each store and consume advances the rollback counter in the same transaction.
 */
import type { AuditLog } from '../audit/audit-log';
import type { Participant, SessionInfo } from '../coordinator/protocol';
import type { SessionResult } from '../mpc/index';
import type { Clock } from '../platform/clock';
import { scrubAfterDelete, type Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { ClusterError } from './errors';
import type { ConsumedPresignature } from './presigned-runner';
import type { RollbackGuard, RollbackVerdict } from './rollback-guard';

/**
 * This party's secret presignature, one sealed record per presignature id. Never backed up or
 * restored: a restored copy could sign a second message with the same nonce.
 */
export const PRESIGNATURE_RECORD = { type: 'mpc-presignature', schemaVersion: 1, backup: false } as const;

export const DEFAULT_PRESIGNATURE_TTL_MS = 3600_000;
/** Bounds of the per-keyset TTL setting. */
export const MIN_PRESIGNATURE_TTL_MS = 60_000;
export const MAX_PRESIGNATURE_TTL_MS = 24 * 3600_000;

/** A presignature in this node's pool (public facts only). */
export interface PresignatureRecord {
  presignatureId: string;
  keysetId: string;
  /** Node ids of the quorum, in party-index order. */
  quorum: string[];
  /** False when this node requested it without being in its quorum. */
  holdsSecret: boolean;
  state: 'ready' | 'used';
  createdAt: string;
  /** When it stops being usable, by this node's clock (ISO time). */
  expiresAt: string;
  usedAt: string | null;
}

/** What the pool needs to know about a keyset. */
export interface PoolKeyset {
  keysetId: string;
  threshold: number;
  participants: Participant[];
}

export interface PresignaturePoolOptions {
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
  guard: RollbackGuard;
  /**
   * Other single-use state that a rollback must discard with the pool (the prime pool), inside
   * the same transaction; returns what it dropped, for the audit entry.
   */
  alsoDiscard?: () => Record<string, number>;
}

type Row = Record<string, unknown>;

/** The quorum as stored and compared: node ids in party-index order. */
export function quorumKey(parties: readonly Participant[]): string {
  return JSON.stringify([...parties].sort((a, b) => a.partyIndex - b.partyIndex).map((p) => p.nodeId));
}

export class PresignaturePool {
  /** True once the rollback guard ran for the current unlock; the pool is unusable before. */
  private verified = false;
  /** Presignatures picked for a signing in progress, so two signings cannot pick the same. */
  private readonly reserved = new Set<string>();

  constructor(private readonly o: PresignaturePoolOptions) {
    o.vault.onLock(() => {
      this.verified = false;
      this.reserved.clear();
    });
  }

  private now(): number {
    return this.o.clock.now();
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  /**
   * Compares the rollback counter and clock with their mirror outside the database; on any sign
   * of a rollback, discards the whole pool first and records ROLLBACK_DETECTED. Runs when the
   * vault unlocks, before anything else can use the pool.
   */
  verifyAfterUnlock(): RollbackVerdict {
    this.o.vault.keyRing();
    const verdict = this.o.guard.check();
    if (verdict.reasons.length > 0) {
      this.o.db.transaction(() => {
        const discarded = this.discardAllInTransaction('rollback detected');
        const others = this.o.alsoDiscard?.() ?? {};
        this.o.audit.append({ type: 'ROLLBACK_DETECTED', actor: 'system', subject: this.o.vault.nodeId(), details: { reasons: verdict.reasons, databaseCounter: verdict.databaseCounter, mirrorCounter: verdict.mirrorCounter, presignaturesDiscarded: discarded, ...others } });
        this.o.guard.advance();
      })();
      this.scrub();
    } else {
      this.o.db.transaction(() => this.o.guard.advance())();
    }
    this.verified = true;
    this.sweep();
    return verdict;
  }

  /**
   * Every use of the pool, and of other single-use state, goes through here: unlocked,
   * rollback-checked, clock not gone back.
   */
  ready(): void {
    if (!this.verified) this.verifyAfterUnlock();
    if (this.o.guard.clockWentBack()) {
      this.o.db.transaction(() => {
        const discarded = this.discardAllInTransaction('clock went backwards');
        const others = this.o.alsoDiscard?.() ?? {};
        this.o.audit.append({ type: 'ROLLBACK_DETECTED', actor: 'system', subject: this.o.vault.nodeId(), details: { reasons: ['clock went backwards while running'], presignaturesDiscarded: discarded, ...others } });
        this.o.guard.advance();
      })();
      this.scrub();
    }
  }

  private ttlMs(keysetId: string): number {
    const row = this.o.db.prepare('SELECT presignature_ttl_ms FROM mpc_keysets WHERE keyset_id = ?').get(keysetId) as { presignature_ttl_ms: number } | undefined;
    return row?.presignature_ttl_ms ?? DEFAULT_PRESIGNATURE_TTL_MS;
  }

  /** Sets how long new presignatures of the keyset stay usable (existing ones keep their expiry). */
  setTtl(keysetId: string, ttlMs: number): void {
    if (!Number.isInteger(ttlMs) || ttlMs < MIN_PRESIGNATURE_TTL_MS || ttlMs > MAX_PRESIGNATURE_TTL_MS) {
      throw new RangeError(`presignature TTL must be ${MIN_PRESIGNATURE_TTL_MS}–${MAX_PRESIGNATURE_TTL_MS} ms`);
    }
    this.o.db.prepare('UPDATE mpc_keysets SET presignature_ttl_ms = ? WHERE keyset_id = ?').run(ttlMs, keysetId);
  }

  /** Seals this party's presignature after every party finished the presign session. */
  store(info: SessionInfo, result: SessionResult, shareEpoch: string | null): void {
    if (!result.presignature || !result.presignaturePublic || !result.presignatureId) return;
    this.ready();
    const id = result.presignatureId.toString('hex');
    const now = this.now();
    this.o.db.transaction(() => {
      this.o.vault.records.put(PRESIGNATURE_RECORD.type, id, PRESIGNATURE_RECORD.schemaVersion, result.presignature!);
      this.o.db
        .prepare(`INSERT INTO mpc_presignatures (presignature_id, keyset_id, quorum, holds_secret, share_epoch, public_data, state, created_at, expires_at) VALUES (?, ?, ?, 1, ?, ?, 'ready', ?, ?)`)
        .run(id, info.keysetId, quorumKey(info.parties), shareEpoch, result.presignaturePublic, this.iso(now), now + this.ttlMs(info.keysetId));
      this.o.guard.advance();
    })();
  }

  /** The requester outside the quorum records only the id, to request the online step later. */
  recordRequested(presignatureId: string, keysetId: string, parties: readonly Participant[]): void {
    const now = this.now();
    this.o.db
      .prepare(`INSERT OR IGNORE INTO mpc_presignatures (presignature_id, keyset_id, quorum, holds_secret, state, created_at, expires_at) VALUES (?, ?, ?, 0, 'ready', ?, ?)`)
      .run(presignatureId, keysetId, quorumKey(parties), this.iso(now), now + this.ttlMs(keysetId));
  }

  /**
   * Why this node will not take part in a presigned signing; null when it can. `shareEpoch` is
   * the epoch of the share this node holds now.
   */
  refusal(info: SessionInfo, shareEpoch: string): string | null {
    this.ready();
    const id = info.presignatureId;
    if (!id || !info.message) return 'presignature id or preimage missing';
    this.sweep();
    const row = this.o.db.prepare('SELECT * FROM mpc_presignatures WHERE presignature_id = ? AND keyset_id = ?').get(id, info.keysetId) as Row | undefined;
    if (!row || row.holds_secret !== 1) return 'presignature unknown on this node (expired, discarded or never made here)';
    if (row.state !== 'ready') return 'presignature already used';
    if (String(row.quorum) !== quorumKey(info.parties)) return 'presignature belongs to another quorum';
    if (row.share_epoch !== shareEpoch) {
      // Made with a share this node no longer holds (refreshed): useless and must not linger.
      this.discard(info.keysetId, 'share changed');
      return 'presignature predates the current key share';
    }
    return null;
  }

  /**
   * Marks the presignature used and removes its secret in one transaction (advancing the
   * rollback counter), then hands the secret over for the single partial signature. Refuses a
   * presignature that expired, belongs to another keyset or was made by other parties. Durable
   * before the partial exists: a crash from here on loses the presignature, never reuses it.
   */
  consume(presignatureId: string, keysetId: string, parties: readonly Participant[]): ConsumedPresignature {
    this.ready();
    const now = this.now();
    const consumed = this.o.db.transaction(() => {
      const changed = this.o.db
        .prepare(`UPDATE mpc_presignatures SET state = 'used', used_at = ? WHERE presignature_id = ? AND keyset_id = ? AND quorum = ? AND state = 'ready' AND holds_secret = 1 AND expires_at > ?`)
        .run(this.iso(now), presignatureId, keysetId, quorumKey(parties), now).changes;
      if (changed !== 1) {
        throw new ClusterError({ errorClass: 'permanent', code: 'PRESIGNATURE_UNAVAILABLE', reason: 'The presignature is not ready on this node for these parties (used, expired, discarded or made by another quorum); it is never used twice.' });
      }
      const row = this.o.db.prepare('SELECT public_data FROM mpc_presignatures WHERE presignature_id = ?').get(presignatureId) as { public_data: Buffer | null } | undefined;
      const secret = this.o.vault.records.get(PRESIGNATURE_RECORD.type, presignatureId)?.plaintext;
      this.o.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PRESIGNATURE_RECORD.type, presignatureId);
      if (!secret || !row?.public_data) {
        secret?.fill(0);
        throw new ClusterError({ errorClass: 'permanent', code: 'PRESIGNATURE_UNAVAILABLE', reason: 'The presignature secret is missing on this node; it is never used twice.' });
      }
      this.o.guard.advance();
      return { presignature: secret, publicData: Buffer.from(row.public_data) };
    })();
    this.scrub();
    return consumed;
  }

  /** Folds the WAL into the database (secure_delete zeroes the freed pages) so no deleted secret lingers in it. */
  private scrub(): void {
    if (!this.o.db.inTransaction) scrubAfterDelete(this.o.db);
  }

  /** Spends a presignature on this node without signing (after an attempt that did not complete). */
  drop(presignatureId: string): void {
    const deleted = this.o.db.transaction(() => {
      this.o.db.prepare(`UPDATE mpc_presignatures SET state = 'used', used_at = ? WHERE presignature_id = ? AND state = 'ready'`).run(this.iso(), presignatureId);
      return this.o.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PRESIGNATURE_RECORD.type, presignatureId).changes;
    })();
    // After a signing that used it, consume() already deleted and scrubbed the secret: no second checkpoint.
    if (deleted > 0) this.scrub();
  }

  /** Drops every presignature of the keyset (its shares were refreshed, or the operator asked). */
  discard(keysetId: string, reason: string): number {
    const count = this.o.db.transaction(() => {
      const ids = (this.o.db.prepare('SELECT presignature_id FROM mpc_presignatures WHERE keyset_id = ?').all(keysetId) as Array<{ presignature_id: string }>).map((r) => r.presignature_id);
      for (const id of ids) this.o.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PRESIGNATURE_RECORD.type, id);
      this.o.db.prepare('DELETE FROM mpc_presignatures WHERE keyset_id = ?').run(keysetId);
      if (ids.length > 0) this.o.audit.append({ type: 'MPC_PRESIGNATURES_DISCARDED', actor: 'system', subject: keysetId, details: { count: ids.length, reason } });
      return ids.length;
    })();
    if (count > 0) this.scrub();
    return count;
  }

  /**
   * Discards the whole pool, every keyset. Restore and import code calls this before anything
   * else runs on the restored state.
   */
  discardAll(reason: string): number {
    const count = this.o.db.transaction(() => this.discardAllInTransaction(reason))();
    this.scrub();
    return count;
  }

  private discardAllInTransaction(reason: string): number {
    const secrets = this.o.db.prepare('DELETE FROM sealed_records WHERE record_type = ?').run(PRESIGNATURE_RECORD.type).changes;
    const rows = this.o.db.prepare('DELETE FROM mpc_presignatures').run().changes;
    this.reserved.clear();
    if (rows > 0 || secrets > 0) this.o.audit.append({ type: 'MPC_PRESIGNATURES_DISCARDED', actor: 'system', subject: '*', details: { count: rows, secrets, reason } });
    return rows;
  }

  /** Removes expired presignatures (row and secret); returns how many. */
  sweep(): number {
    const now = this.now();
    const swept = this.o.db.transaction(() => {
      const expired = this.o.db.prepare(`SELECT presignature_id, keyset_id FROM mpc_presignatures WHERE state = 'ready' AND expires_at <= ?`).all(now) as Array<{ presignature_id: string; keyset_id: string }>;
      if (expired.length === 0) return 0;
      const byKeyset = new Map<string, number>();
      for (const r of expired) {
        this.o.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PRESIGNATURE_RECORD.type, r.presignature_id);
        this.o.db.prepare('DELETE FROM mpc_presignatures WHERE presignature_id = ?').run(r.presignature_id);
        byKeyset.set(r.keyset_id, (byKeyset.get(r.keyset_id) ?? 0) + 1);
      }
      for (const [keysetId, count] of byKeyset) this.o.audit.append({ type: 'MPC_PRESIGNATURES_EXPIRED', actor: 'system', subject: keysetId, details: { count } });
      return expired.length;
    })();
    if (swept > 0) this.scrub();
    return swept;
  }

  list(keysetId: string): PresignatureRecord[] {
    const rows = this.o.db.prepare('SELECT * FROM mpc_presignatures WHERE keyset_id = ? ORDER BY created_at').all(keysetId) as Row[];
    return rows.map((r) => ({
      presignatureId: String(r.presignature_id),
      keysetId: String(r.keyset_id),
      quorum: JSON.parse(String(r.quorum)) as string[],
      holdsSecret: r.holds_secret === 1,
      state: r.state as PresignatureRecord['state'],
      createdAt: String(r.created_at),
      expiresAt: this.iso(Number(r.expires_at)),
      usedAt: (r.used_at as string | null) ?? null,
    }));
  }

  /**
   * Reserves a ready, unexpired presignature whose quorum avoids the excluded nodes (and is the
   * preferred one, if any). Release it with `release` whatever the outcome.
   */
  pick(keyset: PoolKeyset, prefer: readonly string[], exclude: ReadonlySet<string>): { id: string; quorum: Participant[] } | null {
    this.ready();
    this.sweep();
    const wanted = prefer.length >= keyset.threshold ? new Set(prefer.slice(0, keyset.threshold)) : null;
    for (const p of this.list(keyset.keysetId)) {
      if (p.state !== 'ready' || this.reserved.has(p.presignatureId)) continue;
      if (p.quorum.some((n) => exclude.has(n))) continue;
      if (wanted && (p.quorum.length !== wanted.size || p.quorum.some((n) => !wanted.has(n)))) continue;
      const quorum = keyset.participants.filter((x) => p.quorum.includes(x.nodeId));
      if (quorum.length !== p.quorum.length) continue;
      this.reserved.add(p.presignatureId);
      return { id: p.presignatureId, quorum };
    }
    return null;
  }

  release(presignatureId: string): void {
    this.reserved.delete(presignatureId);
  }
}

// Compile-time check: the presignature record type is never marked for backup.
const presignaturesNeverBackedUp: (typeof PRESIGNATURE_RECORD)['backup'] extends false ? true : never = true;
void presignaturesNeverBackedUp;
