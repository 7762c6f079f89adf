/**
 * Runs the authorizer's verification on a queued permit as this node would on a sign request it
 * makes itself: the keyset's scheme, address and lab mark come from this node's own keyset
 * record, the bytes to be signed are the payload's own preimage. A keyset this node does not hold
 * fails the keyset check with a sentence saying so.
 */
import type { PermitCheckView } from '../../../preload/contract';
import type { SignRequestFacts } from '../../cluster/sign-authorization';
import type { PermitAuthorizer, VerifiedOutcome } from '../authorizer';
import { CHECK_LABELS, type PermitInspection } from '../permit-inspection';
import type { SignedPermit } from '../permit-format';
import type { VerificationContext } from '../permit-verification';
import type { TrustedIssuers } from '../trusted-issuers';
import type { IssuerRecord } from './parallel-verification';

export interface QueueKeyset {
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  address: string | null;
  publicKey: string | null;
  lab: boolean;
  status: 'active' | 'failed';
}

export type KeysetLookup = (keysetId: string) => QueueKeyset | null;

export class PermitChecker {
  constructor(
    private readonly authorizer: PermitAuthorizer,
    private readonly keysets: KeysetLookup,
    private readonly issuers: TrustedIssuers,
  ) {}

  /** What the stateless checks read, as this node holds it now. */
  verificationContext(): VerificationContext {
    return this.authorizer.verificationContext();
  }

  /** The trusted issuers as plain records, for an import worker. */
  issuerRecords(): IssuerRecord[] {
    return this.issuers.list().map((i) => ({ fingerprint: i.fingerprint, publicKey: i.publicKey, name: i.name, lab: i.lab, enrolledAt: Date.parse(i.enrolledAt) }));
  }

  keyset(keysetId: string): QueueKeyset | null {
    return this.keysets(keysetId);
  }

  /** `scope: 'import'` stops after vault policy: approvals at this node are for later. */
  inspect(signed: SignedPermit, scope: 'all' | 'import' = 'all'): PermitInspection {
    const keyset = this.activeKeyset(signed);
    if (!('keysetId' in keyset)) return keyset;
    return this.authorizer.inspect(queueFacts(signed, keyset), scope);
  }

  /** The active keyset `signed` names, or null with the inspection that refuses it. */
  keysetFor(signed: SignedPermit): { keyset: QueueKeyset; refusal: null } | { keyset: null; refusal: PermitInspection } {
    const keyset = this.activeKeyset(signed);
    return 'keysetId' in keyset ? { keyset, refusal: null } : { keyset: null, refusal: keyset };
  }

  /** The active keyset `signed` names, or the failed inspection that says it is not one. */
  private activeKeyset(signed: SignedPermit): QueueKeyset | PermitInspection {
    const keyset = this.keysets(signed.permit.keysetId);
    if (keyset && keyset.status === 'active') return keyset;
    const checks: PermitCheckView[] = [
      { id: 'format', label: CHECK_LABELS.format, status: 'pass', detail: 'Passed.', code: null },
      { id: 'keyset', label: CHECK_LABELS.keyset, status: 'fail', detail: `Keyset ${signed.permit.keysetId} is not an active keyset of this node; it cannot sign this permit.`, code: 'QUEUE_KEYSET_UNKNOWN' },
    ];
    return { checks, verified: null };
  }

  /**
   * Like inspect(), with the stateless checks already run (on an import worker) and their
   * `outcome` given; the stateful checks (single use, kill switch, policy) run here as always.
   */
  inspectVerified(signed: SignedPermit, keyset: QueueKeyset, outcome: VerifiedOutcome, scope: 'all' | 'import' = 'all'): PermitInspection {
    return this.authorizer.inspectVerified(queueFacts(signed, keyset), outcome, scope);
  }
}

/** The facts this node would pass its own authorizer when it asks the cluster to sign `signed`. */
export function queueFacts(signed: SignedPermit, keyset: QueueKeyset): SignRequestFacts {
  // The bytes this node would sign: the payload's own bytes (EVM: the unsigned serialization;
  // Solana: the message). The verification decodes the payload and checks they are its preimage.
  const payload = signed.permit.payload;
  const message = signed.permit.chain.kind === 'evm' ? Buffer.from(payload.replace(/^0x/, ''), 'hex') : Buffer.from(payload, 'base64');
  return {
    sessionId: `queue-review-${signed.permit.permitId}`,
    keysetId: keyset.keysetId,
    scheme: keyset.scheme,
    keysetPublicKey: keyset.publicKey,
    keysetAddress: keyset.address,
    keysetLab: keyset.lab,
    protocol: keyset.scheme === 'ecdsa' ? 'ecdsa-sign' : 'eddsa-sign',
    message,
    permit: signed,
    requester: 'this console',
    requestedHere: true,
    parties: [],
  };
}
