/**
 * The one guard every guarded operation calls. Implemented by GuardianService; declared here so
 * services that perform guarded operations (the vault, later the ceremony, backup and keyset
 * services) depend on the interface only.
 */
import type { GuardedOperationKind } from './guarded-operations';

export interface OperationGuard {
  /**
   * Throws unless request `requestId` is for exactly this operation, subject and parameters,
   * is pending and unexpired, and carries valid approvals from two distinct registered guardians
   * other than the requester. Changes nothing: use it to fail fast before slow work.
   */
  checkApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): void;
  /**
   * The same checks, then consumes the request (it cannot authorize anything again) and records
   * GUARDED_OPERATION_EXECUTED. Call it inside the db transaction that performs the operation, so
   * the request is consumed if and only if the operation is committed.
   */
  requireApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { approvers: string[] };
}
