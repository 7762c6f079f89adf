import type { JobView } from '../../../preload/contract';
import { api } from '../api';
import { useJobs } from '../jobs';
import { Time } from './Time';

function elapsedWords(job: JobView): string {
  const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.parse(job.now);
  const s = Math.max(0, Math.floor((end - Date.parse(job.startedAt)) / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

const CANCEL_WORDS: Partial<Record<JobView['kind'], string>> = {
  keygen: 'key generation',
  aux: 'auxiliary data',
  drill: 'drill',
  refresh: 'refresh',
  repair: 'repair',
  'bulk-sign': 'signing after the current permit',
  backup: 'backup',
  restore: 'restore',
};

const STATE_WORDS: Record<JobView['state'], string> = {
  running: 'Running',
  succeeded: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/**
 * One long operation: what runs, its phase and time (or percentage where the engine reports
 * one), a Cancel button while it runs; once ended, the outcome stays until dismissed.
 */
export function JobCard({ job }: { job: JobView }) {
  const { track, dismiss } = useJobs();
  const running = job.state === 'running';
  const tone = running ? 'notice' : job.state === 'succeeded' ? 'notice notice-ok' : 'notice notice-error';
  return (
    <div className={`${tone} job`} role={running ? 'status' : job.state === 'succeeded' ? 'status' : 'alert'} data-testid="job" data-job-kind={job.kind} data-job-state={job.state}>
      <div>
        <strong>{job.label}</strong> — <span data-testid="job-state">{STATE_WORDS[job.state]}</span>
        {' '}· started <Time iso={job.startedAt} /> · {running ? 'running for' : 'took'} <span data-testid="job-elapsed">{elapsedWords(job)}</span>
      </div>
      {running ? (
        <div data-testid="job-phase">
          {job.phase}
          {job.percent !== null ? (
            <>
              {' '}<progress max={100} value={job.percent} /> {job.percent}%
            </>
          ) : null}
        </div>
      ) : null}
      {job.result ? <div data-testid="job-result">{job.result.summary}</div> : null}
      {job.error ? (
        <div data-testid="job-error">
          {job.error.message} <span className="notice-code">{job.error.code}</span>
        </div>
      ) : null}
      {running && job.cancelBlocked ? (
        <div data-testid="job-cannot-cancel">Cannot be cancelled at this step: {job.cancelBlocked}.</div>
      ) : running ? (
        <button
          type="button"
          className="secondary"
          onClick={async () => {
            const r = await api.jobs.cancel({ jobId: job.id });
            if (r.ok) track(r.value);
          }}
        >
          Cancel {CANCEL_WORDS[job.kind] ?? 'job'}
        </button>
      ) : (
        <button type="button" className="link" onClick={() => dismiss(job.id)}>
          Dismiss
        </button>
      )}
    </div>
  );
}

/** The jobs of some kinds that are running, or ended and not yet dismissed. */
export function JobList({ kinds }: { kinds: readonly JobView['kind'][] }) {
  const { jobs, dismissed } = useJobs();
  const shown = jobs.filter((j) => kinds.includes(j.kind) && (j.state === 'running' || !dismissed.includes(j.id)));
  if (shown.length === 0) return null;
  return (
    <div className="jobs" data-testid="jobs">
      {shown.map((j) => <JobCard key={j.id} job={j} />)}
    </div>
  );
}
