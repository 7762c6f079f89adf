/**
 * Replacing a lost node's share of an EdDSA keyset, as the operator of a surviving node runs it:
 * which keysets need it (a share holder replaced by a new machine on this node), the guardian
 * request, the repair through the cluster with the approval every party checks, and the audit
 * trail. The cluster part lives in main/cluster (share-repair, repair-requests).
 */
import type { ApprovalRequestView } from '../../preload/channels/guardians';
import type { RepairCandidateView, RepairOutcome } from '../../preload/channels/repair';
import type { AuditLog } from '../audit/audit-log';
import type { ClusterService } from '../cluster/cluster-service';
import type { RepairPlan } from '../cluster/repair-requests';
import { ECDSA_REPAIR_REFUSAL } from '../cluster/share-repair';
import type { RefreshApproval } from '../coordinator/protocol';
import { AppFailure } from '../errors';
import type { GuardianService } from '../guardians/guardian-service';
import { guardedApprovalProof, requestGuardedApproval, spendGuardedApproval, type GuardedAsk } from '../guardians/guarded-approval';
import { REPAIR_OPERATION } from './repair-approval';

export interface RepairServiceOptions {
  audit: AuditLog;
  guardians: GuardianService;
  cluster: ClusterService;
}

export class RepairService {
  constructor(private readonly o: RepairServiceOptions) {}

  /** Keysets with a share holder that this node replaced by a new machine, and whether the others can rebuild its share. */
  candidates(): RepairCandidateView[] {
    const out: RepairCandidateView[] = [];
    const removed = this.o.cluster.roster.removed().filter((r) => r.replacedBy);
    for (const k of this.o.cluster.keysets().filter((x) => x.status === 'active')) {
      for (const r of removed) {
        const lost = k.participants.find((p) => p.nodeId === r.nodeId);
        const fresh = this.o.cluster.node(r.replacedBy!);
        if (!lost || !fresh) continue;
        out.push({
          keysetId: k.keysetId,
          scheme: k.scheme,
          address: k.address,
          partyIndex: lost.partyIndex,
          lostNode: { nodeId: r.nodeId, name: r.name },
          newNode: { nodeId: fresh.nodeId, name: fresh.name },
          refusal: k.scheme === 'ecdsa' ? ECDSA_REPAIR_REFUSAL(k.keysetId) : null,
        });
      }
    }
    return out;
  }

  private async parameters(plan: RepairPlan): Promise<Record<string, unknown>> {
    const me = await this.o.cluster.identity();
    return this.o.cluster.shareRepairs.parameters(plan.keyset, { partyIndex: plan.partyIndex, lostNode: plan.lostNode, newNode: plan.newNode, helpers: plan.helpers, requesterNode: me.nodeId, publicShare: plan.publicShare });
  }

  /** Asks the guardians to approve rebuilding exactly this index's share for exactly this new node. */
  async requestApproval(keysetId: string, newNodeId: string, ask: GuardedAsk): Promise<ApprovalRequestView> {
    const plan = await this.o.cluster.repairRequests.plan(keysetId, newNodeId);
    const parameters = await this.parameters(plan);
    return requestGuardedApproval(this.o, REPAIR_OPERATION, keysetId, parameters, ask, { type: 'KEYSET_REPAIR_REQUESTED', details: { partyIndex: plan.partyIndex, lostNode: plan.lostNode, newNode: plan.newNode } });
  }

  /** The approval as the other parties check it: this console's request and the guardians' signatures. */
  approvalProof(requestId: string): RefreshApproval {
    return guardedApprovalProof(this.o.guardians, requestId);
  }

  /**
   * Runs the approved repair. The approval is checked here first, then spent at this console, and
   * carried in the session request for the other helpers and the new node, which check it themselves.
   */
  async run(keysetId: string, newNodeId: string, requestId: string, options: { timeoutMs?: number; onSession?: (sessionId: string) => void } = {}): Promise<RepairOutcome> {
    const plan = await this.o.cluster.repairRequests.plan(keysetId, newNodeId);
    const parameters = await this.parameters(plan);
    const { proof, approvers } = spendGuardedApproval(this.o.guardians, REPAIR_OPERATION, keysetId, parameters, requestId);
    this.o.audit.append({ type: 'KEYSET_REPAIR_STARTED', actor: 'operator', subject: keysetId, details: { requestId, approvers, partyIndex: plan.partyIndex, lostNode: plan.lostNode, newNode: plan.newNode } });
    let sessionId = '';
    try {
      const after = await this.o.cluster.repairRequests.run(plan, proof, { ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}), onSession: (sid) => { sessionId = sid; options.onSession?.(sid); } });
      return { keysetId, address: after.address ?? '', publicKey: after.publicKey ?? '', partyIndex: plan.partyIndex, lostNode: plan.lostNode, newNode: plan.newNode, sessionId, approvers };
    } catch (error) {
      this.o.audit.append({ type: 'KEYSET_REPAIR_FAILED', actor: 'operator', subject: keysetId, details: { requestId, code: error instanceof AppFailure ? error.code : 'INTERNAL', ...(sessionId ? { sessionId } : {}) } });
      throw error;
    }
  }
}
