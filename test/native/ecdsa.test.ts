import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Signature, SigningKey, computeAddress, recoverAddress, hexlify, keccak256, toUtf8Bytes } from 'ethers';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { MpcError, type SessionResult } from '../../main/mpc/index';
import { PARTIES, at, QUORUMS, flipByte, keygen, makeNodes, newSessionId, refresh, sharesOf, sign, testPrimes, expectMpcError } from './helpers';

const nodes = makeNodes();
const primes = await testPrimes(nodes);
const rotated = PARTIES.map((p) => at(primes, (p + 1) % PARTIES.length));

function recovered(result: SessionResult, digest: string): string {
  const sig = Signature.from({
    r: hexlify(result.signature!.subarray(0, 32)),
    s: hexlify(result.signature!.subarray(32, 64)),
    v: 27 + result.recoveryId!,
  });
  return recoverAddress(digest, sig);
}

const keyed = await keygen(nodes, 'ecdsa-keygen', primes);
const shares = sharesOf(keyed.results);
const address = keyed.results.get(0)!.address!;
const publicKey = keyed.results.get(0)!.publicKey!;

test('ecdsa: 2-of-3 keygen agrees on the key and an Ethereum address derived from it', () => {
  assert.equal(computeAddress(hexlify(publicKey)), address);
  for (const p of PARTIES) {
    assert.equal(keyed.results.get(p)!.address, address);
    const info = at(nodes, p).shareInfo(at(shares, p));
    assert.equal(info.engine, 'cggmp24-secp256k1');
    assert.equal(info.partyIndex, p);
    assert.equal(info.threshold, 2);
    assert.equal(info.address, address);
  }
});

test('ecdsa: each quorum signs; the signature recovers to the group address, low-s', async () => {
  const digest = keccak256(toUtf8Bytes('vaultkeeper transfer'));
  for (const quorum of QUORUMS) {
    const signed = await sign(nodes, 'ecdsa-sign', shares, quorum, Buffer.from(digest.slice(2), 'hex'));
    for (const p of quorum) {
      const result = signed.results.get(p)!;
      assert.equal(recovered(result, digest), address, `quorum ${quorum}`);
      const s = BigInt(hexlify(result.signature!.subarray(32)));
      assert.ok(s <= secp256k1.Point.Fn.ORDER / 2n, 'low-s');
    }
  }
});

test('ecdsa: property — random digests sign and verify', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 2 }), async (bytes, q) => {
      const digest = Buffer.from(bytes);
      const signed = await sign(nodes, 'ecdsa-sign', shares, at(QUORUMS, q), digest);
      const result = signed.results.get(at(at(QUORUMS, q), 0))!;
      const ok = secp256k1.verify(result.signature!, digest, publicKey, { prehash: false, lowS: true });
      return ok && recovered(result, hexlify(digest)) === address;
    }),
    // Each run is a full interactive signing (about a second): eight cover every quorum a few times.
    { numRuns: 8 },
  );
});

test('ecdsa: a message altered in transit is refused in every signing round, naming the sender', async () => {
  const digest = Buffer.alloc(32, 7);
  for (const round of [1, 2, 3, 4]) {
    await expectMpcError(
      sign(nodes, 'ecdsa-sign', shares, [0, 2], digest, { intercept: (from, _to, b, r) => (r === round && from === 2 ? flipByte(b) : b) }),
      'TAMPERED_MESSAGE',
      2,
    );
  }
});

test('ecdsa: a message altered in transit is refused in every keygen round, naming the sender', async () => {
  for (const round of [1, 2, 3, 4, 5, 6]) {
    await expectMpcError(
      keygen(nodes, 'ecdsa-keygen', primes, { intercept: (from, _to, b, r) => (r === round && from === 1 ? flipByte(b) : b) }),
      'TAMPERED_MESSAGE',
      1,
    );
  }
});

test('ecdsa: another session\'s message and a replay are refused', async () => {
  const digest = Buffer.alloc(32, 9);
  const pair = () => {
    const sessionId = newSessionId();
    return [0, 1].map((p) => at(nodes, p).start({ protocol: 'ecdsa-sign', sessionId, partyIndex: p, parties: [0, 1], threshold: 2, share: at(shares, p), message: digest }));
  };
  const a = pair();
  const b = pair();
  const fromB = at((await at(b, 1).next()).outgoing, 0).bytes;
  assert.throws(() => at(a, 0).feed(1, fromB), (e: MpcError) => e.code === 'WRONG_SESSION' && e.party === 1);
  const c = pair();
  const first = at((await at(c, 1).next()).outgoing, 0).bytes;
  at(c, 0).feed(1, first);
  assert.throws(() => at(c, 0).feed(1, first), (e: MpcError) => e.code === 'REPLAYED_MESSAGE' && e.party === 1);
  for (const s of [...a, ...b, ...c]) s.cancel();
});

test('ecdsa: refresh keeps the address, changes every share; old and new do not mix', async () => {
  const refreshed = await refresh(nodes, 'ecdsa-refresh', shares, rotated);
  const fresh = sharesOf(refreshed.results);
  for (const p of PARTIES) {
    assert.equal(refreshed.results.get(p)!.address, address);
    assert.notDeepEqual(at(nodes, p).shareInfo(at(fresh, p)).publicShare, at(nodes, p).shareInfo(at(shares, p)).publicShare);
  }
  const digest = keccak256(toUtf8Bytes('after refresh'));
  for (const quorum of QUORUMS) {
    const signed = await sign(nodes, 'ecdsa-sign', fresh, quorum, Buffer.from(digest.slice(2), 'hex'));
    assert.equal(recovered(signed.results.get(at(quorum, 0))!, digest), address);
  }
  await assert.rejects(sign(nodes, 'ecdsa-sign', [at(shares, 0), at(fresh, 1), at(fresh, 2)], [0, 1], Buffer.alloc(32, 1)), MpcError);
});

test('ecdsa: detach/attach round trip and mismatch rejection', async () => {
  const d0 = at(nodes, 0).detachShare(at(shares, 0));
  const d1 = at(nodes, 1).detachShare(at(shares, 1));
  assert.equal(at(nodes, 0).shareInfo(d0.publicPart).address, address);
  assert.ok(d0.privatePart.length < d0.publicPart.length);
  const back = at(nodes, 0).attachShare(d0.publicPart, d0.privatePart);
  const digest = Buffer.alloc(32, 3);
  const signed = await sign(nodes, 'ecdsa-sign', [back, at(shares, 1), at(shares, 2)], [0, 1], digest);
  assert.equal(recovered(signed.results.get(0)!, hexlify(digest)), address);
  assert.throws(() => at(nodes, 0).attachShare(d0.publicPart, d1.privatePart), (e: MpcError) => e.code === 'SHARE_MISMATCH');
});

test('ecdsa: sessions reject bad arguments with typed errors', async () => {
  assert.throws(
    () => at(nodes, 0).start({ protocol: 'ecdsa-sign', sessionId: Buffer.alloc(4), partyIndex: 0, parties: [0, 1], threshold: 2, share: at(shares, 0), message: Buffer.alloc(32) }),
    (e: MpcError) => e.code === 'INVALID_ARGUMENT',
  );
  const short = at(nodes, 0).start({ protocol: 'ecdsa-sign', sessionId: newSessionId(), partyIndex: 0, parties: [0, 1], threshold: 2, share: at(shares, 0), message: Buffer.alloc(31) });
  const shortSnap = await short.next();
  assert.equal(shortSnap.phase, 'failed');
  assert.equal(shortSnap.error?.code, 'INVALID_ARGUMENT');
  const bogus = at(nodes, 0).start({ protocol: 'ecdsa-sign', sessionId: newSessionId(), partyIndex: 0, parties: [0, 1], threshold: 2, share: Buffer.from('nope'), message: Buffer.alloc(32) });
  const snap = await bogus.next();
  assert.equal(snap.phase, 'failed');
  assert.equal(snap.error?.code, 'UNSUPPORTED_SHARE');
});

test('ecdsa: a party without pregenerated primes generates them in its session (no fixture)', async () => {
  const own = await keygen(nodes, 'ecdsa-keygen', [undefined, at(primes, 1), at(primes, 2)]);
  const ownShares = sharesOf(own.results);
  const ownAddress = own.results.get(0)!.address!;
  assert.notEqual(ownAddress, address);
  const digest = Buffer.alloc(32, 5);
  const signed = await sign(nodes, 'ecdsa-sign', ownShares, [0, 2], digest);
  assert.equal(recovered(signed.results.get(0)!, hexlify(digest)), ownAddress);
});

// Last in this file: the prime workers finish the prime they are on in the background.
test('ecdsa: cancelling during prime generation ends the session within a moment', async () => {
  const s = at(nodes, 0).start({ protocol: 'ecdsa-keygen', sessionId: newSessionId(), partyIndex: 0, parties: PARTIES, threshold: 2 });
  for (let k = 0; k < 200 && s.poll().progress.label !== 'generating-primes'; k += 1) await sleep(10);
  assert.equal(s.poll().progress.label, 'generating-primes');
  const t = performance.now();
  s.cancel();
  const snap = await s.next();
  assert.equal(snap.phase, 'failed');
  assert.equal(snap.error?.code, 'CANCELLED');
  assert.ok(performance.now() - t < 2000, 'cancelled within 2 s');
});
