import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signature, Transaction, getBytes, hexlify, parseEther, parseUnits, type TransactionLike } from 'ethers';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { MpcError, MpcSigner, runLocal, type LocalRunOptions } from '../../main/mpc/index';
import { QUORUMS, at, flipByte, keygen, makeNodes, newSessionId, sharesOf, testPrimes } from './helpers';

// One ECDSA keygen for the whole file (≈13 s); every test below presigns with its shares.
const nodes = makeNodes();
const primes = await testPrimes(nodes);
const keyed = await keygen(nodes, 'ecdsa-keygen', primes);
const shares = sharesOf(keyed.results);
const address = keyed.results.get(0)!.address!;
const publicKey = keyed.results.get(0)!.publicKey!;

async function presign(quorum: number[], options?: LocalRunOptions) {
  const sessionId = newSessionId();
  const sessions = quorum.map((p) =>
    at(nodes, p).start({ protocol: 'ecdsa-presign', sessionId, partyIndex: p, parties: quorum, threshold: 2, share: at(shares, p) }),
  );
  const run = await runLocal(sessions, options);
  const of = (p: number) => {
    const r = run.results.get(p);
    if (!r?.presignature || !r.presignaturePublic || !r.presignatureId) throw new Error(`party ${p} has no presignature`);
    return { presignature: r.presignature, publicData: r.presignaturePublic, id: r.presignatureId, result: r };
  };
  return { of, run };
}

function transfer(nonce: number): TransactionLike {
  return {
    type: 2,
    chainId: 1n,
    nonce,
    to: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    value: parseEther('1.25'),
    gasLimit: 21_000n,
    maxFeePerGas: parseUnits('30', 'gwei'),
    maxPriorityFeePerGas: parseUnits('1.5', 'gwei'),
    data: '0x',
  };
}

/** The EIP-1559 signing payload (type byte + RLP): what the console always has before signing. */
function preimageOf(fields: TransactionLike): Buffer {
  return Buffer.from(getBytes(Transaction.from(fields).unsignedSerialized));
}

function expectMpcError(run: () => unknown, code: string, party?: number): MpcError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MpcError, `expected MpcError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (party !== undefined) assert.equal(caught.party, party, caught.message);
  return caught;
}

test('ecdsa-presign: each quorum presigns, then signs an EIP-1559 transaction offline; ethers recovers the keyset address', async () => {
  for (const [k, quorum] of QUORUMS.entries()) {
    const { of } = await presign(quorum);
    const [a, b] = quorum.map(of);
    assert.ok(a && b);
    // Public data, id and quorum are the same at both parties; the secret parts differ.
    assert.deepEqual(a.publicData, b.publicData);
    assert.deepEqual(a.id, b.id);
    assert.equal(a.id.length, 32);
    assert.notDeepEqual(a.presignature, b.presignature);
    assert.deepEqual(a.result.parties, quorum);
    assert.deepEqual(a.result.publicKey, publicKey);
    assert.equal(a.result.address, address);
    const info = at(nodes, at(quorum, 0)).presignatureInfo(a.presignature);
    assert.equal(info.kind, 'presignature');
    assert.equal(info.partyIndex, at(quorum, 0));
    assert.deepEqual(info.id, a.id);
    assert.equal(at(nodes, 0).presignatureInfo(a.publicData).kind, 'public-data');

    const fields = transfer(k);
    const preimage = preimageOf(fields);
    const partials = quorum.map((p) => at(nodes, p).issuePartialSignature(of(p).presignature, at(shares, p), preimage));
    // Any holder of the public data can combine, in any order of partials.
    const combined = at(nodes, at(quorum, 1)).combinePartialSignatures([...partials].reverse(), preimage, a.publicData);
    assert.equal(combined.address, address);
    assert.equal(hexlify(combined.digest), Transaction.from(fields).unsignedHash);
    assert.ok(BigInt(hexlify(combined.signature.subarray(32))) <= secp256k1.Point.Fn.ORDER / 2n, 'low-s');
    const signature = Signature.from({
      r: hexlify(combined.signature.subarray(0, 32)),
      s: hexlify(combined.signature.subarray(32, 64)),
      yParity: combined.recoveryId === 1 ? 1 : 0,
    });
    const signed = Transaction.from({ ...fields, signature });
    assert.equal(signed.from, address, `quorum ${quorum}`);
    // The broadcastable bytes parse back to the same sender.
    assert.equal(Transaction.from(signed.serialized).from, address);
    assert.ok(secp256k1.verify(combined.signature, combined.digest, publicKey, { prehash: false, lowS: true }));
  }
});

test('ecdsa-presign: a presignature issues one partial signature only', async () => {
  const { of } = await presign([0, 1]);
  const first = preimageOf(transfer(10));
  const second = preimageOf({ ...transfer(10), value: parseEther('99') });
  const p0 = of(0).presignature;
  assert.equal(at(nodes, 0).presignatureUsed(p0), false);
  at(nodes, 0).issuePartialSignature(p0, at(shares, 0), first);
  assert.equal(at(nodes, 0).presignatureUsed(p0), true);
  // Same signer, another message: refused before the addon is asked.
  expectMpcError(() => at(nodes, 0).issuePartialSignature(p0, at(shares, 0), second), 'PRESIGNATURE_USED', 0);
  // The same message again is refused too (single use means single use).
  expectMpcError(() => at(nodes, 0).issuePartialSignature(p0, undefined, first), 'PRESIGNATURE_USED', 0);
  // A second signer object in the same process: the addon itself refuses the reuse.
  const other = new MpcSigner();
  expectMpcError(() => other.issuePartialSignature(p0, undefined, second), 'PRESIGNATURE_USED', 0);
  // A copy of the blob is the same presignature.
  expectMpcError(() => other.issuePartialSignature(Buffer.from(p0), undefined, second), 'PRESIGNATURE_USED', 0);
});

test('ecdsa-presign: tampered presignature, bad partial, other quorum or party are typed errors', async () => {
  const preimage = preimageOf(transfer(20));
  const q01 = await presign([0, 1]);
  const q02 = await presign([0, 2]);

  // A corrupted presignature blob is refused before it signs anything (and is not consumed).
  const tampered = flipByte(q01.of(1).presignature);
  expectMpcError(() => at(nodes, 1).issuePartialSignature(tampered, at(shares, 1), preimage), 'MALFORMED_PRESIGNATURE');
  // Public data is not a presignature.
  expectMpcError(() => at(nodes, 1).issuePartialSignature(q01.of(1).publicData, at(shares, 1), preimage), 'MALFORMED_PRESIGNATURE');
  // Another party's share: the presignature is party 1's.
  expectMpcError(() => at(nodes, 1).issuePartialSignature(q01.of(1).presignature, at(shares, 2), preimage), 'PRESIGNATURE_MISMATCH');
  assert.equal(at(nodes, 1).presignatureUsed(q01.of(1).presignature), false, 'refused calls do not consume');

  const p0 = at(nodes, 0).issuePartialSignature(q01.of(0).presignature, at(shares, 0), preimage);
  const p1 = at(nodes, 1).issuePartialSignature(q01.of(1).presignature, at(shares, 1), preimage);
  const pub01 = q01.of(0).publicData;

  // A dishonest party's partial (sigma altered): blamed by the engine's check.
  const bad = Buffer.from(p1);
  bad[bad.length - 1] = bad.readUInt8(bad.length - 1) ^ 0x01;
  expectMpcError(() => at(nodes, 0).combinePartialSignatures([p0, bad], preimage, pub01), 'BAD_PARTIAL', 1);
  // A partial over another message: also a bad partial from that party.
  const p2other = at(nodes, 2).issuePartialSignature(q02.of(2).presignature, at(shares, 2), preimageOf(transfer(21)));
  const p0other = at(nodes, 0).issuePartialSignature(q02.of(0).presignature, at(shares, 0), preimage);
  expectMpcError(() => at(nodes, 0).combinePartialSignatures([p0other, p2other], preimage, q02.of(0).publicData), 'BAD_PARTIAL', 2);
  // A partial from a presignature of another quorum: refused, naming its party.
  expectMpcError(() => at(nodes, 0).combinePartialSignatures([p0, p2other], preimage, pub01), 'PRESIGNATURE_MISMATCH', 2);
  // Too few partials, or the same party twice.
  expectMpcError(() => at(nodes, 0).combinePartialSignatures([p0], preimage, pub01), 'INVALID_ARGUMENT');
  expectMpcError(() => at(nodes, 0).combinePartialSignatures([p0, p0], preimage, pub01), 'INVALID_ARGUMENT', 0);
  // Corrupted public data.
  expectMpcError(() => at(nodes, 0).combinePartialSignatures([p0, p1], preimage, flipByte(pub01)), 'MALFORMED_PRESIGNATURE');
  // The honest pair still combines.
  const combined = at(nodes, 0).combinePartialSignatures([p0, p1], preimage, pub01);
  assert.equal(combined.address, address);
});

test('ecdsa-presign: sessions refuse a message, a wrong quorum size and altered messages', async () => {
  const withMessage = at(nodes, 0).start({
    protocol: 'ecdsa-presign',
    sessionId: newSessionId(),
    partyIndex: 0,
    parties: [0, 1],
    threshold: 2,
    share: at(shares, 0),
    message: Buffer.alloc(32, 1),
  });
  const snap = await withMessage.next();
  assert.equal(snap.phase, 'failed');
  assert.equal(snap.error?.code, 'INVALID_ARGUMENT');
  const three = at(nodes, 0).start({ protocol: 'ecdsa-presign', sessionId: newSessionId(), partyIndex: 0, parties: [0, 1, 2], threshold: 2, share: at(shares, 0) });
  const threeSnap = await three.next();
  assert.equal(threeSnap.phase, 'failed');
  assert.equal(threeSnap.error?.code, 'INVALID_ARGUMENT');
  for (const round of [1, 2, 3]) {
    await assert.rejects(
      presign([1, 2], { intercept: (from, _to, b, r) => (r === round && from === 2 ? flipByte(b) : b) }),
      (e: unknown) => e instanceof MpcError && e.code === 'TAMPERED_MESSAGE' && e.party === 2,
    );
  }
});
