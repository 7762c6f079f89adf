/**
 * Counting guardian approvals carried with a request to another node (a refresh, a guardian
 * replacement): each node recounts them against its own guardian list. An approval counts once
 * per distinct guardian, only when its signature recovers that guardian's address over exactly
 * these terms, and never for the requester.
 */
import { APPROVAL_TYPES, recoverSigner, type ApprovalMessage } from './typed-data';

export interface CarriedApproval {
  address: string;
  nonce: string;
  signature: string;
}

export interface ApprovalTerms {
  requestId: string;
  /** payloadHash of the operation's exact parameters and context. */
  payloadHash: string;
  operation: string;
  expiresAt: number;
  requesterAddress: string | null;
}

/** The distinct guardians of `guardians` whose approval verifies, and how many verified for keys not among them. */
export function countApprovals(terms: ApprovalTerms, approvals: readonly CarriedApproval[], guardians: Iterable<string>): { counted: Set<string>; foreign: number } {
  const known = new Set([...guardians].map((a) => a.toLowerCase()));
  const requester = terms.requesterAddress?.toLowerCase() ?? null;
  const counted = new Set<string>();
  let foreign = 0;
  for (const a of approvals) {
    const message: ApprovalMessage = { requestId: terms.requestId, payloadHash: terms.payloadHash, operation: terms.operation, nonce: a.nonce, expiry: Math.floor(terms.expiresAt / 1000), decision: 'approve' };
    // A signature over other terms (other parameters, another requester) recovers another address.
    const signer = recoverSigner(APPROVAL_TYPES, message, a.signature)?.toLowerCase() ?? null;
    if (!signer || signer !== a.address.toLowerCase()) continue;
    if (!known.has(signer)) {
      foreign += 1;
      continue;
    }
    if (signer === requester) continue;
    counted.add(signer);
  }
  return { counted, foreign };
}
