import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { LocalIdentity } from '../../main/cluster/identity';
import { ed25519PrivateKey, ed25519PublicKey, signBytes } from '../../main/cluster/keys';
import { newSessionId, RequestRefusal, signSessionRequest, verifySessionRequest, type KeysetFacts, type RequestCheckContext } from '../../main/cluster/session-request';
import type { SessionRequestBody, SignedSessionRequest } from '../../main/coordinator/protocol';
import { nodeIdFromPublicKey } from '../../main/identity/node-identity';

/** A node identity without a vault: the same Ed25519 signing the real one does. */
function identity(): LocalIdentity & { publicKey: Uint8Array } {
  const secret = randomBytes(32);
  const publicKey = ed25519.getPublicKey(secret);
  const key = ed25519PrivateKey(secret);
  return { nodeId: nodeIdFromPublicKey(publicKey), sign: (b: Uint8Array) => signBytes(key, b), publicKey } as unknown as LocalIdentity & { publicKey: Uint8Array };
}

const [a, b, c] = [identity(), identity(), identity()];
const keyset: KeysetFacts = {
  keysetId: 'ks-1',
  clusterId: 'test',
  scheme: 'eddsa',
  threshold: 2,
  participants: [a, b, c].map((n, partyIndex) => ({ nodeId: n.nodeId, partyIndex })),
  myPartyIndex: 1,
  status: 'active',
};

/** Node B's view: A and C enrolled, B itself with no outstanding request. */
function ctxOfB(extra: Partial<RequestCheckContext> = {}): RequestCheckContext {
  const keys = new Map([a, b, c].map((n) => [n.nodeId, ed25519PublicKey(n.publicKey)]));
  return { me: b.nodeId, clusterId: 'test', requesterKey: (id) => keys.get(id) ?? null, ownRequest: () => false, keyset: (id) => (id === 'ks-1' ? keyset : null), now: Date.now(), maxTtlMs: 60_000, ...extra };
}

function request(by: LocalIdentity, overrides: Partial<Omit<SessionRequestBody, 'v' | 'requester'>> = {}): SignedSessionRequest {
  return signSessionRequest(by, {
    clusterId: 'test',
    sessionId: newSessionId(),
    protocol: 'eddsa-sign',
    keysetId: 'ks-1',
    parties: keyset.participants.slice(0, 2),
    threshold: 2,
    message: Buffer.from('hello').toString('hex'),
    permitId: null,
    deadlineAt: Date.now() + 10_000,
    ...overrides,
  });
}

const refusedWith = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RequestRefusal, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });

describe('signed session requests', () => {
  it('a request signed by an enrolled requester, matching the keyset record, is accepted as it was signed', () => {
    const r = request(a);
    const { info } = verifySessionRequest(r, ctxOfB());
    assert.equal(info.requester, a.nodeId);
    assert.deepEqual(info.parties, r.body.parties);
    assert.equal(info.message, r.body.message);
  });

  it('any change to any signed field breaks the signature', () => {
    const r = request(a);
    const changes: Array<Partial<SessionRequestBody>> = [
      { message: Buffer.from('hellp').toString('hex') },
      { sessionId: newSessionId() },
      { deadlineAt: r.body.deadlineAt + 1 },
      { permit: { id: 'x' } },
      { permitId: 'p-1' },
      { parties: [keyset.participants[1]!, keyset.participants[2]!] },
    ];
    for (const change of changes) refusedWith(() => verifySessionRequest({ ...r, body: { ...r.body, ...change } }, ctxOfB()), 'SESSION_REQUEST_BAD_SIGNATURE');
    refusedWith(() => verifySessionRequest({ ...r, body: { ...r.body, requester: c.nodeId } }, ctxOfB()), 'SESSION_REQUEST_BAD_SIGNATURE');
  });

  it('refuses a request naming this node as requester unless this node made it', () => {
    const mine = request(b);
    refusedWith(() => verifySessionRequest(mine, ctxOfB()), 'SESSION_REQUEST_NOT_MINE');
    assert.doesNotThrow(() => verifySessionRequest(mine, ctxOfB({ ownRequest: (sid) => sid === mine.body.sessionId })));
  });

  it('refuses unknown or quarantined requesters, another cluster, expired and too-distant deadlines', () => {
    const stranger = identity();
    refusedWith(() => verifySessionRequest(request(stranger), ctxOfB()), 'SESSION_REQUESTER_UNKNOWN');
    refusedWith(() => verifySessionRequest(request(c), ctxOfB({ requesterKey: (id) => (id === a.nodeId ? ed25519PublicKey(a.publicKey) : null) })), 'SESSION_REQUESTER_UNKNOWN');
    refusedWith(() => verifySessionRequest(request(a, { clusterId: 'other' }), ctxOfB()), 'SESSION_REQUEST_WRONG_CLUSTER');
    // A key generation has no keyset record yet: only the node's own cluster id stands guard.
    refusedWith(() => verifySessionRequest(request(a, { clusterId: 'other', protocol: 'eddsa-keygen', keysetId: 'ks-new', parties: keyset.participants, message: undefined }), ctxOfB()), 'SESSION_REQUEST_WRONG_CLUSTER');
    assert.doesNotThrow(() => verifySessionRequest(request(a, { protocol: 'eddsa-keygen', keysetId: 'ks-new', parties: keyset.participants, message: undefined }), ctxOfB()));
    refusedWith(() => verifySessionRequest(request(a, { deadlineAt: Date.now() - 240_000 }), ctxOfB()), 'SESSION_REQUEST_EXPIRED');
    assert.throws(() => verifySessionRequest(request(a, { deadlineAt: Date.now() - 240_000 }), ctxOfB()), /expired 4 min ago/);
    refusedWith(() => verifySessionRequest(request(a, { deadlineAt: Date.now() + 3_600_000 }), ctxOfB()), 'SESSION_REQUEST_EXPIRED');
  });

  it('parties and indices must equal the keyset record, threshold the keyset’s, and include this node', () => {
    const [pa, pb, pc] = keyset.participants as [{ nodeId: string; partyIndex: number }, { nodeId: string; partyIndex: number }, { nodeId: string; partyIndex: number }];
    refusedWith(() => verifySessionRequest(request(a, { parties: [{ nodeId: pb.nodeId, partyIndex: 0 }, { nodeId: pa.nodeId, partyIndex: 1 }] }), ctxOfB()), 'SESSION_REQUEST_WRONG_PARTIES');
    refusedWith(() => verifySessionRequest(request(a, { threshold: 3 }), ctxOfB()), 'SESSION_REQUEST_WRONG_PARTIES');
    // Enough parties for the threshold it claims, but not the keyset's threshold.
    refusedWith(() => verifySessionRequest(request(a, { threshold: 3, parties: [pa, pb, pc] }), ctxOfB()), 'SESSION_REQUEST_WRONG_PARTIES');
    refusedWith(() => verifySessionRequest(request(a, { parties: [pa, pc] }), ctxOfB()), 'SESSION_REQUEST_WRONG_PARTIES');
    refusedWith(() => verifySessionRequest(request(a, { parties: [pa, { nodeId: identity().nodeId, partyIndex: 1 }] }), ctxOfB()), 'SESSION_REQUEST_WRONG_PARTIES');
    refusedWith(() => verifySessionRequest(request(a, { parties: [pb, pa] }), ctxOfB()), 'SESSION_REQUEST_WRONG_PARTIES');
    refusedWith(() => verifySessionRequest(request(a, { keysetId: 'ks-2' }), ctxOfB()), 'KEYSET_NOT_FOUND');
    refusedWith(() => verifySessionRequest(request(a, { protocol: 'ecdsa-sign' }), ctxOfB()), 'SESSION_REQUEST_MALFORMED');
    refusedWith(() => verifySessionRequest(request(a, { message: undefined }), ctxOfB()), 'SESSION_REQUEST_MALFORMED');
  });

  it('an ecdsa-dkg request names the auxiliary data to attach; no other request carries an aux id', () => {
    const dkg = { protocol: 'ecdsa-dkg' as const, keysetId: 'ks-new', parties: keyset.participants, message: undefined };
    const auxId = 'ab'.repeat(32);
    assert.equal(verifySessionRequest(request(a, { ...dkg, auxId }), ctxOfB()).info.auxId, auxId, 'the aux id is part of what each node runs');
    refusedWith(() => verifySessionRequest(request(a, dkg), ctxOfB()), 'SESSION_REQUEST_MALFORMED');
    refusedWith(() => verifySessionRequest(request(a, { ...dkg, protocol: 'ecdsa-keygen', auxId }), ctxOfB()), 'SESSION_REQUEST_MALFORMED');
    refusedWith(() => verifySessionRequest(request(a, { auxId }), ctxOfB()), 'SESSION_REQUEST_MALFORMED');
    assert.doesNotThrow(() => verifySessionRequest(request(a, { protocol: 'ecdsa-aux', keysetId: 'aux-new', parties: keyset.participants, message: undefined }), ctxOfB()));
  });

  it('a request that is not a signed request object at all is malformed', () => {
    refusedWith(() => verifySessionRequest({ body: {}, signature: '00' }, ctxOfB()), 'SESSION_REQUEST_MALFORMED');
    refusedWith(() => verifySessionRequest(null, ctxOfB()), 'SESSION_REQUEST_MALFORMED');
  });
});
