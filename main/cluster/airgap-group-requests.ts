/**
 * The terms a requester puts in a multi-party session request carried by file bundles: which
 * parties, indices, share epoch and approvals each protocol names. Every party checks these terms
 * again for itself when it admits the request (prepareParticipation); this module only refuses
 * early, at the requester, what the others would refuse anyway.
 */
import { randomUUID } from 'node:crypto';
import type { RefreshApproval, SessionRequestBody } from '../coordinator/protocol';
import { fail } from '../errors';
import type { LocalIdentity } from './identity';
import type { ParticipationDeps } from './participation-setup';
import { newSessionId } from './session-request';

export type GroupTerms = Omit<SessionRequestBody, 'v' | 'requester'>;

/** A 2-of-3 key generation with this node and its two enrolled peers. */
export function keygenTerms(d: ParticipationDeps, clusterId: string, scheme: 'eddsa' | 'ecdsa', deadlineAt: number): GroupTerms {
  const members = d.membership.members();
  if (members.length !== 3) fail('CLUSTER_NOT_READY', `A 2-of-3 key generation needs this node and two enrolled, non-quarantined peers; ${members.length - 1} peer(s) are enrolled.`);
  return { clusterId, sessionId: newSessionId(), protocol: `${scheme}-keygen`, keysetId: `ks-${randomUUID()}`, parties: members, threshold: 2, permitId: null, deadlineAt };
}

/** One ECDSA presign of `keysetId` by this node and `partner`. */
export function presignTerms(d: ParticipationDeps, me: LocalIdentity, keysetId: string, partner: string, deadlineAt: number): GroupTerms {
  const keyset = d.keysets.active(keysetId);
  if (keyset.scheme !== 'ecdsa') fail('MPC_SESSION_REJECTED', 'Presignatures exist only for ECDSA keysets.', { keysetId });
  const parties = keyset.participants.filter((p) => p.nodeId === me.nodeId || p.nodeId === partner);
  if (partner === me.nodeId || parties.length !== keyset.threshold) fail('MPC_SESSION_REJECTED', `Node ${partner} is not another member of keyset ${keysetId}.`, { keysetId });
  return { clusterId: keyset.clusterId, sessionId: newSessionId(), protocol: 'ecdsa-presign', keysetId, parties, threshold: keyset.threshold, shareEpoch: keyset.shareEpoch ?? 0, permitId: null, deadlineAt };
}

/**
 * A refresh of every share of `keysetId`, as the coordinator path requests it (refresh-requests.ts):
 * all share holders at their indices, the epoch it starts from, the guardians' approval. ECDSA
 * refreshes its shares only; renewing the auxiliary data needs the coordinator.
 */
export function refreshTerms(d: ParticipationDeps, me: LocalIdentity, keysetId: string, approval: RefreshApproval, deadlineAt: number): GroupTerms {
  const keyset = d.keysets.active(keysetId);
  const pending = d.refreshes.pending(keysetId);
  if (pending) fail('REFRESH_INTERRUPTED', `A refresh of keyset ${keysetId} to epoch ${pending.toEpoch} was interrupted on this node. Choose "Finish interrupted refresh" first; it proves which share is current.`, { keysetId });
  for (const p of keyset.participants) {
    if (p.nodeId !== me.nodeId && d.membership.node(p.nodeId)?.status !== 'enrolled') {
      fail('REFRESH_NEEDS_ALL_NODES', `A refresh changes every share, so all ${keyset.participants.length} share holders take part; node ${p.nodeId.slice(0, 8)}… is not an enrolled, non-quarantined peer here. Nothing was changed.`, { keysetId });
    }
  }
  return {
    clusterId: keyset.clusterId,
    sessionId: newSessionId(),
    protocol: keyset.scheme === 'ecdsa' ? 'ecdsa-refresh-shares' : 'eddsa-refresh',
    keysetId,
    parties: [...keyset.participants].sort((a, b) => a.partyIndex - b.partyIndex),
    threshold: keyset.threshold,
    shareEpoch: keyset.shareEpoch,
    refresh: approval,
    permitId: null,
    deadlineAt,
  };
}
