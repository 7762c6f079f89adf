/**
 * Authorizers for cluster tests, until the permit verifier is wired in: a strict one that allows
 * key checks and allowlisted test permits (each once, for exactly its bytes), and the authorizer
 * of a compromised node, which says yes to anything it is asked to request.
 */
import { AppFailure } from '../../main/errors';
import { parseKeyCheck } from '../../main/cluster/key-check';
import type { SignAuthorizer, SignDecision, SignRequestFacts } from '../../main/cluster/sign-authorization';

export interface TestPermit {
  testPermitId: string;
  keysetId: string;
  /** Hex of exactly what may be signed. */
  messageHex: string;
}

export function testPermit(keysetId: string, message: Buffer, id = `tp-${Math.random().toString(16).slice(2)}`): TestPermit {
  return { testPermitId: id, keysetId, messageHex: message.toString('hex') };
}

export class AllowlistAuthorizer implements SignAuthorizer {
  private readonly allowed = new Map<string, TestPermit>();
  readonly spent = new Set<string>();
  /** Every decision, for assertions: session, yes/no and the code. */
  readonly decisions: Array<{ sessionId: string; ok: boolean; code: string; requester: string }> = [];

  allow(permit: TestPermit): TestPermit {
    this.allowed.set(permit.testPermitId, permit);
    return permit;
  }

  authorize(facts: SignRequestFacts): SignDecision {
    const refuse = (code: string, message: string): SignDecision => {
      this.decisions.push({ sessionId: facts.sessionId, ok: false, code, requester: facts.requester });
      return { ok: false, code, message };
    };
    const yes = (kind: 'permit' | 'key-check', permitId: string | null, commit: () => void): SignDecision => {
      this.decisions.push({ sessionId: facts.sessionId, ok: true, code: kind, requester: facts.requester });
      return { ok: true, kind, permitId, commit };
    };
    if (facts.permit === undefined) {
      const check = parseKeyCheck(facts.message);
      if (!check || check.keysetId !== facts.keysetId) return refuse('PERMIT_REQUIRED', 'A signature that is not a key check of this keyset needs a permit.');
      return yes('key-check', null, () => undefined);
    }
    const p = facts.permit as Partial<TestPermit> | null;
    const id = typeof p?.testPermitId === 'string' ? p.testPermitId : null;
    const known = id ? this.allowed.get(id) : undefined;
    if (!id || !known) return refuse('PERMIT_UNKNOWN', 'This permit is not on this node’s allowlist.');
    if (p!.keysetId !== known.keysetId || p!.messageHex !== known.messageHex) return refuse('PERMIT_TAMPERED', 'The permit differs from the one this node allowed.');
    if (known.keysetId !== facts.keysetId) return refuse('PERMIT_WRONG_KEYSET', `The permit is for keyset ${known.keysetId}, not ${facts.keysetId}.`);
    if (known.messageHex !== facts.message.toString('hex')) return refuse('PERMIT_PAYLOAD_MISMATCH', 'The bytes to sign are not the permit’s payload.');
    if (this.spent.has(id)) return refuse('PERMIT_SPENT', `Permit ${id} was already used on this node.`);
    return yes('permit', id, () => {
      if (this.spent.has(id)) throw new AppFailure('MPC_SESSION_REJECTED', `Permit ${id} was already used on this node.`);
      this.spent.add(id);
    });
  }
}

/** A compromised node's authorizer: it requests whatever its attacker wants. */
export class CompromisedAuthorizer implements SignAuthorizer {
  authorize(facts: SignRequestFacts): SignDecision {
    return { ok: true, kind: facts.permit === undefined ? 'key-check' : 'permit', permitId: null, commit: () => undefined };
  }
}
