/**
 * Known answers and exact layouts for the at-rest primitives, checked against independent
 * implementations (@noble/hashes for HKDF and scrypt, node:crypto's cipher called directly for
 * AES-GCM), so a change to a label, a byte offset or a parameter is caught, not only a round trip.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hkdf } from '@noble/hashes/hkdf.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { associatedData, EnvelopeOpenError, IV_BYTES, KEY_BYTES, open, pack, seal, TAG_BYTES, unpack } from '../../main/crypto/envelope';
import { deriveKeyEncryptionKey, deriveSubkey, isUsableScryptParams, newScryptParams } from '../../main/crypto/kdf';

const key = Buffer.alloc(32, 0x42);

describe('envelope layout', () => {
  it('uses 32-byte keys, 12-byte IVs and 16-byte tags', () => {
    assert.deepEqual([KEY_BYTES, IV_BYTES, TAG_BYTES], [32, 12, 16]);
  });

  it('is standard AES-256-GCM: a box sealed here is the ciphertext node:crypto makes with the same IV and AAD', () => {
    const aad = associatedData('record', 'x', 'y', 1, 'node');
    const box = seal(key, Buffer.from('hello'), aad);
    const cipher = createCipheriv('aes-256-gcm', key, box.iv, { authTagLength: 16 });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update('hello'), cipher.final()]);
    assert.deepEqual(box.ciphertext, ciphertext);
    assert.deepEqual(box.tag, cipher.getAuthTag());
  });

  it('packs as version 1 ‖ iv ‖ tag ‖ ciphertext and unpacks only that version', () => {
    const box = seal(key, Buffer.from('payload'), Buffer.from('aad'));
    const packed = pack(box);
    assert.equal(packed[0], 1);
    assert.deepEqual(packed.subarray(1, 13), box.iv);
    assert.deepEqual(packed.subarray(13, 29), box.tag);
    assert.deepEqual(packed.subarray(29), box.ciphertext);
    assert.deepEqual(unpack(packed), box);
    const otherVersion = Buffer.from(packed);
    otherVersion[0] = 2;
    assert.throws(() => unpack(otherVersion), EnvelopeOpenError);
    // The shortest valid packing (empty plaintext) is 29 bytes; 28 is refused.
    const empty = pack(seal(key, Buffer.alloc(0), Buffer.from('aad')));
    assert.equal(empty.length, 29);
    assert.deepEqual(open(key, unpack(empty), Buffer.from('aad')), Buffer.alloc(0));
    assert.throws(() => unpack(empty.subarray(0, 28)), EnvelopeOpenError);
  });

  it('refuses an IV or tag of the wrong length before decrypting, and a key of the wrong length to open', () => {
    const box = seal(key, Buffer.from('payload'), Buffer.from('aad'));
    assert.throws(() => open(key, { ...box, iv: Buffer.concat([box.iv, Buffer.alloc(4)]) }, Buffer.from('aad')), EnvelopeOpenError);
    assert.throws(() => open(key, { ...box, tag: Buffer.concat([box.tag, Buffer.alloc(1)]) }, Buffer.from('aad')), EnvelopeOpenError);
    // A genuine tag cut short is the truncation attack (a 4-byte tag is forged in 2^32 tries).
    assert.throws(() => open(key, { ...box, tag: box.tag.subarray(0, 12) }, Buffer.from('aad')), EnvelopeOpenError);
    assert.throws(() => open(key, { ...box, tag: box.tag.subarray(0, 4) }, Buffer.from('aad')), EnvelopeOpenError);
    assert.throws(() => open(Buffer.alloc(31), box, Buffer.from('aad')), /envelope key must be 32 bytes/);
    assert.throws(() => seal(Buffer.alloc(33), Buffer.from('x'), Buffer.from('aad')), /envelope key must be 32 bytes/);
  });

  it('associated data is the JSON array ["vaultkeeper", …fields]', () => {
    assert.equal(associatedData('record', 'node-identity', 'self', 1, 'abc').toString('utf8'), '["vaultkeeper","record","node-identity","self",1,"abc"]');
    // A number and its string are different fields.
    assert.notDeepEqual(associatedData('record', 1), associatedData('record', '1'));
  });
});

describe('key derivation known answers', () => {
  it('subkeys are HKDF-SHA256(master, salt = empty, info = "vaultkeeper/<purpose>/v1"), 32 bytes', () => {
    const master = randomBytes(32);
    const expected = Buffer.from(hkdf(sha256, master, new Uint8Array(0), Buffer.from('vaultkeeper/records/node-identity/v1'), 32));
    assert.deepEqual(deriveSubkey(master, 'records/node-identity'), expected);
  });

  it('the key-encryption key is scrypt(NFKC(passphrase), salt, N, r, p) with 32 bytes of output', async () => {
    const params = { ...newScryptParams({ N: 2 ** 14, r: 8, p: 2 }) };
    assert.deepEqual({ N: params.N, r: params.r, p: params.p }, { N: 2 ** 14, r: 8, p: 2 });
    const passphrase = 'ﬁne ligature passphrase';
    const expected = Buffer.from(scrypt(passphrase.normalize('NFKC'), Buffer.from(params.saltHex, 'hex'), { N: 2 ** 14, r: 8, p: 2, dkLen: 32 }));
    assert.deepEqual(await deriveKeyEncryptionKey(passphrase, params), expected);
    // The composed and decomposed forms of one passphrase give one key.
    assert.deepEqual(await deriveKeyEncryptionKey('cafe\u0301 orbit', params), await deriveKeyEncryptionKey('café orbit', params));
  });

  it('accepts stored parameters at the edges of the allowed range', () => {
    const edge = { algorithm: 'scrypt', N: 2 ** 14, r: 1, p: 1, saltHex: '0'.repeat(32) };
    for (const ok of [edge, { ...edge, r: 32 }, { ...edge, p: 16 }, { ...edge, saltHex: 'a'.repeat(128) }]) assert.equal(isUsableScryptParams(ok), true, JSON.stringify(ok));
    for (const bad of [{ ...edge, saltHex: 'a'.repeat(130) }, { ...edge, r: '8' }, { ...edge, p: '1' }, { ...edge, saltHex: 7 }, { ...edge, saltHex: ['0'.repeat(32)] }, undefined, 42]) {
      assert.equal(isUsableScryptParams(bad), false, JSON.stringify(bad));
    }
  });

  it('reports a failing scrypt call as an error, never as a missing key', async () => {
    // N must be a power of two: node:crypto refuses 3 (before the job is queued), and the refusal
    // must reach the caller as a rejected promise.
    const params = { algorithm: 'scrypt' as const, N: 3, r: 1, p: 1, saltHex: '00'.repeat(16) };
    await assert.rejects(deriveKeyEncryptionKey('orbit', params), /N|scrypt|parameter/i);
  });

  it('allows scrypt the memory the largest r needs at the floor N (128·N·r bytes plus its buffers)', async () => {
    const params = { algorithm: 'scrypt' as const, N: 2 ** 14, r: 16, p: 1, saltHex: '00'.repeat(16) };
    const expected = Buffer.from(scrypt('orbit', Buffer.alloc(16), { N: 2 ** 14, r: 16, p: 1, dkLen: 32, maxmem: 2 ** 30 }));
    assert.deepEqual(await deriveKeyEncryptionKey('orbit', params), expected);
  });
});
