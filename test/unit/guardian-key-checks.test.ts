/**
 * Guardian key checks: a guardian proves their key by signing a fresh challenge — on the Ledger,
 * with the key file at the console, or on their own machine. Forged, tampered, replayed and
 * expired answers are refused and recorded against nobody; results set the next due date, and the
 * overview flags what is overdue.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { AppFailure } from '../../main/errors';
import { GUARDIAN_KEY_CHECK_TYPES } from '../../main/drills/guardian-challenge';
import { DAY_MS } from '../../main/drills/settings';
import { APPROVAL_DOMAIN } from '../../main/guardians/typed-data';
import { OverviewService } from '../../main/overview/overview-service';
import { enrolThree, guardianFixture, type GuardianFixture } from '../support/guardians';
import { TRUSTED } from '../support/services';

const refused = async (p: Promise<unknown> | (() => unknown), code: string): Promise<AppFailure> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
};

describe('guardian key checks', () => {
  let f: GuardianFixture;
  let g: Awaited<ReturnType<typeof enrolThree>>;
  const results = () => f.services.db.prepare('SELECT subject_id, outcome FROM key_check_results').all() as Array<{ subject_id: string; outcome: string }>;

  before(async () => {
    f = await guardianFixture();
    g = await enrolThree(f);
  });
  after(async () => f.cleanup());

  it('lists each guardian key with its next due date one interval after enrolment; overdue once it passes', () => {
    const k = f.services.drills.keyChecks;
    const first = k.overview();
    assert.equal(first.intervalDays, 90);
    assert.equal(first.subjects.filter((s) => s.kind === 'guardian').length, 3);
    assert.equal(first.overdueCount, 0);
    const lena = first.subjects.find((s) => s.id === g.lena.id)!;
    assert.equal(Date.parse(lena.nextDueAt), Date.parse(g.lena.enrolledAt) + 90 * DAY_MS);
    assert.equal(lena.lastCheckedAt, null);
    f.clock.advance(91 * DAY_MS);
    const later = k.overview();
    assert.equal(later.overdueCount, 3);
    assert.ok(later.subjects.every((s) => s.overdue && s.days >= 1));
    const item = new OverviewService(f.services).get().items.find((i) => i.id === 'key-checks')!;
    assert.equal(item.tone, 'attention');
    assert.match(item.headline, /3 of 3 key check\(s\) OVERDUE/);
    assert.match(item.lines.join('\n'), /OVERDUE — Guardian Lena/);
  });

  it('a key file signature at the console passes, sets the next due date, and spends the challenge', async () => {
    const k = f.services.drills.keyChecks;
    const c = k.guardianChallenge(g.sam.view.id);
    const r = await k.guardianSign(c.challengeId, { method: 'software', keyFile: g.sam.keyFile, passphrase: g.sam.passphrase });
    assert.equal(r.outcome, 'passed');
    assert.equal(r.subject.overdue, false);
    assert.equal(Date.parse(r.subject.nextDueAt), f.clock.now() + 90 * DAY_MS);
    assert.equal(f.services.audit.list({ type: 'KEY_CHECK_PASSED' }).entries[0]!.subject, g.sam.view.id);
    await refused(k.guardianSign(c.challengeId, { method: 'software', keyFile: g.sam.keyFile, passphrase: g.sam.passphrase }), 'GUARDIAN_CHALLENGE_USED');
  });

  it('the Ledger guardian signs the challenge on the (emulated) device', async () => {
    const k = f.services.drills.keyChecks;
    const c = k.guardianChallenge(g.lena.id);
    const r = await k.guardianSign(c.challengeId, { method: 'ledger' });
    assert.equal(r.outcome, 'passed');
    assert.match(r.detail, /Ledger/);
  });

  it('a remote answer signed by the guardian\'s own wallet over the typed data passes; a replay of it is refused', async () => {
    const k = f.services.drills.keyChecks;
    const c = k.guardianChallenge(g.sofia.view.id);
    const signature = await g.sofia.wallet.signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, c.typedData.message);
    assert.equal(k.guardianAnswer(c.challengeId, signature).outcome, 'passed');
    await refused(() => k.guardianAnswer(c.challengeId, signature), 'GUARDIAN_CHALLENGE_USED');
  });

  it('refuses a forged answer (another key), a tampered one (other challenge) and a replay onto a new challenge; nothing is recorded', async () => {
    const k = f.services.drills.keyChecks;
    const before = results().length;
    const c = k.guardianChallenge(g.sofia.view.id);
    const forger = Wallet.createRandom();
    const forged = await forger.signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, c.typedData.message);
    const e1 = await refused(() => k.guardianAnswer(c.challengeId, forged), 'GUARDIAN_CHALLENGE_BAD_SIGNATURE');
    assert.match(e1.message, /not by this guardian's registered key/);
    const tampered = await g.sofia.wallet.signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, { ...c.typedData.message, challenge: `0x${'11'.repeat(32)}` });
    await refused(() => k.guardianAnswer(c.challengeId, tampered), 'GUARDIAN_CHALLENGE_BAD_SIGNATURE');
    // Sam's genuine signature over Sofia's challenge is not Sofia's proof.
    const samsOwn = await new Wallet(Wallet.createRandom().privateKey).signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, { ...c.typedData.message, guardian: g.sam.view.address });
    await refused(() => k.guardianAnswer(c.challengeId, samsOwn), 'GUARDIAN_CHALLENGE_BAD_SIGNATURE');
    // An answer to an older challenge does not answer a new one.
    const old = k.guardianChallenge(g.sofia.view.id);
    const oldAnswer = await g.sofia.wallet.signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, old.typedData.message);
    await refused(() => k.guardianAnswer(c.challengeId, oldAnswer), 'GUARDIAN_CHALLENGE_BAD_SIGNATURE');
    await refused(() => k.guardianAnswer(c.challengeId, `0x${'00'.repeat(65)}`), 'GUARDIAN_CHALLENGE_BAD_SIGNATURE');
    assert.equal(results().length, before, 'no result recorded for any refused answer');
    assert.ok(f.services.audit.list({ type: 'GUARDIAN_CHALLENGE_REFUSED' }).entries.length >= 4);
    // The challenge is still open for the real guardian.
    const genuine = await g.sofia.wallet.signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, c.typedData.message);
    assert.equal(k.guardianAnswer(c.challengeId, genuine).outcome, 'passed');
  });

  it('refuses an answer after the challenge expired (15 minutes)', async () => {
    const k = f.services.drills.keyChecks;
    const c = k.guardianChallenge(g.sam.view.id);
    const signature = await g.sam.wallet.signTypedData(APPROVAL_DOMAIN, GUARDIAN_KEY_CHECK_TYPES, c.typedData.message);
    f.clock.advance(16 * 60_000);
    const e = await refused(() => k.guardianAnswer(c.challengeId, signature), 'GUARDIAN_CHALLENGE_EXPIRED');
    assert.match(e.message, /expired 1 min ago/);
  });

  it('the IPC channel refuses a malformed signature before any handler, and the schedule setting moves the due dates', async () => {
    const bad = await f.services.router.dispatch('keyChecks.guardianAnswer', { challengeId: '0123456789abcdef', signature: '0x1234' }, TRUSTED);
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 'VALIDATION_FAILED');
    const tooShort = await f.services.router.dispatch('drills.updateSettings', { keyCheckIntervalDays: 0, drillIntervalDays: 91 }, TRUSTED);
    assert.equal(!tooShort.ok && tooShort.error.code, 'VALIDATION_FAILED');
    const set = await f.services.router.dispatch('drills.updateSettings', { keyCheckIntervalDays: 30, drillIntervalDays: 91 }, TRUSTED);
    assert.ok(set.ok);
    const lena = f.services.drills.keyChecks.overview().subjects.find((s) => s.id === g.lena.id)!;
    assert.equal(lena.overdue, false, 'Lena was checked minutes ago');
    f.clock.advance(31 * DAY_MS);
    assert.equal(f.services.drills.keyChecks.overview().subjects.find((s) => s.id === g.lena.id)!.overdue, true, 'overdue after the shorter interval');
    assert.equal(f.services.audit.list({ type: 'DRILL_SETTINGS_CHANGED' }).entries.length, 1);
  });
});
