/**
 * Jobs as rows (migration 018): written when a job starts, moves to another phase and ends, so a
 * console that stopped while one ran finds it at the next start and closes it as interrupted.
 * A write that fails (the database is closing) never stops the job itself.
 */
import type { JobKind, JobState, JobView } from '../../preload/contract';
import type { Db } from '../store/database';

export type JobRecord = Omit<JobView, 'now' | 'cancelBlocked'> & { activity: string };

interface Row {
  job_id: string;
  kind: string;
  label: string;
  activity: string;
  job_group: string;
  state: string;
  phase: string;
  percent: number | null;
  started_at: string;
  finished_at: string | null;
  error_code: string | null;
  error_message: string | null;
  result_summary: string | null;
  result_keyset_id: string | null;
}

/** Ended jobs kept as rows; older ones are deleted (their outcome stays in the audit log). */
const KEEP_ENDED_ROWS = 200;

export class JobRecords {
  constructor(private readonly db: Db) {}

  insert(job: JobRecord): void {
    this.quietly(() =>
      this.db
        .prepare(`INSERT INTO jobs (job_id, kind, label, activity, job_group, state, phase, percent, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(job.id, job.kind, job.label, job.activity, job.group, job.state, job.phase, job.percent, job.startedAt),
    );
  }

  update(job: JobRecord): void {
    this.quietly(() =>
      this.db
        .prepare(`UPDATE jobs SET state = ?, phase = ?, percent = ?, finished_at = ?, error_code = ?, error_message = ?, result_summary = ?, result_keyset_id = ? WHERE job_id = ?`)
        .run(job.state, job.phase, job.percent, job.finishedAt, job.error?.code ?? null, job.error?.message ?? null, job.result?.summary ?? null, job.result?.keysetId ?? null, job.id),
    );
  }

  /** The most recent ended jobs, newest last. */
  recentEnded(limit: number): JobRecord[] {
    const rows = this.db.prepare(`SELECT * FROM jobs WHERE state != 'running' ORDER BY finished_at DESC, started_at DESC LIMIT ?`).all(limit) as Row[];
    return rows.reverse().map(toRecord);
  }

  /** Jobs a previous run of the console left running: closed as failed with `reason(activity)`. */
  closeInterrupted(finishedAt: string, code: string, message: (job: JobRecord) => string): JobRecord[] {
    return this.db.transaction(() => {
      const rows = (this.db.prepare(`SELECT * FROM jobs WHERE state = 'running' ORDER BY started_at`).all() as Row[]).map(toRecord);
      const close = this.db.prepare(`UPDATE jobs SET state = 'failed', finished_at = ?, error_code = ?, error_message = ? WHERE job_id = ? AND state = 'running'`);
      for (const job of rows) {
        const error = { code, message: message(job) };
        close.run(finishedAt, error.code, error.message, job.id);
        Object.assign(job, { state: 'failed', finishedAt, error });
      }
      this.db.prepare(`DELETE FROM jobs WHERE state != 'running' AND job_id NOT IN (SELECT job_id FROM jobs WHERE state != 'running' ORDER BY finished_at DESC LIMIT ?)`).run(KEEP_ENDED_ROWS);
      return rows;
    })();
  }

  private quietly(write: () => unknown): void {
    try {
      write();
    } catch {
      // The database is closing: the row keeps its last state and is closed as interrupted at the next start.
    }
  }
}

function toRecord(r: Row): JobRecord {
  return {
    id: r.job_id,
    kind: r.kind as JobKind,
    label: r.label,
    activity: r.activity,
    group: r.job_group,
    state: r.state as JobState,
    phase: r.phase,
    percent: r.percent,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    result: r.result_summary !== null ? { summary: r.result_summary, keysetId: r.result_keyset_id } : null,
  };
}
