/**
 * The boundary between the cluster and signing authorization. The cluster verifies who asked
 * (a signed session request) and with whom; whether this node may contribute a share to that
 * signature is decided here, by this node alone, from facts it verified itself.
 */
import type { ClusterProtocol } from '../coordinator/protocol';

/** What a node knows about a signing it is asked to join, all verified by itself. */
export interface SignRequestFacts {
  sessionId: string;
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  /** Keyset public data from this node's own record. */
  keysetPublicKey: string | null;
  keysetAddress: string | null;
  /** True when the keyset was made by the lab cluster (never usable with a non-lab issuer). */
  keysetLab: boolean;
  protocol: ClusterProtocol;
  /**
   * Exactly what the engine signs over, never a caller's digest: ECDSA → the preimage whose
   * keccak256 is signed (an unsigned EVM transaction, or a key-check message); EdDSA → the message.
   */
  message: Buffer;
  /** The signed permit carried in the signed session request (absent for key checks). */
  permit?: unknown;
  /** Node id of the verified requester, and whether this node is that requester. */
  requester: string;
  requestedHere: boolean;
  /** Node ids of the signing quorum. */
  parties: string[];
}

export type SignDecision =
  | {
      ok: true;
      kind: 'permit' | 'key-check';
      permitId: string | null;
      /**
       * Records single use (permit id, tx hash) and the policy counters durably, in one
       * transaction with the SIGN_PERMIT_ACCEPTED audit row. Called once, before this node sends
       * anything for the session. Throws an AppFailure if the permit was spent meanwhile.
       */
      commit(): void;
    }
  | { ok: false; code: string; message: string };

export interface SignAuthorizer {
  /** Decides without side effects, except the SIGN_PERMIT_REJECTED audit row on a refusal. */
  authorize(facts: SignRequestFacts): SignDecision;
}

/** Key-check, restore-proof and drill messages: built by each node, never a transaction. */
export const KEY_CHECK_PREFIX = 'vaultkeeper/key-check/v1';
