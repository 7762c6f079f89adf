/**
 * What the ceremony needs from the guardian quorum: the guard, opening approval requests, reading
 * them back, and the registry. GuardianService provides it; the ceremony depends on this shape.
 */
import type { ApprovalRequestView, GuardianRegistry } from '../../preload/contract';
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
export function approvalSignatures(db: Db, request: ApprovalRequestView): Array<{ guardianName: string; address: string; via: string; signature: string; signedAt: string }> {
  const counted = request.approvals.filter((a) => a.decision === 'approve' && a.counts);
  const read = db.prepare("SELECT signature FROM approvals WHERE request_id = ? AND guardian_id = ? AND decision = 'approve'");
  return counted.map((a) => ({
    guardianName: a.guardianName,
    address: a.address,
    via: a.via,
    signature: (read.get(request.id, a.guardianId) as { signature: string } | undefined)?.signature ?? '',
    signedAt: a.at,
  }));
}
