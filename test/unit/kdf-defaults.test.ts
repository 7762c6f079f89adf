/**
 * The product's passphrase KDF settings. Every other test lowers the scrypt cost to stay fast;
 * these assert what a real vault gets when nothing is lowered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveKeyEncryptionKey, deriveSubkey, INTERACTIVE_SCRYPT, isUsableScryptParams, MINIMUM_SCRYPT_N, newScryptParams } from '../../main/crypto/kdf';
import { ManualClock } from '../../main/platform/clock';
import { createServices } from '../../main/services';
import { GOOD_PASSPHRASE } from '../support/services';
import { tempDir } from '../support/temp-dir';

describe('scrypt defaults', () => {
  it('interactive cost is N = 2^17, r = 8, p = 1 with a floor of N = 2^14', () => {
    assert.deepEqual({ ...INTERACTIVE_SCRYPT }, { N: 2 ** 17, r: 8, p: 1 });
    assert.equal(MINIMUM_SCRYPT_N, 2 ** 14);
    const a = newScryptParams();
    const b = newScryptParams();
    assert.deepEqual({ ...a, saltHex: '' }, { algorithm: 'scrypt', N: 2 ** 17, r: 8, p: 1, saltHex: '' });
    assert.match(a.saltHex, /^[0-9a-f]{32}$/);
    assert.notEqual(a.saltHex, b.saltHex, 'each vault gets a fresh 16-byte salt');
  });

  it('a vault created without a cost override stores and reports the interactive parameters', async () => {
    const dir = tempDir();
    const services = createServices({ dataDir: dir.path, clock: new ManualClock(), idleCheckIntervalMs: 0 });
    try {
      await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      const stored = JSON.parse((services.db.prepare('SELECT kdf_params FROM vault_meta').get() as { kdf_params: string }).kdf_params) as Record<string, unknown>;
      assert.deepEqual({ ...stored, saltHex: '' }, { algorithm: 'scrypt', N: 2 ** 17, r: 8, p: 1, saltHex: '' });
      const created = services.audit.list({ type: 'VAULT_CREATED' }).entries[0];
      assert.deepEqual(created?.details.kdf, { algorithm: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
      assert.deepEqual(services.vault.passphraseChangeParameters(), { newKdf: { algorithm: 'scrypt', N: 2 ** 17, r: 8, p: 1 } });
      await services.vault.lock();
      await services.vault.unlock(GOOD_PASSPHRASE);
      assert.equal(services.vault.status().state, 'unlocked');
    } finally {
      await services.close();
      dir.cleanup();
    }
  });

  it('refuses stored parameters below the floor or outside the bounds', () => {
    const good = { algorithm: 'scrypt', N: 2 ** 14, r: 8, p: 1, saltHex: '00'.repeat(16) };
    assert.equal(isUsableScryptParams(good), true);
    assert.equal(isUsableScryptParams({ ...good, N: 2 ** 22 }), true);
    for (const bad of [
      { ...good, N: 2 ** 13 },
      { ...good, N: 2 ** 23 },
      { ...good, N: 3 * 2 ** 14 },
      { ...good, r: 0 },
      { ...good, r: 33 },
      { ...good, p: 0 },
      { ...good, p: 17 },
      { ...good, saltHex: '00'.repeat(15) },
      { ...good, saltHex: 'zz'.repeat(16) },
      { ...good, algorithm: 'pbkdf2' },
      { ...good, N: '16384' },
      null,
      'scrypt',
    ]) {
      assert.equal(isUsableScryptParams(bad), false, JSON.stringify(bad));
    }
  });

  it('derives the RFC 7914 test vector (first 32 bytes) and distinct HKDF subkeys', async () => {
    const key = await deriveKeyEncryptionKey('pleaseletmein', { algorithm: 'scrypt', N: 16384, r: 8, p: 1, saltHex: Buffer.from('SodiumChloride').toString('hex') });
    assert.equal(key.toString('hex'), '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2');
    const master = Buffer.alloc(32, 7);
    assert.equal(deriveSubkey(master, 'records/a').length, 32);
    assert.notDeepEqual(deriveSubkey(master, 'records/a'), deriveSubkey(master, 'records/b'));
    assert.deepEqual(deriveSubkey(master, 'records/a'), deriveSubkey(Buffer.alloc(32, 7), 'records/a'));
  });
});
