import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { ManualClock } from '../../main/platform/clock';
import { createServices } from '../../main/services';
import { FREE_ATTEMPTS, NODE_IDENTITY_RECORD, unlockDelayMs } from '../../main/vault/vault-service';
import { GOOD_PASSPHRASE, TEST_KDF_COST, testServices } from '../support/services';
import { tempDir } from '../support/temp-dir';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AppFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppFailure, `expected AppFailure, got ${String(error)}`);
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe('vault life cycle', () => {
  it('creates a vault, seals the node identity, and records it in the audit chain', async () => {
    const s = testServices();
    assert.equal(s.vault.status().state, 'uninitialized');
    const status = await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    assert.equal(status.state, 'unlocked');
    assert.match(status.nodeId ?? '', /^[0-9a-f]{32}$/);
    assert.match(status.nodeFingerprint ?? '', /^[a-z]+(-[a-z]+){5}$/);
    const identity = s.vault.records.get(NODE_IDENTITY_RECORD.type, NODE_IDENTITY_RECORD.id);
    assert.equal(identity?.plaintext.length, 32);
    assert.deepEqual(s.audit.list().entries.map((e) => e.type), ['VAULT_CREATED']);
    await rejectsWith(s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'VAULT_ALREADY_EXISTS');
    await s.cleanup();
  });

  it('refuses weak and mismatched passphrases with a reason and writes nothing', async () => {
    const s = testServices();
    const short = await rejectsWith(s.vault.create('short', 'short'), 'WEAK_PASSPHRASE');
    assert.match(short.message, /at least 12 characters/);
    const common = await rejectsWith(s.vault.create('password1234', 'password1234'), 'WEAK_PASSPHRASE');
    assert.match(common.message, /too easy to guess/);
    await rejectsWith(s.vault.create(GOOD_PASSPHRASE, `${GOOD_PASSPHRASE}x`), 'PASSPHRASE_MISMATCH');
    assert.equal(s.vault.status().state, 'uninitialized');
    assert.equal(s.audit.list().total, 0);
    await s.cleanup();
  });

  it('locks, wipes key material, and unlocks with the right passphrase', async () => {
    const s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    const ring = s.vault.keyRing();
    const subkey = ring.subkey('records/node-identity');
    await s.vault.lock();
    assert.equal(s.vault.status().state, 'locked');
    assert.ok(ring.wiped);
    assert.ok(subkey.every((b) => b === 0), 'derived subkeys are zeroized on lock');
    assert.throws(() => ring.subkey('records/node-identity'));
    assert.throws(() => s.vault.records.get(NODE_IDENTITY_RECORD.type, NODE_IDENTITY_RECORD.id), (e: unknown) => e instanceof AppFailure && e.code === 'VAULT_LOCKED');
    const status = await s.vault.unlock(GOOD_PASSPHRASE);
    assert.equal(status.state, 'unlocked');
    assert.equal(s.vault.records.get(NODE_IDENTITY_RECORD.type, NODE_IDENTITY_RECORD.id)?.plaintext.length, 32);
    await s.cleanup();
  });

  it('counts wrong passphrases and backs off exponentially after the free attempts', async () => {
    const s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    await s.vault.lock();
    for (let attempt = 1; attempt <= FREE_ATTEMPTS; attempt += 1) {
      const error = await rejectsWith(s.vault.unlock('not the passphrase at all'), 'WRONG_PASSPHRASE');
      assert.equal(error.details?.failedAttempts, attempt);
    }
    const throttled = await rejectsWith(s.vault.unlock(GOOD_PASSPHRASE), 'UNLOCK_THROTTLED');
    assert.match(throttled.message, /Try again in 5 s/);
    s.clock.advance(unlockDelayMs(FREE_ATTEMPTS));
    await rejectsWith(s.vault.unlock('still wrong passphrase'), 'WRONG_PASSPHRASE');
    const longer = await rejectsWith(s.vault.unlock(GOOD_PASSPHRASE), 'UNLOCK_THROTTLED');
    assert.match(longer.message, /Try again in 10 s/);
    s.clock.advance(10_000);
    assert.equal((await s.vault.unlock(GOOD_PASSPHRASE)).state, 'unlocked');
    assert.equal(s.vault.status().failedAttempts, 0);
    const types = s.audit.list({ limit: 500 }).entries.map((e) => e.type);
    assert.equal(types.filter((t) => t === 'VAULT_UNLOCK_FAILED').length, FREE_ATTEMPTS + 1);
    assert.equal(unlockDelayMs(40), 15 * 60_000, 'the delay is capped');
    await s.cleanup();
  });

  it('serializes concurrent unlock attempts so the throttle cannot be raced', async () => {
    const s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    await s.vault.lock();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => s.vault.unlock('a wrong guess here')));
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as AppFailure).code : 'ok'));
    assert.deepEqual(codes, ['WRONG_PASSPHRASE', 'WRONG_PASSPHRASE', 'WRONG_PASSPHRASE', 'UNLOCK_THROTTLED', 'UNLOCK_THROTTLED', 'UNLOCK_THROTTLED']);
    await s.cleanup();
  });

  it('locks itself after the idle timeout, and activity postpones it', async () => {
    const s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    s.clock.advance(200_000);
    s.vault.touch();
    s.clock.advance(200_000);
    assert.equal(await s.vault.lockIfIdle(), false);
    s.clock.advance(99_999);
    assert.equal(await s.vault.lockIfIdle(), false, 'one millisecond short of the timeout');
    s.clock.advance(1);
    assert.equal(await s.vault.lockIfIdle(), true, 'idle for exactly the timeout');
    assert.equal(s.vault.status().state, 'locked');
    const last = s.audit.list().entries[0];
    assert.equal(last?.type, 'VAULT_LOCKED');
    assert.deepEqual(last?.details, { reason: 'idle' });
    await s.cleanup();
  });

  it('the idle-lock timer runs by itself: no call from outside locks an idle vault', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const services = createServices({ dataDir: join(dir.path, 'data'), clock, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 20, idleTimeoutSeconds: 300, cluster: { stateDir: join(dir.path, 'state') } });
    try {
      await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      // Control: several checks pass within the timeout and leave the vault unlocked.
      await sleep(150);
      assert.equal(services.vault.status().state, 'unlocked');
      clock.advance(301_000);
      // Bounded wait: the timer fires every 20 ms; a loaded machine gets ten seconds.
      for (let waited = 0; services.vault.status().state !== 'locked' && waited < 10_000; waited += 20) await sleep(20);
      assert.equal(services.vault.status().state, 'locked', 'the timer locked the idle vault');
      assert.deepEqual(services.audit.list({ type: 'VAULT_LOCKED' }).entries[0]?.details, { reason: 'idle' });
    } finally {
      await services.close();
      dir.cleanup();
    }
  });

  it('refuses to unlock when the stored key-derivation settings were weakened, without counting an attempt', async () => {
    const s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    await s.vault.lock();
    const stored = JSON.parse((s.db.prepare('SELECT kdf_params FROM vault_meta WHERE id = 1').get() as { kdf_params: string }).kdf_params) as Record<string, unknown>;
    s.db.prepare('UPDATE vault_meta SET kdf_params = ? WHERE id = 1').run(JSON.stringify({ ...stored, N: 2 ** 10 }));
    const refused = await rejectsWith(s.vault.unlock(GOOD_PASSPHRASE), 'VAULT_CORRUPT');
    assert.match(refused.message, /weaker than allowed/);
    // The advice names the capability that recovers from it.
    assert.match(refused.message, /restore this node from a share backup.*Backups screen/);
    assert.equal(s.vault.status().state, 'locked');
    assert.equal(s.vault.status().failedAttempts, 0);
    await s.cleanup();
  });

  it('before a vault exists it says so; confirming the passphrase counts a wrong one and clears the count with the right one; a second lock records nothing', async () => {
    const s = testServices();
    await rejectsWith(s.vault.unlock(GOOD_PASSPHRASE), 'VAULT_NOT_CREATED');
    await rejectsWith(s.vault.confirmPassphrase(GOOD_PASSPHRASE), 'VAULT_NOT_CREATED');
    assert.throws(() => s.vault.nodeId(), (e: unknown) => e instanceof AppFailure && e.code === 'VAULT_NOT_CREATED');
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    await rejectsWith(s.vault.confirmPassphrase('not the passphrase at all'), 'WRONG_PASSPHRASE');
    assert.equal(s.vault.status().failedAttempts, 1);
    await s.vault.confirmPassphrase(GOOD_PASSPHRASE);
    assert.equal(s.vault.status().failedAttempts, 0);
    await s.vault.lock();
    await s.vault.lock();
    assert.equal(s.audit.list({ type: 'VAULT_LOCKED' }).total, 1);
    await s.cleanup();
  });

  it('refuses a sealed record copied into another row', async () => {
    const s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    s.vault.records.put('node-identity', 'spare', 1, Buffer.from('x'.repeat(32)));
    s.db.exec(`UPDATE sealed_records SET (iv, tag, ciphertext) =
      (SELECT iv, tag, ciphertext FROM sealed_records WHERE record_id = 'self') WHERE record_id = 'spare'`);
    assert.throws(() => s.vault.records.get('node-identity', 'spare'), (e: unknown) => e instanceof AppFailure && e.code === 'VAULT_CORRUPT');
    await s.cleanup();
  });
});
