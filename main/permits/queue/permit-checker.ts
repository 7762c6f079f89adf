/**
 * Runs the authorizer's verification on a queued permit as this node would on a sign request it
 * makes itself: the keyset's scheme, address and lab mark come from this node's own keyset
 * record, the bytes to be signed are the payload's own preimage. A keyset this node does not hold
 * fails the keyset check with a sentence saying so.
 */
import type { PermitCheckView } from '../../../preload/contract';
import type { SignRequestFacts } from '../../cluster/sign-authorization';
import type { PermitAuthorizer } from '../authorizer';
import { CHECK_LABELS, type PermitInspection } from '../permit-inspection';
import type { SignedPermit } from '../permit-format';

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
  ) {}

  keyset(keysetId: string): QueueKeyset | null {
    return this.keysets(keysetId);
  }

  /** `scope: 'import'` stops after vault policy: approvals at this node are for later. */
  inspect(signed: SignedPermit, scope: 'all' | 'import' = 'all'): PermitInspection {
    const keyset = this.keysets(signed.permit.keysetId);
    if (!keyset || keyset.status !== 'active') {
      const checks: PermitCheckView[] = [
        { id: 'format', label: CHECK_LABELS.format, status: 'pass', detail: 'Passed.', code: null },
        { id: 'keyset', label: CHECK_LABELS.keyset, status: 'fail', detail: `Keyset ${signed.permit.keysetId} is not an active keyset of this node; it cannot sign this permit.`, code: 'QUEUE_KEYSET_UNKNOWN' },
      ];
      return { checks, verified: null };
    }
    return this.authorizer.inspect(this.facts(signed, keyset), scope);
  }

  private facts(signed: SignedPermit, keyset: QueueKeyset): SignRequestFacts {
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
}
