/**
 * The signed completions of one multi-party air-gap session, as they arrive by file: each party
 * confirms what it finished with (session-attestation.ts) in its own 'done' bundle. A node keeps
 * a new share or presignature only once every party's completion is here and checks out.
 */
import type { PublicResult, SessionAttestation, SessionInfo } from '../coordinator/protocol';
import { fail } from '../errors';
import type { SessionResult } from '../mpc/index';
import { sealBundle, type Bundle } from './airgap';
import type { LocalIdentity } from './identity';
import type { KeyObject } from 'node:crypto';
import { attestationGap } from './session-attestation';

export class CompletionExchange {
  private readonly byNode = new Map<string, SessionAttestation>();

  constructor(private readonly info: SessionInfo) {}

  /** True when new; false for an identical re-import; refuses a different completion from the same node. */
  admit(from: string, attestation: SessionAttestation): boolean {
    const previous = this.byNode.get(from);
    if (previous) {
      if (previous.signature === attestation.signature) return false;
      fail('BUNDLE_WRONG_ROUND', `Node ${from} already delivered a different completion for this session.`, { sender: from, sessionId: this.info.sessionId });
    }
    this.byNode.set(from, attestation);
    return true;
  }

  /** The parties whose completion has not come yet. */
  missing(): string[] {
    return this.info.parties.map((p) => p.nodeId).filter((id) => !this.byNode.has(id));
  }

  /** Why the completions do not prove that every party finished with `own`, or null when they do. */
  gap(own: PublicResult, nodeKey: (nodeId: string) => KeyObject | null): string | null {
    return attestationGap(this.info, own, [...this.byNode.values()], nodeKey);
  }
}

/** This node's 'done' bundle for the other parties. */
export function completionBundle(me: LocalIdentity, info: SessionInfo, attestation: SessionAttestation): Bundle {
  const others = info.parties.map((p) => p.nodeId).filter((id) => id !== me.nodeId);
  return sealBundle(me, { kind: 'done', clusterId: info.clusterId, sid: info.sessionId, protocol: info.protocol, round: 0, to: others }, { attestation, envelopes: [] });
}

/** The public facts of an engine result, which the parties confirm to each other (nothing secret). */
export function publicResultOf(outcome: SessionResult): PublicResult {
  return {
    ...(outcome.presignatureId ? { presignatureId: outcome.presignatureId.toString('hex') } : {}),
    ...(outcome.publicKey ? { publicKey: outcome.publicKey.toString('hex') } : {}),
    ...(outcome.address ? { address: outcome.address } : {}),
    ...(outcome.signature ? { signature: outcome.signature.toString('hex') } : {}),
    ...(outcome.recoveryId !== undefined && outcome.recoveryId !== null ? { recoveryId: outcome.recoveryId } : {}),
    ...(outcome.auxId ? { auxId: outcome.auxId.toString('hex') } : {}),
  };
}

/** Overwrites the secret parts of an engine result. */
export function wipeResult(result: SessionResult): void {
  result.share?.fill(0);
  result.presignature?.fill(0);
  result.aux?.fill(0);
}
