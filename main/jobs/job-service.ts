/**
 * Long operations owned by main. A job runs here whatever the renderer does: a screen that is
 * left, or a page that is reloaded, finds it again through `list()`. Each job has an id, a phase
 * (and a percentage where its engine reports one), a cancel and a final state.
 *
 * Jobs of one group exclude each other (one key generation at a time). Locking the vault cancels
 * every running job: its work is told to stop with "vault locked during <label>", and the
 * cancellation is audited, so nothing is left "running" with no record. Jobs are rows too
 * (job-records.ts): one a stopped console left running is listed after the restart as failed,
 * "interrupted: the console stopped during <activity>", and audited.
 */
import { randomUUID } from 'node:crypto';
import type { JobKind, JobView } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail } from '../errors';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { LockReason, VaultService } from '../vault/vault-service';
import { JobRecords, type JobRecord } from './job-records';

/** What a running job can report. */
export interface JobControl {
  progress(phase: string, percent?: number | null): void;
  /**
   * From this step on the job cannot be cancelled (`why`, a sentence: "the restore is writing
   * the share"); `null` makes it cancellable again.
   */
  cannotCancel(why: string | null): void;
}

export interface JobSpec {
  kind: JobKind;
  /** What runs, for the screen: "ECDSA key generation (Ethereum)". */
  label: string;
  /** The activity in a sentence, lower case: "key generation" (as in "vault locked during key generation"). */
  activity: string;
  group: string;
  run(control: JobControl): Promise<{ summary: string; keysetId: string | null }>;
  /** Stops the work at once (ends its sessions as failed with `code` and `reason`); must not throw. */
  cancel(reason: string, code: string): void;
  /**
   * The work stops only after its current step (a permit being signed is never cut off), then
   * returns what it did: that result is kept on the cancelled or failed job ("2 of 5 signed").
   */
  finishesCurrentStep?: boolean;
}

interface Job {
  view: JobRecord;
  /** Null for a job read back from an earlier run of the console. */
  spec: JobSpec | null;
  cancelBlocked: string | null;
  settled: Promise<void>;
}

/** Ended jobs kept for the screens; older ones are forgotten (their outcome is in the audit log). */
const KEEP_ENDED = 20;

const utcWords = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export const interruptedReason = (activity: string) => `interrupted: the console stopped during ${activity}`;

export class JobService {
  private readonly jobs = new Map<string, Job>();
  private readonly records: JobRecords;

  constructor(private readonly o: { clock: Clock; audit: AuditLog; vault: VaultService; db: Db }) {
    this.records = new JobRecords(o.db);
    this.recoverInterrupted();
    // Registered before the cluster's own lock handler, so sessions end as failed with this reason
    // (and peers are told) before the connection closes.
    o.vault.onLock((reason) => void this.endForLock(reason));
  }

  /** Jobs the previous run of the console left running end as failed (interrupted), audited once each. */
  private recoverInterrupted(): void {
    const closed = this.records.closeInterrupted(this.iso(), 'JOB_INTERRUPTED', (job) => `The ${job.activity} failed: ${interruptedReason(job.activity)}.`);
    for (const job of closed) {
      this.o.audit.append({ type: 'JOB_INTERRUPTED', actor: 'system', subject: job.id, details: { kind: job.kind, label: job.label, reason: interruptedReason(job.activity), startedAt: job.startedAt } });
    }
    for (const view of this.records.recentEnded(KEEP_ENDED)) this.jobs.set(view.id, { view, spec: null, cancelBlocked: null, settled: Promise.resolve() });
  }

  private running(): Job[] {
    return [...this.jobs.values()].filter((j) => j.view.state === 'running');
  }

  private iso(ms = this.o.clock.now()): string {
    return new Date(ms).toISOString();
  }

  start(spec: JobSpec): JobView {
    this.o.vault.keyRing();
    const clash = this.running().find((j) => j.view.group === spec.group);
    if (clash) {
      fail('JOB_CONFLICT', `The ${clash.view.label} started at ${utcWords(Date.parse(clash.view.startedAt))} is still running. Wait for it to end or cancel it, then start the ${spec.label}.`, { jobId: clash.view.id });
    }
    const id = randomUUID();
    const view: JobRecord = {
      id, kind: spec.kind, label: spec.label, activity: spec.activity, group: spec.group, state: 'running', phase: 'Starting', percent: null,
      startedAt: this.iso(), finishedAt: null, error: null, result: null,
    };
    const job: Job = { view, spec, cancelBlocked: null, settled: Promise.resolve() };
    this.records.insert(view);
    const control: JobControl = {
      progress: (phase, percent = null) => {
        if (view.state !== 'running') return;
        view.phase = phase;
        view.percent = percent === null ? null : Math.max(0, Math.min(100, Math.round(percent)));
        this.records.update(view);
      },
      cannotCancel: (why) => {
        if (view.state === 'running') job.cancelBlocked = why;
      },
    };
    this.jobs.set(id, job);
    let work: Promise<{ summary: string; keysetId: string | null }>;
    try {
      work = spec.run(control);
    } catch (error) {
      work = Promise.reject(error);
    }
    job.settled = work
      .then(
        (result) => {
          if (view.state !== 'running') {
            if (spec.finishesCurrentStep) {
              view.result = result;
              this.records.update(view);
            }
            return;
          }
          Object.assign(view, { state: 'succeeded', phase: 'Done', percent: 100, finishedAt: this.iso(), result });
          this.records.update(view);
        },
        (error: unknown) => {
          if (view.state !== 'running') return;
          const known = error instanceof AppFailure ? { code: error.code, message: error.message } : { code: 'INTERNAL', message: `The ${spec.activity} stopped with an internal error; see the audit log and try again.` };
          Object.assign(view, { state: 'failed', finishedAt: this.iso(), error: known });
          this.records.update(view);
        },
      );
    this.forgetOld();
    return this.toView(job);
  }

  private forgetOld(): void {
    const ended = [...this.jobs.values()].filter((j) => j.view.state !== 'running');
    for (const job of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED))) this.jobs.delete(job.view.id);
  }

  private stop(job: Job, reason: string, code: string, state: 'failed' | 'cancelled', actor: 'operator' | 'system'): void {
    const { view, spec } = job;
    Object.assign(view, { state, finishedAt: this.iso(), error: { code, message: `The ${view.activity} ${state === 'cancelled' ? 'was cancelled' : 'failed'}: ${reason}${spec?.finishesCurrentStep ? ' (the step under way finishes first; what was done is kept)' : ''}.` } });
    this.records.update(view);
    try {
      spec?.cancel(reason, code);
    } catch {
      // A cancel that fails leaves the work to its own deadline; the job is ended here regardless.
    }
    try {
      this.o.audit.append({ type: code === 'JOB_INTERRUPTED' ? 'JOB_INTERRUPTED' : 'JOB_CANCELLED', actor, subject: view.id, details: { kind: view.kind, label: view.label, reason, state } });
    } catch {
      // The database is closing: the row is closed (and audited) as interrupted at the next start.
    }
  }

  cancel(jobId: string): JobView {
    const job = this.jobs.get(jobId);
    if (!job) fail('JOB_NOT_FOUND', 'There is no such job on this console (it may have ended long ago; see the audit log).', { jobId });
    if (job.view.state !== 'running') fail('JOB_FINISHED', `The ${job.view.activity} already ended (${job.view.state}); there is nothing to cancel.`, { jobId });
    if (job.cancelBlocked) fail('JOB_NOT_CANCELLABLE', `The ${job.view.activity} cannot be cancelled at this step: ${job.cancelBlocked}. Wait for it to end.`, { jobId });
    this.stop(job, `cancelled by the operator at ${utcWords(this.o.clock.now())}`, 'JOB_CANCELLED', 'cancelled', 'operator');
    return this.toView(job);
  }

  /**
   * Before a lock requested by the operator: ends every running job with "vault locked during …"
   * and waits (bounded) for its work to settle, so peers have been told before the lock closes
   * the connection. The lock listener does the same without waiting for an idle lock.
   */
  async cancelForLock(waitMs = 5_000): Promise<void> {
    const running = this.endForLock('operator');
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running.map((j) => j.settled)), new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /**
   * The one place a lock ends jobs: each running job fails with "vault locked during …", or with
   * "interrupted: the console stopped during …" when the console is shutting down. A job at a
   * step that cannot be cancelled (a restore writing the share) is left to finish that step; with
   * the vault locked its next step fails by itself.
   */
  private endForLock(reason: LockReason): Job[] {
    const running = this.running().filter((j) => reason === 'shutdown' || !j.cancelBlocked);
    for (const job of running) {
      if (reason === 'shutdown') this.stop(job, interruptedReason(job.view.activity), 'JOB_INTERRUPTED', 'failed', 'system');
      else this.stop(job, `vault locked during ${job.view.activity}`, 'VAULT_LOCKED', 'failed', 'system');
    }
    return running;
  }

  private toView(job: Job): JobView {
    const { activity: _activity, ...view } = job.view;
    return {
      ...view,
      error: view.error ? { ...view.error } : null,
      result: view.result ? { ...view.result } : null,
      cancelBlocked: view.state === 'running' ? job.cancelBlocked : null,
      now: this.iso(),
    };
  }

  list(): JobView[] {
    const all = [...this.jobs.values()];
    const running = all.filter((j) => j.view.state === 'running');
    const ended = all.filter((j) => j.view.state !== 'running').reverse();
    return [...running, ...ended].map((j) => this.toView(j));
  }

  /** Waits for every job's work to settle (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.settled));
  }
}
