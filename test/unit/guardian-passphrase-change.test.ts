/**
 * The guarded passphrase change checks the current passphrase under the same throttle as unlock:
 * a wrong one is counted, backs off, is audited as VAULT_UNLOCK_FAILED, and does not use up the
 * guardians' approvals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { enrolThree, guardianFixture, type GuardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE } from '../support/services';

const NEW_PASSPHRASE = 'violet canyon ember solstice harbor';
const WRONG = 'not the vault passphrase at all';

async function rejectsWith(work: Promise<unknown>, code: string): Promise<AppFailure> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof AppFailure, `expected AppFailure ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

async function approvedRequest(f: GuardianFixture) {
  const { lena, sam } = await enrolThree(f);
  const { guardians, vault } = f.services;
  const request = await guardians.createRequest({
    operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: { reason: 'rotation' }, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
  });
  await guardians.signWithLedger(request.id, lena.id, 'approve');
  await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
  return request;
}

const unlockFailures = (f: GuardianFixture) => f.services.audit.list({ type: 'VAULT_UNLOCK_FAILED' }).entries;

describe('guarded passphrase change and the unlock throttle', () => {
  it('counts a wrong current passphrase as a failed unlock, backs off, and keeps the request open', async () => {
    const f = await guardianFixture();
    const request = await approvedRequest(f);
    const { vault, guardians } = f.services;
    const change = (current: string) => vault.changePassphrase(request.id, current, NEW_PASSPHRASE, NEW_PASSPHRASE);

    const first = await rejectsWith(change(WRONG), 'WRONG_PASSPHRASE');
    assert.match(first.message, /wrong attempt 1\); the passphrase was not changed and the approved request stays open\. 2 more attempts/);
    assert.equal(vault.status().failedAttempts, 1);
    await rejectsWith(change(WRONG), 'WRONG_PASSPHRASE');
    const third = await rejectsWith(change(WRONG), 'WRONG_PASSPHRASE');
    assert.match(third.message, /The next attempt is possible in 5 s/);
    assert.equal(vault.status().failedAttempts, 3);
    assert.ok(vault.status().unlockBlockedUntil, 'the back-off is the one unlock uses');

    // While backing off even the right passphrase is not tried, and the approvals stay.
    const throttled = await rejectsWith(change(GOOD_PASSPHRASE), 'UNLOCK_THROTTLED');
    assert.match(throttled.message, /approved request stays open/);
    const stillOpen = guardians.view(request.id);
    assert.equal(stillOpen.status, 'pending');
    assert.equal(stillOpen.approvalsCounted, 2);
    assert.equal(f.services.audit.list({ type: 'GUARDED_OPERATION_EXECUTED' }).total, 0);

    const failures = unlockFailures(f);
    assert.deepEqual(failures.map((e) => e.details.failedAttempts).sort(), [1, 2, 3]);
    assert.ok(failures.every((e) => e.details.during === 'vault.passphrase.change' && e.details.requestId === request.id));

    // The same counter guards unlock: a fourth wrong passphrase there doubles the wait.
    f.clock.advance(5_000);
    await vault.lock();
    const fourth = await rejectsWith(vault.unlock(WRONG), 'WRONG_PASSPHRASE');
    assert.match(fourth.message, /wrong attempt 4\)\. The next attempt is possible in 10 s/);
    await rejectsWith(vault.unlock(GOOD_PASSPHRASE), 'UNLOCK_THROTTLED');
    f.clock.advance(10_000);
    await vault.unlock(GOOD_PASSPHRASE);
    assert.equal(vault.status().failedAttempts, 0);

    // The same request, still approved, runs once the right passphrase is typed.
    const done = await change(GOOD_PASSPHRASE);
    assert.equal(done.requestId, request.id);
    assert.equal(guardians.view(request.id).status, 'executed');
    await vault.lock();
    await vault.unlock(NEW_PASSPHRASE);

    const log = JSON.stringify(f.services.audit.list({ limit: 500 }).entries);
    for (const secret of [GOOD_PASSPHRASE, NEW_PASSPHRASE, WRONG]) assert.ok(!log.includes(secret), 'no passphrase in the audit log');
    await f.cleanup();
  });

  it('a change with the right current passphrase clears earlier wrong attempts', async () => {
    const f = await guardianFixture();
    const request = await approvedRequest(f);
    const { vault } = f.services;
    await rejectsWith(vault.changePassphrase(request.id, WRONG, NEW_PASSPHRASE, NEW_PASSPHRASE), 'WRONG_PASSPHRASE');
    await rejectsWith(vault.changePassphrase(request.id, WRONG, NEW_PASSPHRASE, NEW_PASSPHRASE), 'WRONG_PASSPHRASE');
    assert.equal(vault.status().failedAttempts, 2);
    // The new passphrase is judged before the current one is tried: these count no attempt and keep the request open.
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, `${NEW_PASSPHRASE}x`), 'PASSPHRASE_MISMATCH');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'WEAK_PASSPHRASE');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, 'password1234', 'password1234'), 'WEAK_PASSPHRASE');
    assert.equal(vault.status().failedAttempts, 2);
    await vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE);
    assert.equal(vault.status().failedAttempts, 0);
    assert.equal(vault.status().unlockBlockedUntil, null);
    await f.cleanup();
  });

  it('refuses without quorum before the passphrase is tried, so no attempt is counted', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
    });
    await rejectsWith(vault.changePassphrase(request.id, WRONG, NEW_PASSPHRASE, NEW_PASSPHRASE), 'QUORUM_NOT_MET');
    assert.equal(vault.status().failedAttempts, 0);
    assert.equal(unlockFailures(f).length, 0);
    await f.cleanup();
  });
});
