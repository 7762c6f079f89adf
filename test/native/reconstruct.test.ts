/**
 * Emergency-exit reconstruction in the addon: two shares of different parties rebuild the full
 * key (frost-core keys::reconstruct), and nothing is returned unless its public key is the group
 * key. ECDSA keygen and refresh reuse the test prime fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Wallet } from 'ethers';
import { PARTIES, QUORUMS, at, keygen, makeNodes, refresh, sharesOf, testPrimes } from './helpers';
import { MpcError } from '../../main/mpc/index';

const nodes = makeNodes();
const signer = at(nodes, 0);

function refusedWith(f: () => unknown, code: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof MpcError && e.code === code && message.test(e.message));
}

test('eddsa: every pair of shares rebuilds the key; the scalar signs plain Ed25519 for the group key', async () => {
  const { results } = await keygen(nodes, 'eddsa-keygen');
  const shares = sharesOf(results);
  const publicKey = results.get(0)!.publicKey!;
  for (const quorum of QUORUMS) {
    const key = signer.reconstructSecretKey(quorum.map((p) => at(shares, p)));
    assert.equal(key.engine, 'frost-ed25519');
    assert.deepEqual(key.publicKey, publicKey);
    assert.equal(key.address, results.get(0)!.address);
    const message = Buffer.from(`exit with quorum ${quorum.join('+')}`);
    const signature = signer.signWithEd25519Scalar(key.secretKey, publicKey, message);
    assert.ok(ed25519.verify(signature, message, publicKey));
    // A scalar is refused for another public key.
    refusedWith(() => signer.signWithEd25519Scalar(key.secretKey, Buffer.from(ed25519.getPublicKey(ed25519.utils.randomSecretKey())), message), 'SHARE_MISMATCH', /does not belong/);
    key.secretKey.fill(0);
  }
  // Every party's current public share, by index, as each share reports its own.
  const all = signer.groupPublicShares(at(shares, 1));
  assert.deepEqual(all, PARTIES.map((p) => signer.shareInfo(at(shares, p)).publicShare));
});

test('eddsa: one share, the same party twice, or shares of two keys are refused', async () => {
  const first = sharesOf((await keygen(nodes, 'eddsa-keygen')).results);
  const second = sharesOf((await keygen(nodes, 'eddsa-keygen')).results);
  refusedWith(() => signer.reconstructSecretKey([at(first, 0)]), 'SHARE_MISMATCH', /fewer shares than the keyset's threshold/);
  refusedWith(() => signer.reconstructSecretKey([at(first, 1), at(first, 1)]), 'SHARE_MISMATCH', /same party/);
  refusedWith(() => signer.reconstructSecretKey([at(first, 0), at(second, 1)]), 'SHARE_MISMATCH', /different keys/);
  refusedWith(() => signer.reconstructSecretKey([]), 'INVALID_ARGUMENT', /no shares/);
});

test('eddsa: a share from before a refresh mixed with a current one rebuilds another key and is refused', async () => {
  const old = sharesOf((await keygen(nodes, 'eddsa-keygen')).results);
  const fresh = sharesOf((await refresh(nodes, 'eddsa-refresh', old)).results);
  refusedWith(() => signer.reconstructSecretKey([at(old, 0), at(fresh, 1)]), 'SHARE_MISMATCH', /does not have the keyset's public key/);
  // Two old shares still rebuild the key: refusing dead backups is the caller's epoch check.
  assert.ok(signer.reconstructSecretKey([at(old, 0), at(old, 1)]).publicKey.length === 32);
  assert.notDeepEqual(signer.groupPublicShares(at(fresh, 0)), signer.groupPublicShares(at(old, 0)));
});

test('ecdsa: a pair of cggmp24 shares rebuilds an Ethereum private key of the keyset address', async () => {
  const primes = await testPrimes(nodes);
  const { results } = await keygen(nodes, 'ecdsa-keygen', primes);
  const shares = sharesOf(results);
  const address = results.get(0)!.address!;
  for (const quorum of [[0, 2], [1, 2]]) {
    const key = signer.reconstructSecretKey(quorum.map((p) => at(shares, p)));
    assert.equal(key.engine, 'cggmp24-secp256k1');
    assert.equal(key.secretKey.length, 32);
    assert.equal(new Wallet(`0x${key.secretKey.toString('hex')}`).address, address);
    key.secretKey.fill(0);
  }
  refusedWith(() => signer.reconstructSecretKey([at(shares, 2), at(shares, 2)]), 'SHARE_MISMATCH', /same party/);
  // After a refresh, an old share and a new one interpolate to another key: refused.
  const rotated = PARTIES.map((p) => at(primes, (p + 1) % PARTIES.length));
  const fresh = sharesOf((await refresh(nodes, 'ecdsa-refresh', shares, rotated)).results);
  refusedWith(() => signer.reconstructSecretKey([at(shares, 0), at(fresh, 1)]), 'SHARE_MISMATCH', /does not have the keyset's public key/);
  assert.deepEqual(signer.groupPublicShares(at(shares, 0)), PARTIES.map((p) => signer.shareInfo(at(shares, p)).publicShare));
});
