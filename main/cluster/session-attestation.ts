/**
 * Signed confirmations that a party finished a session. Sessions that change what a node keeps
 * (a new keyset, a presignature, refreshed shares, auxiliary data) are kept only when every party
 * finished: otherwise the nodes disagree about which shares are current. The coordinator reports
 * the end, but it is untrusted — it could tell one node "completed" while another never finished,
 * splitting a refreshed keyset across two share epochs. So each party signs what it finished with,
 * the coordinator relays every party's confirmation in the session end, and each node checks them
 * all itself before it switches or stores anything.
 *
 * Signed bytes: transcript('vaultkeeper/session-done/v1', JCS({ sessionId, protocol, keysetId, nodeId, result })).
 */
import type { KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ClusterProtocol, PublicResult, SessionAttestation, SessionInfo } from '../coordinator/protocol';
import type { LocalIdentity } from './identity';
import { transcript, verifyBytes } from './keys';
import { isSetupProtocol } from './protocols';
import { isRefreshProtocol } from './session-request';

export const SESSION_DONE_LABEL = 'vaultkeeper/session-done/v1';

/** Sessions whose outcome a node keeps only once every party proved it finished. */
export function needsAttestations(protocol: ClusterProtocol): boolean {
  return isSetupProtocol(protocol) || isRefreshProtocol(protocol) || protocol === 'ecdsa-presign';
}

function doneBytes(info: SessionInfo, nodeId: string, result: PublicResult): Buffer {
  const text = canonicalize({ sessionId: info.sessionId, protocol: info.protocol, keysetId: info.keysetId, nodeId, result });
  if (text === undefined) throw new TypeError('a session result must be JSON');
  return transcript(SESSION_DONE_LABEL, text);
}

/** This node's signed confirmation that it finished the session with `result`. */
export function attestDone(me: LocalIdentity, info: SessionInfo, result: PublicResult): SessionAttestation {
  return { nodeId: me.nodeId, result, signature: me.sign(doneBytes(info, me.nodeId, result)).toString('hex') };
}

/** The public facts every party must agree on (the signature differs by signer; the address follows the key). */
function sameOutcome(a: PublicResult, b: PublicResult): boolean {
  return a.publicKey === b.publicKey && a.address === b.address && a.presignatureId === b.presignatureId && a.auxId === b.auxId;
}

/**
 * Why the relayed confirmations do not prove that every party of `info` finished with this node's
 * own outcome, or null when they do. `nodeKey` gives an enrolled party's identity key (null when
 * it is not an enrolled, non-quarantined member here).
 */
export function attestationGap(info: SessionInfo, own: PublicResult, attestations: SessionAttestation[] | undefined, nodeKey: (nodeId: string) => KeyObject | null): string | null {
  if (!attestations || attestations.length === 0) return 'the coordinator sent no signed confirmations from the parties';
  for (const party of info.parties) {
    const mine = attestations.filter((a) => a.nodeId === party.nodeId);
    const name = `${party.nodeId.slice(0, 8)}…`;
    if (mine.length !== 1) return `node ${name} has ${mine.length === 0 ? 'no' : 'more than one'} signed confirmation`;
    const key = nodeKey(party.nodeId);
    if (!key) return `node ${name} is not an enrolled member here, so its confirmation cannot be checked`;
    const a = mine[0]!;
    if (!verifyBytes(key, doneBytes(info, a.nodeId, a.result), Buffer.from(a.signature, 'hex'))) return `the confirmation of node ${name} does not carry its signature`;
    if (!sameOutcome(a.result, own)) return `node ${name} finished with another outcome than this node`;
  }
  return null;
}
