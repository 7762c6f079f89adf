/**
 * The vault's small policies on their own: which sealed records may leave this node, the
 * passphrase strength floor (length first, then zxcvbn with the product's own words as context),
 * and the key ring's wipe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { assertRecordExportable, declaredNonExportable, exportableRecords, isRecordExportable } from '../../main/vault/export-policy';
import { KeyRing } from '../../main/vault/key-ring';
import { judgePassphrase, MIN_PASSPHRASE_LENGTH, MIN_PASSPHRASE_SCORE } from '../../main/vault/passphrase-policy';

describe('export policy of sealed records', () => {
  it('keeps presignatures and the rollback counter on this node and lets other records go', () => {
    assert.equal(isRecordExportable('mpc-presignature'), false);
    assert.equal(isRecordExportable('rollback-counter'), false);
    assert.equal(isRecordExportable('node-identity'), true);
    const rows = [{ recordType: 'node-identity' }, { recordType: 'mpc-presignature' }, { recordType: 'mpc-keyshare' }, { recordType: 'rollback-counter' }];
    assert.deepEqual(exportableRecords(rows), [{ recordType: 'node-identity' }, { recordType: 'mpc-keyshare' }]);
  });

  it('refuses to export a single-use record with RECORD_NOT_EXPORTABLE naming its type', () => {
    assert.throws(
      () => assertRecordExportable('mpc-presignature'),
      (error: unknown) => error instanceof AppFailure && error.code === 'RECORD_NOT_EXPORTABLE' && error.message.includes('"mpc-presignature"') && error.details?.recordType === 'mpc-presignature',
    );
    assert.doesNotThrow(() => assertRecordExportable('node-identity'));
  });

  it('a kind agrees with the policy only when it declares backup: false and the policy keeps it here', () => {
    assert.equal(declaredNonExportable({ type: 'mpc-presignature', backup: false }), true);
    assert.equal(declaredNonExportable({ type: 'mpc-presignature' }), false);
    assert.equal(declaredNonExportable({ type: 'mpc-presignature', backup: true }), false);
    assert.equal(declaredNonExportable({ type: 'node-identity', backup: false }), false);
  });
});

describe('passphrase strength floor', () => {
  it('needs 12 characters, whatever their strength', () => {
    assert.equal(MIN_PASSPHRASE_LENGTH, 12);
    const short = judgePassphrase('Zq#8vT!k2xW'); // 11 random characters
    assert.equal(short.acceptable, false);
    assert.match(!short.acceptable ? short.reason : '', /at least 12 characters/);
    assert.deepEqual(judgePassphrase('tq8#Vw2!mZp4'), { acceptable: true }); // exactly 12
  });

  it('accepts zxcvbn score 3 and refuses less, with the estimator\'s hints in the reason', () => {
    assert.equal(MIN_PASSPHRASE_SCORE, 3);
    assert.deepEqual(judgePassphrase('harbor lantern'), { acceptable: true }); // scores exactly 3
    const weak = judgePassphrase('password1234');
    assert.equal(weak.acceptable, false);
    assert.match(!weak.acceptable ? weak.reason : '', /^This passphrase is too easy to guess\. \S.* Four or more unrelated words work well\.$/);
    assert.doesNotMatch(!weak.acceptable ? weak.reason : '', /undefined|null| {2}/);
  });

  it('counts the product\'s name and the caller\'s words as known to an attacker', () => {
    // Strong (score 4) on its own, weak once "vaultkeeper" is a known word.
    assert.equal(judgePassphrase('vaultkeeperorbit').acceptable, false);
    assert.deepEqual(judgePassphrase('alicecustodian9'), { acceptable: true });
    assert.equal(judgePassphrase('alicecustodian9', ['alicecustodian']).acceptable, false);
  });
});

describe('key ring', () => {
  it('derives each purpose once, and wipe zeroizes the master key and every subkey', () => {
    const master = Buffer.alloc(32, 7);
    const ring = new KeyRing(master);
    assert.equal(ring.wiped, false);
    const a = ring.subkey('records');
    assert.equal(ring.subkey('records'), a, 'the same buffer is handed out again');
    assert.notDeepEqual(ring.subkey('audit'), a);
    ring.wipe();
    assert.equal(ring.wiped, true);
    assert.deepEqual(master, Buffer.alloc(32));
    assert.deepEqual(a, Buffer.alloc(32));
    assert.throws(() => ring.subkey('records'), /wiped/);
    // Locking twice (idle timer and operator at once) must not throw.
    assert.doesNotThrow(() => ring.wipe());
  });
});
