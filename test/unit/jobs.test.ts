/**
 * Jobs owned by main: states (running → succeeded / failed / cancelled), the group conflict, a
 * step that cannot be cancelled, the lock, and a console that stops while a job runs — after the
 * restart the job is listed as failed ("interrupted: the console stopped during …") and audited,
 * never as still running.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import type { JobControl, JobSpec } from '../../main/jobs/job-service';
import { ManualClock } from '../../main/platform/clock';
import { createServices, type Services } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST, callChannel } from '../support/services';
import { tempDir } from '../support/temp-dir';

/** A job whose end the test decides. */
function manualJob(group = 'g', activity = 'test operation') {
  let control!: JobControl;
  let finish!: (summary: string) => void;
  let failWith!: (error: unknown) => void;
  const cancels: Array<{ reason: string; code: string }> = [];
  const spec: JobSpec = {
    kind: 'keygen',
    label: 'Test operation',
    activity,
    group,
    run: (c) => {
      control = c;
      return new Promise((resolve, reject) => {
        finish = (summary) => resolve({ summary, keysetId: null });
        failWith = reject;
      });
    },
    cancel: (reason, code) => void cancels.push({ reason, code }),
  };
  return { spec, cancels, control: () => control, finish: (s: string) => finish(s), failWith: (e: unknown) => failWith(e) };
}

describe('jobs', () => {
  const dir = tempDir('vk-jobs-');
  const clock = new ManualClock();
  let open: Services[] = [];
  const start = async (create = false): Promise<Services> => {
    const services = createServices({ dataDir: join(dir.path, 'data'), clock, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, idleTimeoutSeconds: 300, cluster: { stateDir: join(dir.path, 'state') } });
    open.push(services);
    if (create) await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    else await services.vault.unlock(GOOD_PASSPHRASE);
    return services;
  };
  afterEach(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    open = [];
  });
  const flush = () => new Promise((r) => setImmediate(r));

  it('runs, reports its phase and percentage, and ends succeeded or failed with the error', async () => {
    const s = await start(true);
    const a = manualJob('a');
    const view = s.jobs.start(a.spec);
    assert.equal(view.state, 'running');
    a.control().progress('Half way', 49.6);
    assert.deepEqual(pick(s.jobs.list()[0]!), { state: 'running', phase: 'Half way', percent: 50 });
    a.finish('made it');
    await s.jobs.settled();
    const done = s.jobs.list().find((j) => j.id === view.id)!;
    assert.deepEqual({ ...pick(done), result: done.result }, { state: 'succeeded', phase: 'Done', percent: 100, result: { summary: 'made it', keysetId: null } });

    const b = manualJob('b');
    const failed = s.jobs.start(b.spec);
    b.failWith(new AppFailure('QUORUM_UNAVAILABLE', 'Quorum unavailable: 2 of the 3 members can take part.'));
    await s.jobs.settled();
    assert.deepEqual(s.jobs.list().find((j) => j.id === failed.id)!.error, { code: 'QUORUM_UNAVAILABLE', message: 'Quorum unavailable: 2 of the 3 members can take part.' });
    // An unexpected error's text never reaches the screen.
    const c = manualJob('c');
    const internal = s.jobs.start(c.spec);
    c.failWith(new Error('secret-looking library text'));
    await s.jobs.settled();
    assert.equal(s.jobs.list().find((j) => j.id === internal.id)!.error?.code, 'INTERNAL');
    assert.doesNotMatch(JSON.stringify(s.jobs.list()), /secret-looking/);
  });

  it('refuses a second job of the same group, and cancels a job only where it can be cancelled', async () => {
    const s = await start();
    const a = manualJob('keygen');
    const first = s.jobs.start(a.spec);
    assert.throws(() => s.jobs.start(manualJob('keygen').spec), (e: unknown) => e instanceof AppFailure && e.code === 'JOB_CONFLICT' && /still running/.test(e.message));
    // Another group runs beside it.
    const other = manualJob('other');
    s.jobs.start(other.spec);

    a.control().cannotCancel('the share is being written');
    assert.equal(s.jobs.list().find((j) => j.id === first.id)!.cancelBlocked, 'the share is being written');
    const refused = await callChannel(s, 'jobs.cancel', { jobId: first.id });
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.error.code === 'JOB_NOT_CANCELLABLE' && /cannot be cancelled at this step: the share is being written/.test(refused.error.message));
    assert.equal(a.cancels.length, 0);

    a.control().cannotCancel(null);
    const cancelled = await callChannel(s, 'jobs.cancel', { jobId: first.id });
    assert.ok(cancelled.ok && cancelled.value.state === 'cancelled' && cancelled.value.cancelBlocked === null);
    assert.equal(a.cancels.length, 1);
    assert.match(a.cancels[0]!.reason, /^cancelled by the operator/);
    // The work ending later changes nothing: cancelled stays cancelled.
    a.finish('too late');
    await flush();
    assert.equal(s.jobs.list().find((j) => j.id === first.id)!.state, 'cancelled');
    const again = await callChannel(s, 'jobs.cancel', { jobId: first.id });
    assert.ok(!again.ok && again.error.code === 'JOB_FINISHED');
    assert.ok(s.audit.list({ type: 'JOB_CANCELLED' }).entries.some((e) => e.subject === first.id && e.actor === 'operator'));
    other.finish('ok');
    await s.jobs.settled();
  });

  it('the Overview points to the screen of the running job', async () => {
    const s = await start();
    const drill = manualJob('drill');
    drill.spec.kind = 'drill';
    s.jobs.start(drill.spec);
    const overview = await callChannel(s, 'overview.get', {});
    assert.ok(overview.ok);
    const vault = overview.value.items.find((i) => i.id === 'vault')!;
    assert.equal(vault.link, 'drills');
    assert.ok(vault.lines.some((l) => l.startsWith('Running: Test operation')));
    drill.finish('done');
    await s.jobs.settled();
    // Bulk signing is followed on the permit queue, backups and restores on Backups; a step that
    // cannot be cancelled says a lock lets it finish.
    for (const [kind, screen] of [['bulk-sign', 'queue'], ['backup', 'backups'], ['restore', 'backups']] as const) {
      const job = manualJob(kind);
      job.spec.kind = kind;
      s.jobs.start(job.spec);
      if (kind === 'restore') job.control().cannotCancel('the restore is writing the share');
      const got = await callChannel(s, 'overview.get', {});
      assert.ok(got.ok);
      const item = got.value.items.find((i) => i.id === 'vault')!;
      assert.equal(item.link, screen, kind);
      if (kind === 'restore') assert.ok(item.lines.some((l) => l.endsWith('locking now lets it finish this step (the restore is writing the share)')), item.lines.join('\n'));
      job.finish('done');
      await s.jobs.settled();
    }
  });

  it('a lock ends running jobs as failed with "vault locked during …", audited', async () => {
    const s = await start();
    const a = manualJob('lock', 'key generation');
    const view = s.jobs.start(a.spec);
    await s.vault.lock('idle');
    assert.deepEqual(a.cancels, [{ reason: 'vault locked during key generation', code: 'VAULT_LOCKED' }]);
    await s.vault.unlock(GOOD_PASSPHRASE);
    const ended = s.jobs.list().find((j) => j.id === view.id)!;
    assert.equal(ended.state, 'failed');
    assert.match(ended.error!.message, /vault locked during key generation/);
    assert.equal(s.audit.list({ type: 'JOB_CANCELLED' }).entries.find((e) => e.subject === view.id)?.details.reason, 'vault locked during key generation');
  });

  it('a console that stops while a job runs lists it after the restart as failed, interrupted, with an audit row', async () => {
    const s = await start();
    const crashed = manualJob('crash', 'share backup');
    const view = s.jobs.start(crashed.spec);
    crashed.control().progress('Writing the backup file');
    // The process dies: nothing more is written (no lock, no close of the jobs).
    s.db.close();
    open = open.filter((x) => x !== s);

    const after = await start();
    const listed = after.jobs.list().find((j) => j.id === view.id);
    assert.ok(listed, 'the interrupted job is listed after the restart');
    assert.equal(listed.state, 'failed');
    assert.equal(listed.error?.code, 'JOB_INTERRUPTED');
    assert.match(listed.error!.message, /interrupted: the console stopped during share backup/);
    assert.ok(listed.finishedAt);
    assert.ok(!after.jobs.list().some((j) => j.state === 'running'), 'never shown as still running');
    const rows = after.audit.list({ type: 'JOB_INTERRUPTED' }).entries.filter((e) => e.subject === view.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.details.reason, 'interrupted: the console stopped during share backup');

    // A clean shutdown during a job says the same, and the next start audits it no second time.
    const b = manualJob('clean', 'restore');
    const second = after.jobs.start(b.spec);
    await after.close();
    open = open.filter((x) => x !== after);
    const third = await start();
    const closed = third.jobs.list().find((j) => j.id === second.id)!;
    assert.equal(closed.state, 'failed');
    assert.match(closed.error!.message, /interrupted: the console stopped during restore/);
    assert.equal(third.audit.list({ type: 'JOB_INTERRUPTED' }).entries.filter((e) => e.subject === second.id).length, 1);
    assert.equal(third.audit.list({ type: 'JOB_INTERRUPTED' }).entries.filter((e) => e.subject === view.id).length, 1);
    assert.equal(third.audit.verify().intact, true);
  });

  it('cleans up', () => dir.cleanup());
});

function pick(j: { state: string; phase: string; percent: number | null }) {
  return { state: j.state, phase: j.phase, percent: j.percent };
}
