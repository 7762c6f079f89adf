/**
 * "Ask the guardians, then spend their approval" for guarded operations that other nodes check
 * for themselves (share refresh, share repair). The request is recorded and audited here; at run
 * time the approval is checked, carried as a proof (this console's request and the guardians'
 * signatures) for the other parties, and spent at this console, in that order, so a refused
 * approval spends nothing.
 */
import type { ApprovalRequestView } from '../../preload/channels/guardians';
import type { AuditLog } from '../audit/audit-log';
import type { RefreshApproval } from '../coordinator/protocol';
import type { GuardianService, RequesterProof } from './guardian-service';
import type { GuardedOperationKind } from './guarded-operations';

export interface GuardedApprovalDeps {
  guardians: GuardianService;
  audit: AuditLog;
}

export interface GuardedAsk {
  reason: string;
  requester: RequesterProof;
  ttlMinutes: number;
}

/** Records a guardian request for exactly these parameters and audits it as `audited.type`. */
export async function requestGuardedApproval(
  deps: GuardedApprovalDeps,
  operation: GuardedOperationKind,
  subject: string,
  parameters: Record<string, unknown>,
  ask: GuardedAsk,
  audited: { type: string; details: Record<string, unknown> },
): Promise<ApprovalRequestView> {
  const view = await deps.guardians.createRequest({ operation, subject, parameters, context: { reason: ask.reason }, requester: ask.requester, ttlMinutes: ask.ttlMinutes });
  deps.audit.append({ type: audited.type, actor: 'operator', subject, details: { requestId: view.id, ...audited.details } });
  return view;
}

/** The approval as the other parties check it: this console's request and the guardians' signatures. */
export function guardedApprovalProof(guardians: GuardianService, requestId: string): RefreshApproval {
  const row = guardians.requests.row(requestId);
  const approvals = guardians.requests.approvalsOf(requestId).filter((a) => a.decision === 'approve').slice(0, 3);
  return {
    vaultId: guardians.currentVaultId(),
    requestId,
    expiresAt: row.expires_at,
    context: JSON.parse(row.context) as Record<string, unknown>,
    approvals: approvals.map((a) => ({ address: a.address, nonce: a.nonce.startsWith('0x') ? a.nonce : `0x${a.nonce}`, signature: a.signature })),
  };
}

/**
 * Checks the approval of exactly these parameters, builds its proof, then spends it at this
 * console (one approval, one attempt). Throws the guard's refusal before anything is spent.
 */
export function spendGuardedApproval(guardians: GuardianService, operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { proof: RefreshApproval; approvers: string[] } {
  guardians.checkApproval(operation, subject, parameters, requestId);
  const proof = guardedApprovalProof(guardians, requestId);
  const { approvers } = guardians.requireApproval(operation, subject, parameters, requestId);
  return { proof, approvers };
}
