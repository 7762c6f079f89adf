// Auxiliary data as its own step: one aux session per group, reused by several keys, and
// refresh with or without new aux data. Primes come from the test-only fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signature, hexlify, keccak256, recoverAddress, toUtf8Bytes } from 'ethers';
import { MpcError, runLocal, type MpcSigner, type SessionResult } from '../../main/mpc/index';
import { PARTIES, QUORUMS, at, expectMpcError, makeNodes, newSessionId, sign, testPrimes } from './helpers';

const nodes = makeNodes();
const primes = await testPrimes(nodes);
const rotated = PARTIES.map((p) => at(primes, (p + 1) % PARTIES.length));

async function auxSession(ns: MpcSigner[], ps: Buffer[]): Promise<Map<number, SessionResult>> {
  const sessionId = newSessionId();
  return (await runLocal(PARTIES.map((p) => at(ns, p).start({ protocol: 'ecdsa-aux', sessionId, partyIndex: p, parties: PARTIES, threshold: 2, primes: at(ps, p) })))).results;
}

async function dkg(ns: MpcSigner[], aux?: Buffer[]): Promise<Map<number, SessionResult>> {
  const sessionId = newSessionId();
  return (await runLocal(PARTIES.map((p) => at(ns, p).start({ protocol: 'ecdsa-dkg', sessionId, partyIndex: p, parties: PARTIES, threshold: 2, ...(aux ? { aux: at(aux, p) } : {}) })))).results;
}

async function refreshShares(ns: MpcSigner[], shares: Buffer[], aux?: Buffer[]): Promise<Map<number, SessionResult>> {
  const sessionId = newSessionId();
  return (await runLocal(PARTIES.map((p) => at(ns, p).start({ protocol: 'ecdsa-refresh-shares', sessionId, partyIndex: p, parties: PARTIES, threshold: 2, share: at(shares, p), ...(aux ? { aux: at(aux, p) } : {}) })))).results;
}

const sharesOf = (r: Map<number, SessionResult>) => PARTIES.map((p) => r.get(p)!.share!);
const auxOf = (r: Map<number, SessionResult>) => PARTIES.map((p) => r.get(p)!.aux!);

async function signsWithEveryQuorum(shares: Buffer[], address: string, label: string): Promise<void> {
  const digest = keccak256(toUtf8Bytes(`vaultkeeper ${label}`));
  for (const quorum of QUORUMS) {
    const signed = await sign(nodes, 'ecdsa-sign', shares, quorum, Buffer.from(digest.slice(2), 'hex'));
    const r = signed.results.get(at(quorum, 0))!;
    const sig = Signature.from({ r: hexlify(r.signature!.subarray(0, 32)), s: hexlify(r.signature!.subarray(32)), v: 27 + r.recoveryId! });
    assert.equal(recoverAddress(digest, sig), address, `${label}, quorum ${quorum.join(',')}`);
  }
}

const aux = await auxSession(nodes, primes);
const auxBlobs = auxOf(aux);
const auxId = aux.get(0)!.auxId!.toString('hex');

test('ecdsa-aux: every party ends with its own aux data and the same group aux id', () => {
  for (const p of PARTIES) {
    const r = aux.get(p)!;
    assert.equal(r.auxId!.toString('hex'), auxId);
    assert.equal(r.share, undefined, 'no key share comes out of an aux session');
    const info = at(nodes, p).ecdsaAuxInfo(r.aux!);
    assert.equal(info.partyIndex, p);
    assert.equal(info.parties, 3);
    assert.equal(info.auxId.toString('hex'), auxId);
  }
  assert.notDeepEqual(at(auxBlobs, 0), at(auxBlobs, 1));
});

const first = await dkg(nodes, auxBlobs);
const second = await dkg(nodes, auxBlobs);

test('ecdsa-dkg with stored aux: two keysets of the same group share the aux data and both sign with every quorum', async () => {
  const a = first.get(0)!.address!;
  const b = second.get(0)!.address!;
  assert.notEqual(a, b, 'two distinct keys');
  for (const r of [first, second]) {
    for (const p of PARTIES) {
      assert.equal(at(nodes, p).ecdsaAuxInfo(r.get(p)!.share!).auxId.toString('hex'), auxId);
      assert.equal(at(nodes, p).shareInfo(r.get(p)!.share!).partyIndex, p);
    }
  }
  await signsWithEveryQuorum(sharesOf(first), a, 'first keyset');
  await signsWithEveryQuorum(sharesOf(second), b, 'second keyset');
});

test('ecdsa-dkg without aux gives an incomplete share; completing it with this party\'s aux data gives a share that signs', async () => {
  const bare = await dkg(nodes);
  const address = bare.get(0)!.address!;
  assert.throws(() => at(nodes, 0).shareInfo(bare.get(0)!.share!), (e: unknown) => e instanceof MpcError && e.code === 'UNSUPPORTED_SHARE', 'an incomplete share is not a full share');
  assert.throws(() => at(nodes, 0).completeEcdsaShare(bare.get(0)!.share!, at(auxBlobs, 1)), (e: unknown) => e instanceof MpcError && e.code === 'SHARE_MISMATCH', "another party's aux data is refused");
  const full = PARTIES.map((p) => at(nodes, p).completeEcdsaShare(bare.get(p)!.share!, at(auxBlobs, p)));
  await signsWithEveryQuorum(full, address, 'completed keyset');
});

test("ecdsa-dkg refuses another party's aux data before it sends anything", async () => {
  const session = at(nodes, 0).start({ protocol: 'ecdsa-dkg', sessionId: newSessionId(), partyIndex: 0, parties: PARTIES, threshold: 2, aux: at(auxBlobs, 2) });
  const snap = await session.next();
  assert.equal(snap.phase, 'failed');
  assert.equal(snap.error?.code, 'SHARE_MISMATCH');
  assert.equal(snap.outgoing.length, 0);
});

test('a keyset made with reused aux data refreshes its shares (keeping the aux data) and still signs with every quorum', async () => {
  const before = sharesOf(first);
  const address = first.get(0)!.address!;
  const refreshed = await refreshShares(nodes, before);
  for (const p of PARTIES) {
    const r = refreshed.get(p)!;
    assert.equal(r.address, address, 'same key');
    assert.notDeepEqual(at(nodes, p).shareInfo(r.share!).publicShare, at(nodes, p).shareInfo(at(before, p)).publicShare, 'the share changed');
    assert.equal(at(nodes, p).ecdsaAuxInfo(r.share!).auxId.toString('hex'), auxId, 'aux data kept');
  }
  await signsWithEveryQuorum(sharesOf(refreshed), address, 'refreshed keyset');
});

test('after a suspected compromise: new aux data for the group, then a refresh that switches to it; the second keyset swaps without a session', async () => {
  const fresh = await auxSession(nodes, rotated);
  const freshId = fresh.get(0)!.auxId!.toString('hex');
  assert.notEqual(freshId, auxId);
  const address = first.get(0)!.address!;
  const refreshed = await refreshShares(nodes, sharesOf(first), auxOf(fresh));
  for (const p of PARTIES) assert.equal(at(nodes, p).ecdsaAuxInfo(refreshed.get(p)!.share!).auxId.toString('hex'), freshId);
  await signsWithEveryQuorum(sharesOf(refreshed), address, 'refreshed with new aux');
  const swapped = PARTIES.map((p) => at(nodes, p).replaceEcdsaAux(second.get(p)!.share!, at(auxOf(fresh), p)));
  for (const p of PARTIES) assert.equal(at(nodes, p).ecdsaAuxInfo(at(swapped, p)).auxId.toString('hex'), freshId);
  await signsWithEveryQuorum(swapped, second.get(0)!.address!, 'second keyset on new aux');
});

test('precomputation stays out of the backup parts, and the precomputed share signs', async () => {
  const shares = sharesOf(second);
  const pre = PARTIES.map((p) => at(nodes, p).precomputeEcdsaShare(at(shares, p)));
  assert.ok(at(pre, 0).length > at(shares, 0).length * 2, 'tables make the share larger');
  const plain = at(nodes, 0).detachShare(at(shares, 0));
  const detached = at(nodes, 0).detachShare(at(pre, 0));
  assert.equal(detached.publicPart.length, plain.publicPart.length, 'no tables in the public part');
  assert.equal(detached.privatePart.length, plain.privatePart.length);
  await signsWithEveryQuorum(pre, second.get(0)!.address!, 'precomputed');
});

test('aux data blobs are refused where a key share is expected, and vice versa', async () => {
  await expectMpcError(
    (async () => {
      const s = at(nodes, 0).start({ protocol: 'ecdsa-sign', sessionId: newSessionId(), partyIndex: 0, parties: [0, 1], threshold: 2, share: at(auxBlobs, 0), message: Buffer.alloc(32, 1) });
      const snap = await s.next();
      if (snap.error) throw MpcError.fromInfo(snap.error);
    })(),
    'UNSUPPORTED_SHARE',
  );
  assert.throws(() => at(nodes, 0).completeEcdsaShare(at(auxBlobs, 0), at(auxBlobs, 0)), (e: unknown) => e instanceof MpcError && e.code === 'UNSUPPORTED_SHARE');
});
