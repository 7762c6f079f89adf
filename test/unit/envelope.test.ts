import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { associatedData, EnvelopeOpenError, open, pack, seal, unpack } from '../../main/crypto/envelope';
import { deriveSubkey } from '../../main/crypto/kdf';

const key = randomBytes(32);
const aad = associatedData('record', 'node-identity', 'self', 1, 'node-a');
const plaintext = Buffer.from('share bytes that must stay secret');

describe('AES-256-GCM envelope', () => {
  it('round-trips with a fresh 12-byte IV and 16-byte tag each time', () => {
    const a = seal(key, plaintext, aad);
    const b = seal(key, plaintext, aad);
    assert.equal(a.iv.length, 12);
    assert.equal(a.tag.length, 16);
    assert.notDeepEqual(a.iv, b.iv);
    assert.notDeepEqual(a.ciphertext, b.ciphertext);
    assert.deepEqual(open(key, a, aad), plaintext);
    assert.deepEqual(open(key, unpack(pack(a)), aad), plaintext);
  });

  it('refuses the wrong key', () => {
    assert.throws(() => open(randomBytes(32), seal(key, plaintext, aad), aad), EnvelopeOpenError);
  });

  it('refuses associated data of another row, record type, schema version or node', () => {
    const box = seal(key, plaintext, aad);
    for (const other of [
      associatedData('record', 'node-identity', 'other', 1, 'node-a'),
      associatedData('record', 'mpc-share', 'self', 1, 'node-a'),
      associatedData('record', 'node-identity', 'self', 2, 'node-a'),
      associatedData('record', 'node-identity', 'self', 1, 'node-b'),
    ]) {
      assert.throws(() => open(key, box, other), EnvelopeOpenError);
    }
  });

  it('refuses truncated ciphertext, a tampered tag and a tampered IV', () => {
    const box = seal(key, plaintext, aad);
    assert.throws(() => open(key, { ...box, ciphertext: box.ciphertext.subarray(0, box.ciphertext.length - 1) }, aad), EnvelopeOpenError);
    const tag = Buffer.from(box.tag);
    tag[0]! ^= 1;
    assert.throws(() => open(key, { ...box, tag }, aad), EnvelopeOpenError);
    assert.throws(() => open(key, { ...box, tag: box.tag.subarray(0, 12) }, aad), EnvelopeOpenError);
    const iv = Buffer.from(box.iv);
    iv[11]! ^= 0x80;
    assert.throws(() => open(key, { ...box, iv }, aad), EnvelopeOpenError);
    assert.throws(() => unpack(pack(box).subarray(0, 20)), EnvelopeOpenError);
  });

  it('rejects keys of the wrong length instead of padding them', () => {
    assert.throws(() => seal(randomBytes(16), plaintext, aad), RangeError);
  });

  it('derives distinct subkeys per purpose', () => {
    const master = randomBytes(32);
    const a = deriveSubkey(master, 'records/node-identity');
    const b = deriveSubkey(master, 'records/mpc-share');
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b);
    assert.deepEqual(a, deriveSubkey(master, 'records/node-identity'));
  });
});
