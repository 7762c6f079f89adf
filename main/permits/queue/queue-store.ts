/**
 * The queue's rows (migration 009). Every state change is one conditional UPDATE that names the
 * states it may leave, so two callers racing for one permit cannot both move it: the loser sees
 * zero changed rows and gets QUEUE_WRONG_STATE.
 */
import type { QueueState } from '../../../preload/contract';
import { fail } from '../../errors';
import type { Db } from '../../store/database';
import type { SignedPermit } from '../permit-format';

export interface QueueRow {
  permit_id: string;
  keyset_id: string;
  tx_hash: string;
  signed_permit: string;
  state: QueueState;
  reason: string | null;
  source: string;
  issued_at: number;
  expires_at: number;
  imported_at: number;
  updated_at: number;
  approved_by: string | null;
  approved_at: number | null;
  signing_started_at: number | null;
  session_id: string | null;
  signature: string | null;
  recovery_id: number | null;
  signed_tx: string | null;
  signed_tx_hash: string | null;
  signed_at: number | null;
  exported_at: number | null;
  export_file: string | null;
}

export interface SignedFields {
  sessionId: string;
  signature: string;
  recoveryId: number | null;
  signedTx: string;
  signedTxHash: string;
}

const STATE_WORDS: Record<QueueState, string> = {
  pending: 'waiting for review',
  approved: 'approved, not signed yet',
  signing: 'being signed',
  signed: 'signed, not exported yet',
  exported: 'signed and exported',
  rejected: 'rejected',
  expired: 'expired',
  failed: 'failed',
};

export function describeState(state: QueueState): string {
  return STATE_WORDS[state];
}

export class QueueStore {
  private readonly byId;
  private readonly insertRow;

  constructor(private readonly db: Db) {
    this.byId = db.prepare('SELECT * FROM permit_queue WHERE permit_id = ?');
    this.insertRow = db.prepare(
      `INSERT INTO permit_queue (permit_id, keyset_id, tx_hash, signed_permit, state, source, issued_at, expires_at, imported_at, updated_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
    );
  }

  get(permitId: string): QueueRow | null {
    return (this.byId.get(permitId) as QueueRow | undefined) ?? null;
  }

  require(permitId: string): QueueRow {
    const row = this.get(permitId);
    if (!row) fail('PERMIT_NOT_FOUND', `Permit ${permitId} is not in the queue of this console.`, { permitId });
    return row;
  }

  /** The queue's rows among `permitIds` (id → state), in one query. */
  statesOf(permitIds: string[]): Map<string, QueueState> {
    const rows = this.db.prepare('SELECT permit_id, state FROM permit_queue WHERE permit_id IN (SELECT value FROM json_each(?))').all(JSON.stringify(permitIds)) as Array<{ permit_id: string; state: QueueState }>;
    return new Map(rows.map((r) => [r.permit_id, r.state]));
  }

  /** Which of `txHashes` are queued already (tx hash → permit id), in one query. */
  permitsOfTxHashes(txHashes: string[]): Map<string, string> {
    const rows = this.db.prepare('SELECT tx_hash, permit_id FROM permit_queue WHERE tx_hash IN (SELECT value FROM json_each(?))').all(JSON.stringify(txHashes)) as Array<{ tx_hash: string; permit_id: string }>;
    return new Map(rows.map((r) => [r.tx_hash, r.permit_id]));
  }

  insert(signed: SignedPermit, source: string, now: number): void {
    const p = signed.permit;
    this.insertRow.run(p.permitId, p.keysetId, p.txHash, JSON.stringify(signed), source, p.issuedAt, p.expiresAt, now, now);
  }

  list(limit = 5_000): QueueRow[] {
    return this.db.prepare('SELECT * FROM permit_queue ORDER BY imported_at DESC, permit_id LIMIT ?').all(limit) as QueueRow[];
  }

  inState(...states: QueueState[]): QueueRow[] {
    return this.db.prepare(`SELECT * FROM permit_queue WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY expires_at`).all(...states) as QueueRow[];
  }

  /** Moves one permit from one of `from` to `to`, setting `fields`; refuses when it is in another state. */
  transition(permitId: string, from: readonly QueueState[], to: QueueState, now: number, fields: Record<string, string | number | null> = {}): QueueRow {
    const names = Object.keys(fields);
    const sets = ['state = ?', 'updated_at = ?', ...names.map((n) => `${n} = ?`)].join(', ');
    const result = this.db
      .prepare(`UPDATE permit_queue SET ${sets} WHERE permit_id = ? AND state IN (${from.map(() => '?').join(', ')})`)
      .run(to, now, ...names.map((n) => fields[n] ?? null), permitId, ...from);
    if (result.changes === 0) {
      const row = this.require(permitId);
      fail('QUEUE_WRONG_STATE', `Permit ${permitId} is ${describeState(row.state)}${row.reason ? ` (${row.reason})` : ''}; it cannot become ${to} from there.`, { permitId, state: row.state });
    }
    return this.require(permitId);
  }

  /** Pending and approved permits whose time ran out; returns the ids moved. */
  expireDue(now: number, reasonOf: (row: QueueRow) => string): QueueRow[] {
    const due = this.db.prepare(`SELECT * FROM permit_queue WHERE state IN ('pending', 'approved') AND expires_at <= ?`).all(now) as QueueRow[];
    const update = this.db.prepare(`UPDATE permit_queue SET state = 'expired', reason = ?, updated_at = ? WHERE permit_id = ? AND state IN ('pending', 'approved')`);
    for (const row of due) update.run(reasonOf(row), now, row.permit_id);
    return due;
  }

  recordSigned(permitId: string, fields: SignedFields, now: number): QueueRow {
    return this.transition(permitId, ['signing'], 'signed', now, {
      session_id: fields.sessionId,
      signature: fields.signature,
      recovery_id: fields.recoveryId,
      signed_tx: fields.signedTx,
      signed_tx_hash: fields.signedTxHash,
      signed_at: now,
      reason: null,
    });
  }
}
