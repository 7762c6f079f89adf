import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { MpcError } from '../../main/mpc/index';
import { PARTIES, at, QUORUMS, corruptPayload, flipByte, keygen, makeNodes, newSessionId, refresh, sharesOf, sign, expectMpcError } from './helpers';

const nodes = makeNodes();

test('eddsa: 2-of-3 keygen, every quorum signs plain Ed25519', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const publicKey = results.get(0)!.publicKey!;
  for (const p of PARTIES) {
    assert.deepEqual(results.get(p)!.publicKey, publicKey);
    assert.equal(results.get(p)!.address, results.get(0)!.address);
    assert.equal(at(nodes, p).shareInfo(results.get(p)!.share!).address, results.get(0)!.address);
  }
  const shares = sharesOf(results);
  const message = Buffer.from('transfer 1 SOL');
  for (const quorum of QUORUMS) {
    const signed = await sign(nodes, 'eddsa-sign', shares, quorum, message);
    for (const p of quorum) {
      const sig = signed.results.get(p)!.signature!;
      assert.equal(sig.length, 64);
      assert.ok(ed25519.verify(sig, message, publicKey), `quorum ${quorum} signature verifies`);
    }
  }
});

test('eddsa: property — any quorum signs any message', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  const publicKey = results.get(0)!.publicKey!;
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 256 }), fc.integer({ min: 0, max: 2 }), async (msg, q) => {
      const message = Buffer.from(msg);
      const signed = await sign(nodes, 'eddsa-sign', shares, at(QUORUMS, q), message);
      const sig = signed.results.get(at(at(QUORUMS, q), 0))!.signature!;
      return ed25519.verify(sig, message, publicKey);
    }),
    { numRuns: 150 },
  );
});

test('eddsa: a message altered in transit is refused in every round, naming the sender', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  for (const round of [1, 2]) {
    await expectMpcError(
      keygen(nodes, 'eddsa-keygen', undefined, { intercept: (from, _to, b, r) => (r === round && from === 1 ? flipByte(b) : b) }),
      'TAMPERED_MESSAGE',
      1,
    );
    await expectMpcError(
      sign(nodes, 'eddsa-sign', shares, [0, 2], Buffer.from('x'), {
        intercept: (from, _to, b, r) => (r === round && from === 2 ? flipByte(b) : b),
      }),
      'TAMPERED_MESSAGE',
      2,
    );
  }
});

test('eddsa: a malicious sender with a valid envelope is caught by the protocol', async () => {
  // Round 2 of the DKG carries the secret share; FROST checks it against the sender's commitment.
  await expectMpcError(
    keygen(nodes, 'eddsa-keygen', undefined, { intercept: (from, _to, b, r) => (r === 2 && from === 1 ? corruptPayload(b, 3) : b) }),
    'PROTOCOL_ABORT',
    1,
  );
  const { results } = await keygen(nodes, 'eddsa-keygen');
  await expectMpcError(
    sign(nodes, 'eddsa-sign', sharesOf(results), [1, 2], Buffer.from('x'), {
      intercept: (from, _to, b, r) => (r === 2 && from === 2 ? corruptPayload(b, 3) : b),
    }),
    'PROTOCOL_ABORT',
    2,
  );
});

test('eddsa: messages from another session, replays and wrong senders are refused', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  const message = Buffer.from('m');
  const pair = () => {
    const sessionId = newSessionId();
    return [0, 1].map((p) => at(nodes, p).start({ protocol: 'eddsa-sign', sessionId, partyIndex: p, parties: [0, 1], threshold: 2, share: at(shares, p), message }));
  };
  const a = pair();
  const b = pair();
  const fromB = at((await at(b, 1).next()).outgoing, 0).bytes;
  assert.throws(() => at(a, 0).feed(1, fromB), (e: MpcError) => e.code === 'WRONG_SESSION' && e.party === 1);

  const c = pair();
  const first = at((await at(c, 1).next()).outgoing, 0).bytes;
  at(c, 0).feed(1, first);
  assert.throws(() => at(c, 0).feed(1, first), (e: MpcError) => e.code === 'REPLAYED_MESSAGE' && e.party === 1);

  const d = pair();
  const fromOne = at((await at(d, 1).next()).outgoing, 0).bytes;
  assert.throws(() => at(d, 0).feed(2, fromOne), (e: MpcError) => e.code === 'WRONG_SENDER' && e.party === 2);

  const e = pair();
  assert.throws(() => at(e, 0).feed(1, Buffer.from('garbage')), (err: MpcError) => err.code === 'MALFORMED_MESSAGE' && err.party === 1);
  for (const s of [...a, ...b, ...c, ...d, ...e]) s.cancel();
});

test('eddsa: refresh changes every share, keeps the key; old and new shares do not mix', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const old = sharesOf(results);
  const publicKey = results.get(0)!.publicKey!;
  const refreshed = await refresh(nodes, 'eddsa-refresh', old);
  const fresh = sharesOf(refreshed.results);
  for (const p of PARTIES) {
    assert.deepEqual(refreshed.results.get(p)!.publicKey, publicKey);
    assert.notDeepEqual(at(nodes, p).shareInfo(at(fresh, p)).publicShare, at(nodes, p).shareInfo(at(old, p)).publicShare);
  }
  const message = Buffer.from('after refresh');
  for (const quorum of QUORUMS) {
    const signed = await sign(nodes, 'eddsa-sign', fresh, quorum, message);
    assert.ok(ed25519.verify(signed.results.get(at(quorum, 0))!.signature!, message, publicKey));
  }
  const mixed = [at(old, 0), at(fresh, 1), at(fresh, 2)];
  await expectMpcError(sign(nodes, 'eddsa-sign', mixed, [0, 1], message), 'PROTOCOL_ABORT');
});

test('eddsa: detach/attach round trip and mismatch rejection', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  const d0 = at(nodes, 0).detachShare(at(shares, 0));
  const d1 = at(nodes, 1).detachShare(at(shares, 1));
  assert.equal(at(nodes, 0).shareInfo(d0.publicPart).address, results.get(0)!.address);
  const back = at(nodes, 0).attachShare(d0.publicPart, d0.privatePart);
  const signed = await sign(nodes, 'eddsa-sign', [back, at(shares, 1), at(shares, 2)], [0, 1], Buffer.from('backup ok'));
  assert.ok(ed25519.verify(signed.results.get(0)!.signature!, Buffer.from('backup ok'), results.get(0)!.publicKey!));
  assert.throws(() => at(nodes, 0).attachShare(d0.publicPart, d1.privatePart), (e: MpcError) => e.code === 'SHARE_MISMATCH');
  assert.throws(() => at(nodes, 0).attachShare(d0.privatePart, d0.publicPart), (e: MpcError) => e.code === 'UNSUPPORTED_SHARE');
});

test('eddsa: messages that arrive ahead of their round wait for it', async () => {
  const slow = { delay: (from: number, to: number, r: number) => r === 1 && from === 2 && to === 0 };
  const { results } = await keygen(nodes, 'eddsa-keygen', undefined, slow);
  const shares = sharesOf(results);
  const refreshed = await refresh(nodes, 'eddsa-refresh', shares, undefined, slow);
  const message = Buffer.from('late but fine');
  const signed = await sign(nodes, 'eddsa-sign', sharesOf(refreshed.results), [0, 2], message, {
    delay: (from, _to, r) => r === 1 && from === 2,
  });
  assert.ok(ed25519.verify(signed.results.get(0)!.signature!, message, results.get(0)!.publicKey!));
});

test('eddsa: a cancelled session ends with CANCELLED and refuses further messages', async () => {
  const sessionId = newSessionId();
  const s = at(nodes, 0).start({ protocol: 'eddsa-keygen', sessionId, partyIndex: 0, parties: PARTIES, threshold: 2 });
  const first = await s.next();
  assert.equal(first.phase, 'awaiting-messages');
  assert.equal(first.outgoing.length, 1);
  s.cancel();
  const after = await s.next();
  assert.equal(after.phase, 'failed');
  assert.equal(after.error?.code, 'CANCELLED');
  assert.throws(() => s.feed(1, at(first.outgoing, 0).bytes), (e: MpcError) => e.code === 'SESSION_FINISHED');
  assert.throws(
    () => at(nodes, 0).start({ protocol: 'eddsa-keygen', sessionId, partyIndex: 0, parties: PARTIES, threshold: 2 }),
    (e: MpcError) => e.code === 'INVALID_ARGUMENT',
  );
});
