/**
 * The completion check each node runs on the confirmations a coordinator relays: one signed
 * confirmation per party, from that party's enrolled key, over this session and this outcome.
 * The cluster test (completion-attestation) shows a missing and a relabelled confirmation against
 * a lying coordinator; these cover what is cheaper to show here: a confirmation replayed from
 * another session, a party's confirmation sent twice, another outcome, an unenrolled party.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { PublicResult, SessionInfo } from '../../main/coordinator/protocol';
import type { LocalIdentity } from '../../main/cluster/identity';
import { ed25519PrivateKey, ed25519PublicKey, signBytes } from '../../main/cluster/keys';
import { attestationGap, attestDone } from '../../main/cluster/session-attestation';

interface Party {
  me: LocalIdentity;
  key: ReturnType<typeof ed25519PublicKey>;
}

function party(nodeId: string): Party {
  const secret = randomBytes(32);
  const signing = ed25519PrivateKey(secret);
  const key = ed25519PublicKey(ed25519.getPublicKey(secret));
  // attestDone needs only the node id and its signature.
  const me = { nodeId, sign: (data: Uint8Array) => signBytes(signing, data) } as unknown as LocalIdentity;
  return { me, key };
}

const ids = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)];
const parties = ids.map(party);
const keyOf = (nodeId: string) => parties.find((p) => p.me.nodeId === nodeId)?.key ?? null;

function session(sessionId: string): SessionInfo {
  return {
    sessionId,
    protocol: 'eddsa-refresh',
    clusterId: 'test',
    keysetId: 'ks-1',
    parties: ids.map((nodeId, i) => ({ nodeId, partyIndex: i })),
    threshold: 2,
    requester: ids[0]!,
    deadlineAt: Date.now() + 60_000,
  } as SessionInfo;
}

const outcome: PublicResult = { publicKey: '11'.repeat(32) } as PublicResult;
const info = session('0'.repeat(32) + '1'.repeat(32));
const all = (on: SessionInfo, result = outcome) => parties.map((p) => attestDone(p.me, on, result));

describe('the completion confirmations a node accepts', () => {
  it('every party confirmed this session with this outcome: no gap', () => {
    assert.equal(attestationGap(info, outcome, all(info), keyOf), null);
  });

  it('a confirmation replayed from another session of the same keyset is refused', () => {
    const other = session('2'.repeat(64));
    const confirmations = all(info);
    confirmations[2] = attestDone(parties[2]!.me, other, outcome);
    assert.match(attestationGap(info, outcome, confirmations, keyOf) ?? '', /does not carry its signature/);
  });

  it('a party confirmed twice (even with two valid signatures) is refused', () => {
    const confirmations = [...all(info), attestDone(parties[1]!.me, info, outcome)];
    assert.match(attestationGap(info, outcome, confirmations, keyOf) ?? '', /more than one signed confirmation/);
  });

  it('a party that finished with another outcome is refused', () => {
    const confirmations = all(info);
    const other = { publicKey: '22'.repeat(32) } as PublicResult;
    confirmations[1] = attestDone(parties[1]!.me, info, other);
    assert.match(attestationGap(info, outcome, confirmations, keyOf) ?? '', /another outcome/);
  });

  it('a party that is not an enrolled member here cannot be checked, so it is refused', () => {
    const notEnrolled = (nodeId: string) => (nodeId === ids[2] ? null : keyOf(nodeId));
    assert.match(attestationGap(info, outcome, all(info), notEnrolled) ?? '', /not an enrolled member/);
  });

  it('no confirmations at all is refused', () => {
    assert.match(attestationGap(info, outcome, [], keyOf) ?? '', /no signed confirmations/);
    assert.match(attestationGap(info, outcome, undefined, keyOf) ?? '', /no signed confirmations/);
  });
});
