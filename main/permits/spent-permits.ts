/**
 * The single-use ledger: every permit id and tx hash this node co-signed, forever. The table
 * refuses UPDATE and DELETE (migration 005), and its keys make a second insert of either value
 * fail inside the committing transaction, so two sessions racing for one permit cannot both pass.
 */
import { fail } from '../errors';
import type { Db } from '../store/database';

export interface SpentRecord {
  permitId: string;
  txHash: string;
  keysetId: string;
  sessionId: string;
  issuerFingerprint: string;
  spentAt: number;
}

/** session_id of a permit signed outside the cluster and read back by QR: `qr:` and the request id it answered. */
const QR_SESSION_PREFIX = 'qr:';

export class SpentPermits {
  private readonly byPermit;
  private readonly byTxHash;
  private readonly insert;
  private readonly insertUnlessSpent;

  constructor(private readonly db: Db) {
    this.byPermit = db.prepare('SELECT spent_at, session_id FROM permits_spent WHERE permit_id = ?');
    this.byTxHash = db.prepare('SELECT spent_at, permit_id FROM permits_spent WHERE tx_hash = ?');
    this.insert = db.prepare('INSERT INTO permits_spent (permit_id, tx_hash, keyset_id, session_id, issuer_fingerprint, spent_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertUnlessSpent = db.prepare('INSERT OR IGNORE INTO permits_spent (permit_id, tx_hash, keyset_id, session_id, issuer_fingerprint, spent_at) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** Throws PERMIT_ALREADY_USED / PERMIT_TX_ALREADY_SIGNED if either was ever signed here. */
  checkUnused(permitId: string, txHash: string, describeAgo: (at: number) => string): void {
    const permit = this.byPermit.get(permitId) as { spent_at: number; session_id: string } | undefined;
    if (permit) fail('PERMIT_ALREADY_USED', `Permit ${permitId} was already used by this node ${describeAgo(permit.spent_at)} (${spentBy(permit.session_id)}); a permit signs once only.`, { permitId });
    const tx = this.byTxHash.get(txHash) as { spent_at: number; permit_id: string } | undefined;
    if (tx) fail('PERMIT_TX_ALREADY_SIGNED', `This node already co-signed transaction ${txHash} ${describeAgo(tx.spent_at)} under permit ${tx.permit_id}; a transaction is signed once only.`, { txHash });
  }

  /**
   * Call inside the committing transaction, after checkUnused. The keys are the last line of
   * defence: a second insert of either value fails and rolls the whole commit back.
   */
  record(entry: SpentRecord): void {
    try {
      this.insert.run(entry.permitId, entry.txHash, entry.keysetId, entry.sessionId, entry.issuerFingerprint, entry.spentAt);
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        fail('PERMIT_ALREADY_USED', `Permit ${entry.permitId} or its transaction was spent by another session a moment ago; nothing was signed for session ${entry.sessionId}.`, { permitId: entry.permitId });
      }
      throw error;
    }
  }

  /**
   * A permit whose signature was made outside the cluster and read back by QR: spent as if
   * co-signed here, so no later session signs its transaction a second time. Call inside the
   * transaction that records the signature. A permit or transaction already in the ledger stays
   * as it was recorded: the signature read back is of that same transaction.
   */
  recordSignedByQr(entry: Omit<SpentRecord, 'sessionId'> & { requestId: string }): void {
    this.insertUnlessSpent.run(entry.permitId, entry.txHash, entry.keysetId, `${QR_SESSION_PREFIX}${entry.requestId}`, entry.issuerFingerprint, entry.spentAt);
  }
}

/** Where a spent permit was signed, in the words of the refusal. */
function spentBy(sessionId: string): string {
  return sessionId.startsWith(QR_SESSION_PREFIX) ? `signature read back by QR, request ${sessionId.slice(QR_SESSION_PREFIX.length)}` : `session ${sessionId}`;
}
