/**
 * A queued permit signed outside this console — an EIP-4527 signer answering the console's
 * `eth-sign-request` / `sol-sign-request` — is recorded exactly as a signature made through the
 * cluster: the row moves to 'signed' with the signature and the raw signed transaction, with the
 * same PERMIT_QUEUE_SIGNED audit row, in one transaction. Only an approved permit takes one: a
 * permit still waiting for review, already signed, expired or failed is refused and left as it is.
 * The permit is entered in this node's single-use ledger in the same transaction, so a later
 * co-signing request for it is refused as already used. The signature itself was checked by the
 * reader (request id, key, exact transaction).
 */
import type { AuditLog } from '../../audit/audit-log';
import { fail } from '../../errors';
import type { Db } from '../../store/database';
import { issuerFingerprint } from '../issuer-keys';
import type { SpentPermits } from '../spent-permits';
import { signedPermitOf } from './queue-views';
import { describeState, type QueueRow, type QueueStore } from './queue-store';

export interface ExternalSignature {
  /** The EIP-4527 request id the signature answered. */
  requestId: string;
  /** 'eth-signature' or 'sol-signature'. */
  via: string;
  signature: string;
  recoveryId: number | null;
  signedTx: string;
  signedTxHash: string;
}

export interface ExternalSignatureDeps {
  db: Db;
  audit: AuditLog;
  store: QueueStore;
  spent: SpentPermits;
  now: () => number;
}

export function recordExternalSignature(d: ExternalSignatureDeps, permitId: string, s: ExternalSignature): QueueRow {
  const row = d.store.require(permitId);
  if (row.state !== 'approved') {
    const why = row.state === 'pending' ? ' Approve it after review first, then read the signature again.' : row.state === 'signed' || row.state === 'exported' ? ' It keeps the signature it has.' : '';
    fail('QUEUE_WRONG_STATE', `Permit ${permitId} is ${describeState(row.state)}${row.reason ? ` (${row.reason})` : ''}; the signature read by QR was not recorded.${why}`, { permitId, state: row.state });
  }
  const now = d.now();
  return d.db.transaction(() => {
    // Conditional on 'approved' again: a signing that started meanwhile wins and this is refused.
    const signed = d.store.transition(permitId, ['approved'], 'signed', now, {
      session_id: null,
      signature: s.signature,
      recovery_id: s.recoveryId,
      signed_tx: s.signedTx,
      signed_tx_hash: s.signedTxHash,
      signed_at: now,
      reason: null,
    });
    const { permit, issuerKey } = signedPermitOf(row);
    d.spent.recordSignedByQr({ permitId, txHash: permit.txHash, keysetId: row.keyset_id, issuerFingerprint: issuerFingerprint(Buffer.from(issuerKey, 'hex')), spentAt: now, requestId: s.requestId });
    d.audit.append({ type: 'PERMIT_QUEUE_SIGNED', actor: 'operator', subject: permitId, details: { mode: 'qr', via: s.via, requestId: s.requestId, transactionHash: s.signedTxHash } });
    return signed;
  })();
}
