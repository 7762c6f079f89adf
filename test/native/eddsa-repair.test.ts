/**
 * EdDSA share repair (FROST repairable threshold scheme): two helpers rebuild the lost party's
 * share at its index; the group key stays, the repaired share signs with either helper, and the
 * repaired party accepts nothing that does not match the public share it expects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { runLocal, type MpcSigner } from '../../main/mpc/index';
import { at, corruptPayload, expectMpcError, keygen, makeNodes, newSessionId, sharesOf, sign } from './helpers';

const nodes = makeNodes();
const fresh = makeNodes();

function repair(shares: Buffer[], lost: number, expected: { publicKey: Buffer; publicShare: Buffer }, options?: Parameters<typeof runLocal>[1]) {
  const sessionId = newSessionId();
  const parties = [0, 1, 2];
  const sessions = parties.map((p) =>
    p === lost
      ? at(fresh, p).start({ protocol: 'eddsa-repair', sessionId, partyIndex: p, parties, threshold: 2, repairFor: lost, expectedPublicKey: expected.publicKey, expectedPublicShare: expected.publicShare })
      : at(nodes, p).start({ protocol: 'eddsa-repair', sessionId, partyIndex: p, parties, threshold: 2, repairFor: lost, share: at(shares, p) }),
  );
  return runLocal(sessions, options);
}

test('eddsa-repair: two helpers rebuild a lost share; same group key, it signs with either helper', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  const publicKey = results.get(0)!.publicKey!;
  const lost = 2;
  const publicShare = at(nodes, 0).groupPublicShares(at(shares, 0))[lost]!;
  assert.deepEqual(publicShare, at(nodes, lost).shareInfo(at(shares, lost)).publicShare);
  const repaired = await repair(shares, lost, { publicKey, publicShare });
  const share = repaired.results.get(lost)!.share!;
  const info = at(fresh, lost).shareInfo(share);
  assert.deepEqual(info.publicKey, publicKey);
  assert.deepEqual(info.publicShare, publicShare);
  assert.equal(info.partyIndex, lost);
  // Helpers get no share, only the public key.
  assert.equal(repaired.results.get(0)!.share, undefined);
  assert.deepEqual(repaired.results.get(1)!.publicKey, publicKey);
  const withRepaired = [at(shares, 0), at(shares, 1), share];
  const message = Buffer.from('after the repair');
  for (const quorum of [[0, 2], [1, 2]]) {
    const signed = await sign(nodes, 'eddsa-sign', withRepaired, quorum, message);
    assert.ok(ed25519.verify(signed.results.get(quorum[0]!)!.signature!, message, publicKey), `quorum ${quorum} verifies`);
  }
});

test('eddsa-repair: a tampered sigma, a wrong expected share or key, or a helper without its share are refused', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  const publicKey = results.get(0)!.publicKey!;
  const publicShare = at(nodes, 0).groupPublicShares(at(shares, 0))[2]!;
  // An authenticated helper sending a wrong sigma (a byte of the scalar, the envelope checksum
  // fixed): the repaired share does not match its public share.
  await expectMpcError(repair(shares, 2, { publicKey, publicShare }, { intercept: (from, to, b, r) => (r === 2 && from === 1 && to === 2 ? corruptPayload(b, b.length - 16 - 48 - 14) : b) }), 'SHARE_MISMATCH');
  // A delta altered between helpers: the same.
  await expectMpcError(repair(shares, 2, { publicKey, publicShare }, { intercept: (from, to, b, r) => (r === 1 && from === 0 && to === 1 ? corruptPayload(b, 20) : b) }), 'SHARE_MISMATCH');
  const other = at(nodes, 0).groupPublicShares(at(shares, 0))[1]!;
  await expectMpcError(repair(shares, 2, { publicKey, publicShare: other }), 'SHARE_MISMATCH');
  await expectMpcError(repair(shares, 2, { publicKey: Buffer.alloc(32, 7), publicShare }), 'SHARE_MISMATCH');
  const refused = async (handle: ReturnType<MpcSigner['start']>, text: RegExp) => {
    const snap = await handle.next();
    assert.equal(snap.phase, 'failed');
    assert.equal(snap.error?.code, 'INVALID_ARGUMENT');
    assert.match(snap.error?.message ?? '', text);
  };
  await refused(at(nodes, 0).start({ protocol: 'eddsa-repair', sessionId: newSessionId(), partyIndex: 0, parties: [0, 1, 2], threshold: 2, repairFor: 2 }), /key share/);
  await refused(at(fresh, 2).start({ protocol: 'eddsa-repair', sessionId: newSessionId(), partyIndex: 2, parties: [0, 2], threshold: 2, repairFor: 2, expectedPublicKey: publicKey, expectedPublicShare: publicShare }), /threshold helpers/);
  // The receiver without the values it must check against takes no share at all.
  await refused(at(fresh, 2).start({ protocol: 'eddsa-repair', sessionId: newSessionId(), partyIndex: 2, parties: [0, 1, 2], threshold: 2, repairFor: 2 }), /group public key/);
});
