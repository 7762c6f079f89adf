/**
 * What the ceremony needs from the guardian quorum: the guard, opening approval requests, reading
 * them back, and the registry. GuardianService provides it; the ceremony depends on this shape.
 */
import type { ApprovalRequestView, CertificateSignature, GuardianRegistry } from '../../preload/contract';
import type { Db } from '../store/database';
import type { OperationGuard } from '../guardians/guard';
import type { RequesterProof } from '../guardians/guardian-service';
import type { NewRequest } from '../guardians/requests';

export interface CeremonyGuardians extends OperationGuard {
  /** Opens a request whose requester proved who they are (the operator's passphrase or a guardian's key). */
  createRequest(input: NewRequest & { requester: RequesterProof }): Promise<ApprovalRequestView>;
  /** Opens the follow-up request of an operation the operator is already running (e.g. certifying a finished ceremony). */
  createFollowUpRequest(input: NewRequest): ApprovalRequestView;
  view(requestId: string): ApprovalRequestView;
  registry(): GuardianRegistry;
  currentVaultId(): string;
}

/**
 * The EIP-712 signatures that counted for a request (read from the approvals table the guardian
 * service keeps), so the certificate carries the guardians' own signatures.
 */
export function approvalSignatures(db: Db, request: ApprovalRequestView): CertificateSignature[] {
  const counted = request.approvals.filter((a) => a.decision === 'approve' && a.counts);
  const read = db.prepare("SELECT signature, nonce FROM approvals WHERE request_id = ? AND guardian_id = ? AND decision = 'approve'");
  const expiry = Math.floor(Date.parse(request.expiresAt) / 1000);
  return counted.map((a) => {
    const row = read.get(request.id, a.guardianId) as { signature: string; nonce: string } | undefined;
    return {
      guardianName: a.guardianName,
      address: a.address,
      via: a.via,
      signature: row?.signature ?? '',
      signedAt: a.at,
      message: { requestId: request.id, payloadHash: request.payloadHash, operation: request.operation, nonce: row?.nonce ?? '', expiry, decision: 'approve' as const },
    };
  });
}
