/**
 * What the ceremony needs from the guardian quorum: the guard, opening approval requests, reading
 * them back, and the registry. GuardianService provides it; the ceremony depends on this shape.
 */
import type { ApprovalRequestView, CertificateSignature, GuardianRegistry } from '../../preload/contract';
import type { Db } from '../store/database';
import type { OperationGuard } from '../guardians/guard';
import type { GuardedOperationKind } from '../guardians/guarded-operations';

export interface CeremonyGuardians extends OperationGuard {
  createRequest(input: {
    operation: GuardedOperationKind;
    subject: string;
    parameters: Record<string, unknown>;
    context: Record<string, unknown>;
    requesterGuardianId: string | null;
    ttlMinutes: number;
  }): ApprovalRequestView;
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
