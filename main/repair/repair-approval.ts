/**
 * The guardian approval of replacing a lost node's share (EdDSA share repair), checked by every
 * party for itself.
 *
 * The requesting node's console records a 'keyset.repair' guardian request whose parameters are
 * exactly the repair: keyset, cluster, group key and address, the lost index and the node that
 * held it, the new node that receives it, the public share the rebuilt share must match, the
 * helpers at their indices, the share epoch and the requesting node. The signed session request
 * carries that console's vault id, request id, expiry, context and each approving guardian's
 * EIP-712 signature. A helper rebuilds the parameters from its own keyset record and share; the
 * new node, which holds no record yet, from the signed request. Each counts signatures of
 * guardians enrolled in its own registry: two distinct, neither the requester, before the expiry.
 */
import { base58 } from '@scure/base';
import type { RefreshApproval } from '../coordinator/protocol';
import { RequestRefusal } from '../cluster/session-request';
import { describeDuration } from '../platform/duration';
import { APPROVAL_TYPES, payloadHash, recoverSigner, type ApprovalMessage } from '../guardians/typed-data';

export const REPAIR_OPERATION = 'keyset.repair' as const;
const QUORUM = 2;

export interface RepairParameterTerms {
  keysetId: string;
  clusterId: string;
  publicKey: string;
  partyIndex: number;
  lostNode: string;
  newNode: string;
  publicShare: string;
  helpers: { nodeId: string; partyIndex: number }[];
  fromEpoch: number;
  requesterNode: string;
}

/** Solana address of an Ed25519 group key (hex), as the guardians see it. */
export function eddsaAddress(publicKeyHex: string): string {
  return base58.encode(Buffer.from(publicKeyHex, 'hex'));
}

/** What the guardians approve, as each node rebuilds it. */
export function repairParameters(t: RepairParameterTerms): Record<string, unknown> {
  return {
    keysetId: t.keysetId,
    clusterId: t.clusterId,
    publicKey: t.publicKey,
    address: eddsaAddress(t.publicKey),
    partyIndex: t.partyIndex,
    lostNode: t.lostNode,
    newNode: t.newNode,
    publicShare: t.publicShare,
    helpers: [...t.helpers].sort((a, b) => a.partyIndex - b.partyIndex).map((p) => `${p.partyIndex}:${p.nodeId}`),
    fromEpoch: t.fromEpoch,
    requesterNode: t.requesterNode,
  };
}

/** Throws a RequestRefusal unless two guardians of this node's registry approved exactly these parameters. */
export function verifyRepairApproval(input: { proof: RefreshApproval; keysetId: string; parameters: Record<string, unknown>; guardians: string[]; now: number }): { approvers: string[] } {
  const { proof, keysetId, parameters, guardians, now } = input;
  if (guardians.length === 0) {
    throw new RequestRefusal('REPAIR_APPROVAL_INVALID', 'No guardians are enrolled on this node, so it cannot check the approval of a share repair and takes part in none. Enrol the three guardians here first (a headless node: start it once with --guardians FILE, exported from the console\'s Guardians screen); nothing was sent.');
  }
  if (now > proof.expiresAt) {
    throw new RequestRefusal('REPAIR_APPROVAL_EXPIRED', `The guardians' approval of this share repair expired ${describeDuration(now - proof.expiresAt)} ago. Ask the guardians to approve a new repair request; nothing was sent.`);
  }
  const hash = payloadHash(proof.vaultId, REPAIR_OPERATION, keysetId, parameters, proof.context);
  const known = new Set(guardians.map((a) => a.toLowerCase()));
  const requester = typeof proof.context.requesterAddress === 'string' ? proof.context.requesterAddress.toLowerCase() : null;
  const counted = new Set<string>();
  for (const a of proof.approvals) {
    const message: ApprovalMessage = { requestId: proof.requestId, payloadHash: hash, operation: REPAIR_OPERATION, nonce: a.nonce, expiry: Math.floor(proof.expiresAt / 1000), decision: 'approve' };
    // A signature over other terms (keyset, index, new node, helpers, epoch) recovers another address.
    const signer = recoverSigner(APPROVAL_TYPES, message, a.signature)?.toLowerCase() ?? null;
    if (!signer || signer !== a.address.toLowerCase() || !known.has(signer) || signer === requester) continue;
    counted.add(signer);
  }
  if (counted.size < QUORUM) {
    const why = proof.approvals.length === 0 ? 'it carries no guardian approval' : `only ${counted.size} of the ${proof.approvals.length} approvals it carries verify for exactly this repair from a distinct guardian enrolled on this node (other than the requester)`;
    throw new RequestRefusal('REPAIR_APPROVAL_QUORUM', `Replacing the lost share of keyset ${keysetId} needs two guardians' approval, and ${why}. Have two guardians approve this exact repair; nothing was sent.`);
  }
  return { approvers: [...counted] };
}
