/**
 * What a session request carried across the air gap asks of this node, in words an operator
 * reads before approving or refusing it: who asks, with which keyset and protocol, and what would
 * be signed — a key check (a fixed test message, never a transaction) or a transaction under a
 * permit, decoded here from the permit's own payload. Describes only; the join decides.
 */
import type { AirgapRequestView } from '../../preload/contract';
import { decodePayload, describeChain } from '../chains/payload';
import { describeTransaction } from '../policy/policy-checks';
import { signedPermitSchema } from '../permits/permit-format';
import type { AirgapRequestFacts } from './airgap-sessions';
import { parseKeyCheck } from './key-check';

export interface ReviewDeps {
  nodeName(nodeId: string): string | null;
  keysetLabel(keysetId: string): string | null;
}

const KEY_CHECK_WORDS: Record<string, string> = {
  'key-check': 'a key check',
  'restore-proof': 'a restore proof',
  drill: 'a recovery drill',
};

const SETUP_WORDS: Record<string, string> = {
  'eddsa-keygen': 'Create a new 2-of-3 EdDSA (Solana) keyset: this node generates its share and keeps it once all three nodes confirmed by file.',
  'ecdsa-keygen': 'Create a new 2-of-3 ECDSA (Ethereum) keyset with its auxiliary data: this node generates its share and keeps it once all three nodes confirmed by file.',
  'ecdsa-presign': 'Make one presignature of this keyset with the requester (nothing is signed now); kept once both confirmed by file.',
  'eddsa-refresh': 'Refresh every share of this keyset under two guardians\' approval (same key and address; this node checks the approval against its own guardians): the new share stays sealed beside the old one until all three nodes confirmed by file.',
  'ecdsa-refresh-shares': 'Refresh every share of this ECDSA keyset under two guardians\' approval (same key, address and auxiliary data; this node checks the approval against its own guardians): the new share stays sealed beside the old one until all three nodes confirmed by file.',
};

function whatIsAsked(facts: AirgapRequestFacts): Pick<AirgapRequestView, 'kind' | 'description' | 'permitId'> {
  const setup = SETUP_WORDS[facts.protocol];
  if (setup) return { kind: 'setup', permitId: null, description: setup };
  const message = Buffer.from(facts.message, 'hex');
  if (facts.permit === undefined) {
    const check = parseKeyCheck(message);
    if (check && check.keysetId === facts.keysetId) {
      return { kind: 'key-check', permitId: null, description: `Sign ${KEY_CHECK_WORDS[check.purpose] ?? check.purpose}: a fixed test message of keyset ${check.keysetId}, never a transaction.` };
    }
    return { kind: 'unknown', permitId: null, description: `Sign ${message.length} bytes that are neither a key check nor covered by a permit. This node's authorizer refuses such a request.` };
  }
  const parsed = signedPermitSchema.safeParse(facts.permit);
  if (!parsed.success) return { kind: 'unknown', permitId: null, description: 'Sign under a permit that is not well-formed. This node refuses it when joining.' };
  const { permit } = parsed.data;
  let transaction: string;
  try {
    transaction = describeTransaction(decodePayload(permit.chain, permit.payload), null);
  } catch {
    transaction = 'an unreadable transaction';
  }
  return {
    kind: 'permit',
    permitId: permit.permitId,
    description: `Sign under permit ${permit.permitId} (request ${permit.txRequestId}, wallet ${permit.walletId}): ${transaction} on ${describeChain(permit.chain)}. The permit expires ${new Date(permit.expiresAt).toISOString()}.`,
  };
}

export function airgapRequestView(facts: AirgapRequestFacts, deps: ReviewDeps): AirgapRequestView {
  return {
    sessionId: facts.sessionId,
    file: facts.file.split(/[\\/]/).pop() ?? facts.file,
    requester: { nodeId: facts.from, name: deps.nodeName(facts.from) },
    keysetId: facts.keysetId,
    keyset: facts.keysetId ? deps.keysetLabel(facts.keysetId) : null,
    protocol: facts.protocol,
    ...whatIsAsked(facts),
    expiresAt: facts.deadlineAt === null ? null : new Date(facts.deadlineAt).toISOString(),
    problem: facts.problem,
  };
}
