/**
 * Who said yes at this node. A person at the console approves a permit after reviewing it
 * (the permit queue calls `approveHere`); permits above a keyset's guardian threshold also need
 * the guardian quorum's approval of exactly that permit, consumed through the guard.
 */
import type { PermitApprovalView } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import type { OperationGuard } from '../guardians/guard';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';

export interface GuardianPermitApproval {
  permitId: string;
  txHash: string;
  keysetId: string;
}

export class PermitApprovals {
  private readonly approvedStatement;
  private readonly guardianStatement;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {
    this.approvedStatement = db.prepare('SELECT 1 FROM permit_local_approvals WHERE permit_id = ?');
    this.guardianStatement = db.prepare('SELECT 1 FROM permit_guardian_approvals WHERE permit_id = ? AND tx_hash = ?');
  }

  approvedHere(permitId: string): boolean {
    return this.approvedStatement.get(permitId) !== undefined;
  }

  /** The person at this console approves permit `permitId`; idempotent. */
  approveHere(permitId: string, approvedBy = 'operator'): PermitApprovalView {
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT * FROM permit_local_approvals WHERE permit_id = ?').get(permitId) as { approved_by: string; approved_at: number } | undefined;
      if (existing) return { permitId, approvedBy: existing.approved_by, approvedAt: new Date(existing.approved_at).toISOString() };
      const now = this.clock.now();
      this.db.prepare('INSERT INTO permit_local_approvals (permit_id, approved_by, approved_at) VALUES (?, ?, ?)').run(permitId, approvedBy, now);
      this.audit.append({ type: 'PERMIT_APPROVED_HERE', actor: approvedBy, subject: permitId });
      return { permitId, approvedBy, approvedAt: new Date(now).toISOString() };
    })();
  }

  /** A permit rejected after it was approved: this node no longer co-signs it on that approval. */
  withdrawHere(permitId: string, by: string, reason: string): boolean {
    const removed = this.db.prepare('DELETE FROM permit_local_approvals WHERE permit_id = ?').run(permitId).changes > 0;
    if (removed) this.audit.append({ type: 'PERMIT_APPROVAL_WITHDRAWN', actor: by, subject: permitId, details: { reason } });
    return removed;
  }

  listHere(): PermitApprovalView[] {
    const rows = this.db.prepare('SELECT * FROM permit_local_approvals ORDER BY approved_at DESC LIMIT 500').all() as Array<{ permit_id: string; approved_by: string; approved_at: number }>;
    return rows.map((r) => ({ permitId: r.permit_id, approvedBy: r.approved_by, approvedAt: new Date(r.approved_at).toISOString() }));
  }

  guardianApproved(permitId: string, txHash: string): boolean {
    return this.guardianStatement.get(permitId, txHash) !== undefined;
  }

  /** Parameters the guard binds a large-withdrawal approval to: the permit and the exact transaction. */
  static guardianParameters(p: GuardianPermitApproval): Record<string, string> {
    return { permitId: p.permitId, txHash: p.txHash, keysetId: p.keysetId };
  }

  /** Consumes guardian request `requestId` for exactly this permit and records the approval. */
  recordGuardianApproval(guard: OperationGuard, p: GuardianPermitApproval, requestId: string): void {
    this.db.transaction(() => {
      const { approvers } = guard.requireApproval('withdrawal.large', p.permitId, PermitApprovals.guardianParameters(p), requestId);
      this.db
        .prepare('INSERT INTO permit_guardian_approvals (permit_id, tx_hash, keyset_id, request_id, approvers, approved_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(p.permitId, p.txHash, p.keysetId, requestId, JSON.stringify(approvers), this.clock.now());
      this.audit.append({ type: 'PERMIT_GUARDIAN_APPROVED', actor: 'guardians', subject: p.permitId, details: { txHash: p.txHash, keysetId: p.keysetId, requestId, approvers } });
    })();
  }
}
