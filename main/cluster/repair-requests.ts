/**
 * Requesting the repair of a lost node's share, cluster side: an EdDSA keyset, the lost node
 * replaced on this node by an enrolled new machine, every other share holder and the new node
 * online, and a signed request that names the lost index, the new node, the group key, that
 * index's public share, the share epoch and the guardians' approval.
 */
import type { RefreshApproval } from '../coordinator/protocol';
import { fail } from '../errors';
import type { Keysets, KeysetRecord } from './keysets';
import type { Membership } from './membership';
import type { PeerRoster } from './peer-roster';
import { newSessionId } from './session-request';
import { sessionFailure, type SessionRequests } from './session-requests';
import { ECDSA_REPAIR_REFUSAL, type ShareRepairs } from './share-repair';

export interface RepairPlan {
  keyset: KeysetRecord;
  partyIndex: number;
  lostNode: string;
  newNode: string;
  publicShare: string;
  helpers: { nodeId: string; partyIndex: number }[];
}

export class RepairRequests {
  constructor(private readonly d: { membership: Membership; keysets: Keysets; roster: PeerRoster; requests: SessionRequests; repairs: ShareRepairs }) {}

  /**
   * What a repair needs before guardians are asked, and again before it runs: the new node is
   * enrolled here as the replacement of a share holder of this EdDSA keyset.
   */
  async plan(keysetId: string, newNode: string): Promise<RepairPlan> {
    const keyset = this.d.keysets.active(keysetId);
    if (keyset.scheme === 'ecdsa') fail('REPAIR_NOT_FOR_ECDSA', ECDSA_REPAIR_REFUSAL(keysetId), { keysetId });
    const me = await this.d.membership.identity();
    const replaced = this.d.roster.removed().find((r) => r.replacedBy === newNode);
    // Already at the index here: a repair whose end this node saw but the new node may not have
    // stored (killed in between) runs again; the new node refuses if it does hold the share.
    const lost = replaced ? keyset.participants.find((p) => p.nodeId === replaced.nodeId || p.nodeId === newNode) : undefined;
    if (!replaced || !lost || this.d.membership.node(newNode)?.status !== 'enrolled') {
      fail('REPAIR_NOT_REPLACEMENT', `Node ${newNode.slice(0, 8)}… is not enrolled here as the replacement of a share holder of keyset ${keysetId}. Replace the lost node by the new machine's card first (Cluster → Peers → Replace, with two guardians); nothing was changed.`, { keysetId });
    }
    if (lost.nodeId === me.nodeId) fail('REPAIR_WRONG_NODE', 'This node cannot repair its own share; run the repair from one of the other share holders.', { keysetId });
    const helpers = keyset.participants.filter((p) => p.partyIndex !== lost.partyIndex);
    const publicShare = this.d.repairs.publicShareOf(keyset, lost.partyIndex);
    if (!publicShare) fail('KEYSET_NOT_FOUND', `This node holds no share of keyset ${keysetId}.`, { keysetId });
    return { keyset, partyIndex: lost.partyIndex, lostNode: replaced.nodeId, newNode, publicShare, helpers };
  }

  /** Runs the approved repair; returns the keyset record with the new node at the lost index. */
  async run(plan: RepairPlan, approval: RefreshApproval, options: { timeoutMs?: number; onSession?: (sessionId: string) => void } = {}): Promise<KeysetRecord> {
    const { keyset } = plan;
    const clusterId = this.d.requests.requireClusterId();
    const everyone = [...plan.helpers.map((h) => h.nodeId), plan.newNode];
    const connected = new Set(await this.d.requests.requireClient().presence(everyone));
    const missing = everyone.filter((n) => !connected.has(n));
    if (missing.length > 0) {
      fail('QUORUM_UNAVAILABLE', `A repair needs every other share holder and the new node online; ${missing.map((n) => this.d.membership.node(n)?.name ?? n.slice(0, 8)).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not connected. Nothing was changed.`, { keysetId: keyset.keysetId });
    }
    const sessionId = newSessionId();
    options.onSession?.(sessionId);
    const end = await this.d.requests.run(`repair-${sessionId.slice(0, 32)}`, {
      clusterId,
      sessionId,
      protocol: 'eddsa-repair',
      keysetId: keyset.keysetId,
      parties: [...plan.helpers, { nodeId: plan.newNode, partyIndex: plan.partyIndex }].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: keyset.threshold,
      shareEpoch: keyset.shareEpoch,
      repair: { partyIndex: plan.partyIndex, lostNode: plan.lostNode, newNode: plan.newNode, publicKey: keyset.publicKey ?? '', publicShare: plan.publicShare, approval },
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? 30_000),
    });
    if (end.state !== 'completed') sessionFailure(end);
    return this.d.keysets.active(keyset.keysetId);
  }
}
