/**
 * History is what happened: a closed request shows the guardians, decisions and quorum recorded
 * when it closed, not a recount against today's registry; an edited record is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { enrolThree, guardianFixture, softwareKey } from '../support/guardians';
import { GOOD_PASSPHRASE } from '../support/services';

const NEW_PASSPHRASE = 'violet canyon ember solstice harbor';

describe('closed guardian requests keep the history they ran with', () => {
  it('after Sam is replaced, the passphrase change that ran on his approval still shows 2 / 2 and the set in force', async () => {
    const f = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: { reason: 'rotation' }, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
    });
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    await vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE);

    const ran = guardians.view(request.id);
    assert.equal(ran.status, 'executed');
    assert.equal(`${ran.approvalsCounted} / ${ran.quorum}`, '2 / 2');
    assert.ok(ran.guardianSet, 'the guardian set in force is recorded with the run');
    assert.deepEqual(ran.guardianSet.guardians.map((g) => `${g.slot}:${g.name}`), ['1:Lena', '2:Sam', '3:Sofia']);
    assert.equal(ran.historyNote, null);

    // Sam is replaced by Nora, approved by Lena and Sofia.
    const nora = await softwareKey('newcomer guardian passphrase 3');
    const replacement = await guardians.requestReplacement(sam.view.id, { method: 'software', name: 'Nora', keyFile: nora.keyFile, passphrase: 'newcomer guardian passphrase 3' }, { as: 'operator', vaultPassphrase: NEW_PASSPHRASE }, 60);
    await guardians.signWithLedger(replacement.id, lena.id, 'approve');
    await guardians.signWithKeyFile(replacement.id, sofia.keyFile, sofia.passphrase, 'approve');
    guardians.executeReplacement(replacement.id);
    assert.deepEqual(guardians.registry().guardians.map((g) => g.name), ['Lena', 'Nora', 'Sofia']);

    const after = guardians.view(request.id);
    assert.equal(`${after.approvalsCounted} / ${after.quorum}`, '2 / 2', 'the closed request is not recounted against today\'s registry');
    assert.deepEqual(after.approvals.map((a) => `${a.guardianName}:${a.decision}:${a.counts ? 'counts' : 'does not count'}`), ['Lena:approve:counts', 'Sam:approve:counts']);
    assert.deepEqual(after.guardianSet?.guardians.map((g) => g.name), ['Lena', 'Sam', 'Sofia']);
    assert.equal(after.guardianSet?.epoch, ran.guardianSet.epoch);

    // The replacement itself ran with the set that still had Sam in it; the next set has Nora.
    const replaced = guardians.view(replacement.id);
    assert.deepEqual(replaced.guardianSet?.guardians.map((g) => g.name), ['Lena', 'Sam', 'Sofia']);
    assert.equal(replaced.approvalsCounted, 2);
    assert.equal(replaced.guardianSet?.epoch, ran.guardianSet.epoch, 'no guardian changed between the two runs');

    // The list (what the Approvals screen shows) reads the same record.
    const listed = guardians.listRequests().history.find((r) => r.id === request.id);
    assert.equal(listed?.approvalsCounted, 2);
    await f.cleanup();
  });

  it('a rejected request records the decisions that closed it', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
    });
    await guardians.signWithLedger(request.id, lena.id, 'reject');
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'reject');
    const closed = guardians.view(request.id);
    assert.equal(closed.status, 'rejected');
    assert.deepEqual(closed.approvals.map((a) => `${a.guardianName}:${a.decision}`), ['Lena:reject', 'Sam:reject']);
    assert.equal(closed.guardianSet?.guardians.length, 3);
    await f.cleanup();
  });

  it('refuses a history record edited in the database instead of showing it', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
    });
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    await vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE);
    f.services.db.prepare('UPDATE approval_request_outcomes SET approvals_counted = 3 WHERE request_id = ?').run(request.id);
    assert.throws(() => guardians.view(request.id), (error: unknown) => {
      assert.ok(error instanceof AppFailure);
      assert.equal(error.code, 'GUARDIAN_HISTORY_TAMPERED');
      assert.match(error.message, /changed outside Vaultkeeper/);
      return true;
    });
    await f.cleanup();
  });
});
