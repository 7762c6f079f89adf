/**
 * The guardian approval of a keyset refresh, checked by every node for itself.
 *
 * The requesting node's console records a 'keyset.refresh' guardian request whose parameters are
 * exactly the refresh (keyset, cluster, group key and address, parties, epoch it starts from,
 * whether the auxiliary data is renewed, the requesting node). The signed session request carries
 * that console's vault id, request id, expiry, context and each approving guardian's EIP-712
 * signature. Each party recomputes the parameters from its own keyset record and the signed
 * request, recomputes the payload hash, and counts signatures of guardians enrolled in its own
 * registry: two distinct, neither the requester, before the expiry. An approval runs one refresh
 * at a node (recorded when the node joins).
 */
import type { RefreshApproval, SignedSessionRequest } from '../coordinator/protocol';
import type { KeysetRecord } from '../cluster/keysets';
import { RequestRefusal } from '../cluster/session-request';
import type { Db } from '../store/database';
import { describeDuration } from '../platform/duration';
import { countApprovals } from '../guardians/approval-count';
import { payloadHash } from '../guardians/typed-data';

export const REFRESH_OPERATION = 'keyset.refresh' as const;
const QUORUM = 2;

export interface RefreshTerms {
  keysetId: string;
  clusterId: string;
  publicKey: string | null;
  address: string | null;
  participants: { nodeId: string; partyIndex: number }[];
  fromEpoch: number;
  newAux: boolean;
  requesterNode: string;
}

/** What the guardians approve, as each node rebuilds it from its own keyset record. */
export function refreshParameters(t: RefreshTerms): Record<string, unknown> {
  return {
    keysetId: t.keysetId,
    clusterId: t.clusterId,
    publicKey: t.publicKey,
    address: t.address,
    parties: [...t.participants].sort((a, b) => a.partyIndex - b.partyIndex).map((p) => `${p.partyIndex}:${p.nodeId}`),
    fromEpoch: t.fromEpoch,
    newAux: t.newAux,
    requesterNode: t.requesterNode,
  };
}

/** The terms of a refresh request as this node sees them: its own record, the request's requester and option. */
export function termsOf(request: SignedSessionRequest, keyset: Pick<KeysetRecord, 'keysetId' | 'clusterId' | 'publicKey' | 'address' | 'participants' | 'shareEpoch'>): RefreshTerms {
  return {
    keysetId: keyset.keysetId,
    clusterId: keyset.clusterId,
    publicKey: keyset.publicKey,
    address: keyset.address,
    participants: keyset.participants,
    fromEpoch: keyset.shareEpoch,
    newAux: request.body.auxId !== undefined,
    requesterNode: request.body.requester,
  };
}

export interface ApprovalCheckInput {
  proof: RefreshApproval;
  terms: RefreshTerms;
  /** Addresses of the guardians enrolled in this node's own registry now. */
  guardians: string[];
  now: number;
}

/** Throws a RequestRefusal unless two guardians of this node's registry approved exactly these terms. */
export function verifyRefreshApproval({ proof, terms, guardians, now }: ApprovalCheckInput): { approvers: string[] } {
  if (now > proof.expiresAt) {
    throw new RequestRefusal('REFRESH_APPROVAL_EXPIRED', `The guardians' approval of this refresh expired ${describeDuration(now - proof.expiresAt)} ago. Ask the guardians to approve a new refresh request; nothing was changed.`);
  }
  const hash = payloadHash(proof.vaultId, REFRESH_OPERATION, terms.keysetId, refreshParameters(terms), proof.context);
  const requesterAddress = typeof proof.context.requesterAddress === 'string' ? proof.context.requesterAddress : null;
  const { counted, foreign } = countApprovals({ requestId: proof.requestId, payloadHash: hash, operation: REFRESH_OPERATION, expiresAt: proof.expiresAt, requesterAddress }, proof.approvals, guardians);
  if (counted.size < QUORUM) {
    const why = proof.approvals.length === 0 ? 'it carries no guardian approval' : `${counted.size} of the ${proof.approvals.length} approvals it carries verify for exactly this refresh from a distinct guardian enrolled on this node (other than the requester)${foreign ? `; ${foreign} are signed by keys this node does not know as guardians` : ''}`;
    throw new RequestRefusal('REFRESH_APPROVAL_QUORUM', `The refresh of keyset ${terms.keysetId} needs two guardians' approval, and ${why}. Have two guardians approve this exact refresh; nothing was changed.`);
  }
  return { approvers: [...counted] };
}

/** Approvals a refresh already ran on at this node: one approval, one refresh. */
export class UsedRefreshApprovals {
  constructor(private readonly db: Db) {}

  used(proof: RefreshApproval): { sessionId: string; usedAt: string } | null {
    const r = this.db.prepare('SELECT session_id, used_at FROM refresh_approvals_used WHERE vault_id = ? AND request_id = ?').get(proof.vaultId, proof.requestId) as { session_id: string; used_at: string } | undefined;
    return r ? { sessionId: r.session_id, usedAt: r.used_at } : null;
  }

  refuseIfUsed(proof: RefreshApproval): void {
    const earlier = this.used(proof);
    if (earlier) {
      throw new RequestRefusal('REFRESH_APPROVAL_REPLAYED', `This guardian approval already ran a refresh at this node (session ${earlier.sessionId.slice(0, 12)}…, ${earlier.usedAt.slice(0, 16).replace('T', ' ')} UTC). An approval authorizes one refresh; ask the guardians for a new one.`);
    }
  }

  record(proof: RefreshApproval, keysetId: string, sessionId: string, at: string): void {
    this.db.prepare('INSERT INTO refresh_approvals_used (vault_id, request_id, keyset_id, session_id, used_at) VALUES (?, ?, ?, ?, ?)').run(proof.vaultId, proof.requestId, keysetId, sessionId, at);
  }
}
