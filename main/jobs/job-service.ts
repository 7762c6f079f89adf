/**
 * Long operations owned by main. A job runs here whatever the renderer does: a screen that is
 * left, or a page that is reloaded, finds it again through `list()`. Each job has an id, a phase
 * (and a percentage where its engine reports one), a cancel and a final state.
 *
 * Jobs of one group exclude each other (one key generation at a time). Locking the vault cancels
 * every running job: its work is told to stop with "vault locked during <label>", and the
 * cancellation is audited, so nothing is left "running" with no record.
 */
import { randomUUID } from 'node:crypto';
import type { JobKind, JobView } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail } from '../errors';
import type { Clock } from '../platform/clock';
import type { VaultService } from '../vault/vault-service';

/** What a running job can report. */
export interface JobControl {
  progress(phase: string, percent?: number | null): void;
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
}

interface Job {
  view: Omit<JobView, 'now'>;
  spec: JobSpec;
  settled: Promise<void>;
}

/** Ended jobs kept for the screens; older ones are forgotten (their outcome is in the audit log). */
const KEEP_ENDED = 20;

const utcWords = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export class JobService {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly o: { clock: Clock; audit: AuditLog; vault: VaultService }) {
    // Registered before the cluster's own lock handler, so sessions end as failed with this reason
    // (and peers are told) before the connection closes.
    o.vault.onLock(() => void this.endForLock());
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
      fail('JOB_CONFLICT', `The ${clash.spec.label} started at ${utcWords(Date.parse(clash.view.startedAt))} is still running. Wait for it to end or cancel it, then start the ${spec.label}.`, { jobId: clash.view.id });
    }
    const id = randomUUID();
    const view: Job['view'] = {
      id, kind: spec.kind, label: spec.label, group: spec.group, state: 'running', phase: 'Starting', percent: null,
      startedAt: this.iso(), finishedAt: null, error: null, result: null,
    };
    const job: Job = { view, spec, settled: Promise.resolve() };
    const control: JobControl = {
      progress: (phase, percent = null) => {
        if (view.state !== 'running') return;
        view.phase = phase;
        view.percent = percent === null ? null : Math.max(0, Math.min(100, Math.round(percent)));
      },
    };
    job.settled = spec.run(control).then(
      (result) => {
        if (view.state !== 'running') return;
        Object.assign(view, { state: 'succeeded', phase: 'Done', percent: 100, finishedAt: this.iso(), result });
      },
      (error: unknown) => {
        if (view.state !== 'running') return;
        const known = error instanceof AppFailure ? { code: error.code, message: error.message } : { code: 'INTERNAL', message: `The ${spec.activity} stopped with an internal error; see the audit log and try again.` };
        Object.assign(view, { state: 'failed', finishedAt: this.iso(), error: known });
      },
    );
    this.jobs.set(id, job);
    this.forgetOld();
    return this.toView(job);
  }

  private forgetOld(): void {
    const ended = [...this.jobs.values()].filter((j) => j.view.state !== 'running');
    for (const job of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED))) this.jobs.delete(job.view.id);
  }

  private stop(job: Job, reason: string, code: string, state: 'failed' | 'cancelled', actor: 'operator' | 'system'): void {
    const { view, spec } = job;
    Object.assign(view, { state, finishedAt: this.iso(), error: { code, message: `The ${spec.activity} ${state === 'cancelled' ? 'was cancelled' : 'failed'}: ${reason}.` } });
    try {
      spec.cancel(reason, code);
    } catch {
      // A cancel that fails leaves the work to its own deadline; the job is ended here regardless.
    }
    this.o.audit.append({ type: 'JOB_CANCELLED', actor, subject: view.id, details: { kind: view.kind, label: spec.label, reason, state } });
  }

  cancel(jobId: string): JobView {
    const job = this.jobs.get(jobId);
    if (!job) fail('JOB_NOT_FOUND', 'There is no such job on this console (it may have ended long ago; see the audit log).', { jobId });
    if (job.view.state !== 'running') fail('JOB_FINISHED', `The ${job.spec.activity} already ended (${job.view.state}); there is nothing to cancel.`, { jobId });
    this.stop(job, `cancelled by the operator at ${utcWords(this.o.clock.now())}`, 'JOB_CANCELLED', 'cancelled', 'operator');
    return this.toView(job);
  }

  /**
   * Before a lock requested by the operator: ends every running job with "vault locked during …"
   * and waits (bounded) for its work to settle, so peers have been told before the lock closes
   * the connection. The lock listener does the same without waiting for an idle lock.
   */
  async cancelForLock(waitMs = 5_000): Promise<void> {
    const running = this.endForLock();
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running.map((j) => j.settled)), new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /** The one place a lock ends jobs: each running job fails with "vault locked during …". */
  private endForLock(): Job[] {
    const running = this.running();
    for (const job of running) this.stop(job, `vault locked during ${job.spec.activity}`, 'VAULT_LOCKED', 'failed', 'system');
    return running;
  }

  private toView(job: Job): JobView {
    return { ...job.view, error: job.view.error ? { ...job.view.error } : null, result: job.view.result ? { ...job.view.result } : null, now: this.iso() };
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
