/**
 * Each runbook drill end to end against one embedded lab cluster (a coordinator and two signer
 * node processes beside this console) with an EdDSA lab keyset; each writes its report to the
 * drills table and the audit log. Failure cases: a drill whose final signature check fails is
 * reported as failed with its reason; a cancelled drill writes no report and leaves the lab as it
 * was. Key checks of a share and of a backup (a tampered backup fails the check).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DrillReportView } from '../../preload/contract';
import { AppFailure } from '../../main/errors';
import { createServices, type Services } from '../../main/services';
import { backupPassphrases, enrolGuardians, makeGuardians, type Guardian } from './backup-support';
import { until } from './support';
import { GOOD_PASSPHRASE, TEST_KDF_COST, TRUSTED } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { killLeftovers } from '../support/processes';

describe('recovery drills against the lab cluster', { timeout: 900_000 }, () => {
  let s: Services;
  let guardians: Guardian[] = [];
  let ids = new Map<string, string>();
  let keysetId = '';
  let pids: number[] = [];
  const dir = tempDir('vk-drills-');
  const medium = tempDir('vk-drills-medium-');

  const runDrill = async (request: Record<string, unknown>): Promise<{ report: DrillReportView | null; job: { state: string; error: { code: string; message: string } | null } }> => {
    const before = new Set(s.drills.history.history().runs.map((r) => r.drillId));
    const started = await s.router.dispatch('drills.start', request, TRUSTED);
    if (!started.ok) throw new AppFailure(started.error.code, started.error.message);
    await s.jobs.settled();
    const job = s.jobs.list().find((j) => j.id === (started.value as { id: string }).id)!;
    const report = s.drills.history.history().runs.find((r) => !before.has(r.drillId)) ?? null;
    return { report, job };
  };
  const signer = (g: Guardian) => ({ guardianId: ids.get(g.name)!, signer: { method: 'software' as const, keyFile: g.keyFile, passphrase: g.keyPassphrase }, backupPassphrase: g.backupPassphrase });
  const peerRunning = (name: string) => s.lab.peers().find((p) => p.name === name)!.running;

  before(async () => {
    s = createServices({ dataDir: join(dir.path, 'data'), kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, idleTimeoutSeconds: 3600, lab: { kdfTestCost: true }, cluster: { stateDir: join(dir.path, 'state') } });
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    // Guardians first: the lab nodes adopt this console's registry when they start, so they can
    // check the refresh the compromise drill ends with.
    guardians = await makeGuardians();
    ids = await enrolGuardians(s, guardians);
    await s.lab.start();
    pids = s.lab.status().pids;
    s.cluster.openKeygenWindow(30);
    const keyset = await s.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    assert.equal(keyset.lab, true);
  });

  after(async () => {
    pids = [...new Set([...pids, ...(s?.lab.status().pids ?? [])])];
    await s?.close();
    killLeftovers(pids);
    dir.cleanup();
    medium.cleanup();
  });

  it('"a signer node died": stops lab-node-c, signs with the other two, brings it back; the report is written', async () => {
    const { report, job } = await runDrill({ runbook: 'node-died', keysetId });
    assert.equal(job.state, 'succeeded', job.error?.message);
    assert.ok(report);
    assert.equal(report.outcome, 'passed');
    assert.equal(report.failureReason, null);
    assert.ok(report.timeToRecoverMs !== null && report.timeToRecoverMs > 0);
    assert.deepEqual(report.steps.map((x) => [x.id, x.outcome]), [['lab-ready', 'passed'], ['stop-node', 'passed'], ['sign-two', 'passed'], ['restart-node', 'passed']]);
    assert.ok(report.steps.every((x) => x.durationMs >= 0 && x.detail.length > 0));
    assert.ok(report.participants.includes('operator'));
    assert.ok(report.participants.includes('node lab-node-b'), report.participants.join());
    assert.ok(!report.participants.includes('node lab-node-c'));
    assert.ok(peerRunning('lab-node-c'), 'the stopped node runs again');
    const audited = s.audit.list({ type: 'DRILL_PASSED' }).entries.find((e) => e.subject === report.drillId)!;
    assert.equal(audited.details.runbook, 'node-died');
    assert.equal(audited.details.timeToRecoverMs, report.timeToRecoverMs);
    assert.equal(s.drills.history.history().runbooks.find((r) => r.runbook === 'node-died')!.overdue, false);
  });

  it('"a node was compromised": quarantines lab-node-c, signs without it, releases it, two guardians approve a refresh, the new shares sign', async () => {
    const [, sam, sofia] = guardians as [Guardian, Guardian, Guardian];
    const epoch = s.cluster.keyset(keysetId)!.shareEpoch;
    const { report, job } = await runDrill({ runbook: 'node-compromised', keysetId, vaultPassphrase: GOOD_PASSPHRASE, guardians: [signer(sam), signer(sofia)] });
    assert.equal(job.state, 'succeeded', job.error?.message);
    assert.equal(report!.outcome, 'passed', report!.failureReason ?? '');
    const step = (id: string) => report!.steps.find((x) => x.id === id)!;
    assert.match(step('sign-without').detail ?? '', /^Signed by (?!.*lab-node-c)/);
    assert.match(step('refresh').detail ?? '', new RegExp(`from share epoch ${epoch} to ${epoch + 1}`));
    assert.match(step('sign-refreshed').detail ?? '', /lab-node-c/);
    assert.ok(report!.participants.includes('guardian Sam') && report!.participants.includes('guardian Sofia'), report!.participants.join());
    assert.equal(s.cluster.keyset(keysetId)!.shareEpoch, epoch + 1, 'this node switched to its refreshed share');
    const c = s.lab.peers().find((p) => p.name === 'lab-node-c')!.nodeId!;
    assert.equal(s.cluster.node(c)!.status, 'enrolled', 'released again');
    assert.ok(s.audit.list({ type: 'PEER_QUARANTINED' }).entries.some((e) => e.subject === c));
  });

  it('"a node was compromised" without two guardians or the vault passphrase is refused before anything is taken out', async () => {
    const [, sam] = guardians as [Guardian, Guardian, Guardian];
    for (const request of [{ runbook: 'node-compromised', keysetId, vaultPassphrase: GOOD_PASSPHRASE, guardians: [signer(sam)] }, { runbook: 'node-compromised', keysetId, guardians: [signer(sam), signer(sam)] }]) {
      const refused = await s.router.dispatch('drills.start', request, TRUSTED);
      assert.equal(!refused.ok && refused.error.code, 'DRILL_NOT_READY');
    }
    const c = s.lab.peers().find((p) => p.name === 'lab-node-c')!.nodeId!;
    assert.equal(s.cluster.node(c)!.status, 'enrolled');
  });

  it('"a guardian is unavailable": the two others sign fresh challenges', async () => {
    const [lena, sam, sofia] = guardians as [Guardian, Guardian, Guardian];
    const { report, job } = await runDrill({ runbook: 'guardian-unavailable', unavailableGuardianId: ids.get(lena.name), guardians: [signer(sam), signer(sofia)].map(({ backupPassphrase: _b, ...g }) => g) });
    assert.equal(job.state, 'succeeded', job.error?.message);
    assert.equal(report!.outcome, 'passed');
    assert.ok(report!.participants.includes('guardian Sam') && report!.participants.includes('guardian Sofia'));
    assert.ok(!report!.participants.includes('guardian Lena'));
    const checked = s.drills.keyChecks.overview().subjects.filter((x) => x.kind === 'guardian' && x.lastOutcome === 'passed').map((x) => x.id);
    assert.deepEqual(checked.sort(), [ids.get('Sam')!, ids.get('Sofia')!].sort());
  });

  it('"the console machine was lost" fails with its reason while a share has no backup, and passes once it has one', async () => {
    const first = await runDrill({ runbook: 'console-lost' });
    assert.equal(first.job.state, 'failed');
    assert.equal(first.report!.outcome, 'failed');
    assert.equal(first.report!.timeToRecoverMs, null);
    assert.match(first.report!.failureReason!, /No current backup passes the verify-only check for keyset/);
    assert.ok(s.audit.list({ type: 'DRILL_FAILED' }).entries.some((e) => e.subject === first.report!.drillId && String(e.details.failureReason).includes('No current backup')));

    await s.backup.backups.create(keysetId, medium.path, backupPassphrases(guardians, ids));
    const second = await runDrill({ runbook: 'console-lost' });
    assert.equal(second.job.state, 'succeeded', second.job.error?.message);
    assert.equal(second.report!.outcome, 'passed');
  });

  it('key checks: the share signs with this node among the signers; the backup passes verify-only, and fails once tampered', async () => {
    const share = await s.drills.keyChecks.checkShare(keysetId);
    assert.equal(share.outcome, 'passed', share.detail);
    assert.equal(share.subject.overdue, false);
    // A signature the two lab nodes made without this node proves nothing about this node's share.
    const real = s.cluster.keyCheck.bind(s.cluster);
    s.cluster.keyCheck = async (...args: Parameters<typeof real>) => {
      const out = await real(...args);
      return { ...out, parties: s.lab.peers().map((p) => p.nodeId!) };
    };
    try {
      const without = await s.drills.keyChecks.checkShare(keysetId);
      assert.equal(without.outcome, 'failed');
      assert.match(without.detail, /made without this node/);
    } finally {
      s.cluster.keyCheck = real;
    }
    assert.equal((await s.drills.keyChecks.checkShare(keysetId)).outcome, 'passed');
    if (!s.backup.backups.list(keysetId).length) await s.backup.backups.create(keysetId, medium.path, backupPassphrases(guardians, ids));
    const backup = s.backup.backups.list(keysetId)[0]!;
    assert.equal(s.drills.keyChecks.checkBackup(backup.backupId).outcome, 'passed');
    const original = readFileSync(backup.filePath, 'utf8');
    const file = JSON.parse(original) as { keyset: { address: string } };
    file.keyset.address = `${file.keyset.address.slice(0, -4)}AAAA`;
    writeFileSync(backup.filePath, JSON.stringify(file, null, 1));
    const tampered = s.drills.keyChecks.checkBackup(backup.backupId);
    assert.equal(tampered.outcome, 'failed');
    assert.match(tampered.detail, /altered/);
    assert.equal(tampered.subject.overdue, true, 'a failed check is due again at once');
    writeFileSync(backup.filePath, original);
    assert.equal(s.drills.keyChecks.checkBackup(backup.backupId).outcome, 'passed');
  });

  it('"a share was lost": takes this node\'s share out, two guardians approve, the backup restores it, it signs', async () => {
    const [, sam, sofia] = guardians as [Guardian, Guardian, Guardian];
    const backup = s.backup.backups.list(keysetId)[0]!;
    const { report, job } = await runDrill({ runbook: 'share-lost', keysetId, backupFile: backup.filePath, vaultPassphrase: GOOD_PASSPHRASE, guardians: [signer(sam), signer(sofia)] });
    assert.equal(job.state, 'succeeded', job.error?.message);
    assert.equal(report!.outcome, 'passed', report!.failureReason ?? '');
    assert.ok(report!.participants.includes('guardian Sam') && report!.participants.includes('guardian Sofia'));
    assert.ok(report!.participants.includes('node console'), report!.participants.join());
    assert.equal(s.cluster.keyset(keysetId)!.lab, true, 'still a lab keyset');
    assert.ok(s.audit.list({ type: 'SHARE_RESTORED' }).entries.some((e) => e.subject === keysetId && e.details.stage === 'proved'));
  });

  it('"a share was lost" that cannot restore (a wrong backup passphrase) fails with its reason and puts the original share back', async () => {
    const [, sam, sofia] = guardians as [Guardian, Guardian, Guardian];
    const backup = s.backup.backups.list(keysetId)[0]!;
    const wrong = { ...signer(sofia), backupPassphrase: 'not the backup passphrase of sofia 99' };
    const { report, job } = await runDrill({ runbook: 'share-lost', keysetId, backupFile: backup.filePath, vaultPassphrase: GOOD_PASSPHRASE, guardians: [signer(sam), wrong] });
    assert.equal(job.state, 'failed');
    assert.equal(report!.outcome, 'failed');
    assert.equal(report!.steps.find((x) => x.id === 'restore')!.outcome, 'failed');
    assert.match(report!.failureReason!, /^Restore the share from the backup/);
    assert.equal(report!.steps.find((x) => x.id === 'put-back')!.detail, 'The original share was put back as it was.');
    assert.equal(s.cluster.keyset(keysetId)!.lab, true);
    assert.equal((await s.drills.keyChecks.checkShare(keysetId)).outcome, 'passed', 'the original share signs again');
  });

  it('a drill whose final signature check fails is reported as failed with the reason, and the lab is put back', async () => {
    const real = s.cluster.keyCheck.bind(s.cluster);
    s.cluster.keyCheck = async (...args: Parameters<typeof real>) => {
      const out = await real(...args);
      // What a lying relay or broken engine would hand back: a signature that does not verify.
      return { ...out, signature: `${out.signature.slice(0, -2)}${out.signature.endsWith('00') ? '01' : '00'}` };
    };
    try {
      const { report, job } = await runDrill({ runbook: 'node-died', keysetId });
      assert.equal(job.state, 'failed');
      assert.equal(job.error?.code, 'DRILL_STEP_FAILED');
      assert.equal(report!.outcome, 'failed');
      assert.match(report!.failureReason!, /does not verify under keyset .*public key/);
      assert.equal(report!.timeToRecoverMs, null);
      assert.equal(report!.steps.find((x) => x.id === 'sign-two')!.outcome, 'failed');
      assert.equal(report!.steps.find((x) => x.id === 'restart-node')!.outcome, 'passed');
    } finally {
      s.cluster.keyCheck = real;
    }
    assert.ok(peerRunning('lab-node-c'));

    // A signature the drill's victim took part in proves nothing about recovering without it.
    s.cluster.keyCheck = async (...args: Parameters<typeof real>) => {
      const out = await real(...args);
      return { ...out, parties: [...out.parties, s.lab.peers().find((p) => p.name === 'lab-node-c')!.nodeId!] };
    };
    try {
      const [, sam, sofia] = guardians as [Guardian, Guardian, Guardian];
      const { report } = await runDrill({ runbook: 'node-compromised', keysetId, vaultPassphrase: GOOD_PASSPHRASE, guardians: [signer(sam), signer(sofia)] });
      assert.equal(report!.outcome, 'failed');
      assert.match(report!.failureReason!, /lab-node-c took part in the signature although the drill had taken it out/);
      assert.equal(report!.steps.find((x) => x.id === 'release')!.outcome, 'passed');
    } finally {
      s.cluster.keyCheck = real;
    }
  });

  it('the schedule re-runs a due share check and a due backup check by itself; guardian keys wait for their guardian', async () => {
    const backup = s.backup.backups.list(keysetId)[0]!;
    // A failed check is due again at once.
    const insert = s.db.prepare("INSERT INTO key_check_results (subject_kind, subject_id, checked_at, outcome, detail, next_due_at, via) VALUES (?, ?, ?, 'failed', 'test', ?, 'test')");
    insert.run('share', keysetId, Date.now() - 1000, Date.now());
    insert.run('backup', backup.backupId, Date.now() - 1000, Date.now());
    const overdueBefore = s.drills.keyChecks.overview().subjects.filter((x) => x.overdue).map((x) => x.kind);
    assert.ok(overdueBefore.includes('share') && overdueBefore.includes('backup'));
    const ran = await s.drills.schedule.runDue();
    assert.equal(ran, 2);
    const after = s.drills.keyChecks.overview().subjects;
    assert.equal(after.find((x) => x.kind === 'share')!.lastOutcome, 'passed');
    assert.equal(after.find((x) => x.kind === 'backup')!.lastOutcome, 'passed');
    assert.ok(after.filter((x) => x.kind !== 'guardian').every((x) => !x.overdue));
    assert.ok(s.audit.list({ type: 'KEY_CHECK_PASSED' }).entries.slice(0, 2).every((e) => e.details.via === 'schedule'));
  });

  it('a cancelled drill writes no report and leaves the lab as it was; a drill without what it needs is refused at once', async () => {
    const runsBefore = s.db.prepare('SELECT COUNT(*) AS n FROM drill_runs').get() as { n: number };
    const drillAudits = () => s.audit.list({ type: 'DRILL_PASSED' }).entries.length + s.audit.list({ type: 'DRILL_FAILED' }).entries.length;
    const auditsBefore = drillAudits();
    const real = s.cluster.keyCheck.bind(s.cluster);
    let cancelled = false;
    s.cluster.keyCheck = async (...args: Parameters<typeof real>) => {
      await until(() => cancelled, 60_000);
      return real(...args);
    };
    try {
      const started = await s.router.dispatch('drills.start', { runbook: 'node-died', keysetId }, TRUSTED);
      assert.ok(started.ok);
      const jobId = (started.value as { id: string }).id;
      await until(() => !peerRunning('lab-node-c'), 60_000);
      const cancel = await s.router.dispatch('jobs.cancel', { jobId }, TRUSTED);
      assert.ok(cancel.ok);
      cancelled = true;
      await s.jobs.settled();
      assert.equal(s.jobs.list().find((j) => j.id === jobId)!.state, 'cancelled');
    } finally {
      s.cluster.keyCheck = real;
    }
    assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM drill_runs').get() as { n: number }).n, runsBefore.n, 'no report row');
    assert.equal(drillAudits(), auditsBefore, 'no drill report in the audit log');
    assert.equal(s.audit.list({ type: 'JOB_CANCELLED' }).entries[0]!.details.kind, 'drill');
    assert.ok(peerRunning('lab-node-c'), 'the stopped node was brought back');

    const refused = await s.router.dispatch('drills.start', { runbook: 'node-died' }, TRUSTED);
    assert.equal(!refused.ok && refused.error.code, 'DRILL_NOT_READY');
    // A drill that takes a node out never runs outside the lab.
    s.cluster.mode = 'configured';
    try {
      const outside = await s.router.dispatch('drills.start', { runbook: 'node-died', keysetId }, TRUSTED);
      assert.equal(!outside.ok && outside.error.code, 'DRILL_NEEDS_LAB');
    } finally {
      s.cluster.mode = 'lab';
    }
    assert.ok(peerRunning('lab-node-c') && peerRunning('lab-node-b'), 'nothing was stopped');
    assert.equal(s.jobs.list().filter((j) => j.kind === 'drill' && j.state === 'running').length, 0);
  });
});
