import { useCallback, useEffect, useState } from 'react';
import type { AppError, DrillHistoryView, GuardianView, KeysetView, RunbookView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { JobList } from '../../components/JobCard';
import { Time } from '../../components/Time';
import { runningIn, useJobPolling, useJobs } from '../../jobs';
import { useConsole } from '../../store';
import { DrillReport, seconds } from './DrillReport';
import { KeyChecksPanel } from './KeyChecksPanel';
import { RunbookCard } from './RunbookCard';
import { TimeToRecoverChart } from './TimeToRecoverChart';

function Schedule({ history, onSaved }: { history: DrillHistoryView; onSaved(): void }) {
  const [keyDays, setKeyDays] = useState(String(history.settings.keyCheckIntervalDays));
  const [drillDays, setDrillDays] = useState(String(history.settings.drillIntervalDays));
  const [error, setError] = useState<AppError | null>(null);
  return (
    <section className="card" aria-labelledby="schedule-title">
      <h2 id="schedule-title">Schedule</h2>
      <div className="field-row">
        <div className="field"><label htmlFor="key-check-days">Key checks every (days)</label><input id="key-check-days" type="number" min={1} max={730} value={keyDays} onChange={(e) => setKeyDays(e.target.value)} /></div>
        <div className="field"><label htmlFor="drill-days">Each runbook drilled every (days)</label><input id="drill-days" type="number" min={1} max={730} value={drillDays} onChange={(e) => setDrillDays(e.target.value)} /></div>
        <button type="button" className="secondary" onClick={async () => {
          const r = await api.drills.updateSettings({ keyCheckIntervalDays: Number(keyDays), drillIntervalDays: Number(drillDays) });
          if (r.ok) { setError(null); onSaved(); } else setError(r.error);
        }}>Save schedule</button>
      </div>
      <ErrorNotice error={error} />
    </section>
  );
}

/** Key checks, the runbooks as drills, the last report, and the history with time to recover. */
export function DrillsScreen() {
  useJobPolling();
  const jobs = useJobs((s) => s.jobs);
  const cluster = useConsole((s) => s.cluster);
  const [runbooks, setRunbooks] = useState<RunbookView[]>([]);
  const [history, setHistory] = useState<DrillHistoryView | null>(null);
  const [keysets, setKeysets] = useState<KeysetView[]>([]);
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  const running = runningIn(jobs, 'drill');
  const refresh = useCallback(async () => {
    const [rb, h, ks, gs] = await Promise.all([api.drills.runbooks({}), api.drills.history({}), api.cluster.keysets({}), api.guardians.list({})]);
    if (rb.ok) setRunbooks(rb.value);
    if (h.ok) setHistory(h.value);
    else setError(h.error);
    if (ks.ok) setKeysets(ks.value);
    if (gs.ok) setGuardians(gs.value.guardians);
  }, []);
  useEffect(() => void refresh(), [refresh]);
  // A drill that ends brings its report and the chart up to date.
  const lastEnded = jobs.filter((j) => j.kind === 'drill' && j.state !== 'running').map((j) => j.id).join();
  useEffect(() => void refresh(), [lastEnded, refresh]);
  const latest = history?.runs[0] ?? null;
  return (
    <main className="screen" aria-labelledby="drills-title">
      <h1 id="drills-title">Drills and key checks</h1>
      <ErrorNotice error={error} />
      {history ? (
        <section className="card" aria-labelledby="due-title" data-testid="drill-due">
          <h2 id="due-title">Runbooks: last passing drill</h2>
          <table className="table">
            <thead><tr><th>Runbook</th><th>Last passed</th><th>Next due</th></tr></thead>
            <tbody>
              {history.runbooks.map((r) => (
                <tr key={r.runbook} data-testid={`due-${r.runbook}`} data-overdue={r.overdue ? 'true' : 'false'} className={r.overdue ? 'row-danger' : undefined}>
                  <td>{r.title}</td>
                  <td>{r.lastPassedAt ? <Time iso={r.lastPassedAt} /> : 'Never'}</td>
                  <td>{r.overdue ? <span className="badge badge-danger">OVERDUE</span> : null} {r.nextDueAt ? <Time iso={r.nextDueAt} /> : 'Drill it now'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <JobList kinds={['drill']} />
      {latest ? (
        <section className="card" aria-labelledby="latest-title">
          <h2 id="latest-title">Latest drill report</h2>
          <DrillReport report={latest} />
        </section>
      ) : null}
      {history ? (
        <section className="card" aria-labelledby="chart-title">
          <h2 id="chart-title">Time to recover over time</h2>
          <TimeToRecoverChart runs={history.runs} runbooks={history.runbooks} />
          {history.runs.length ? (
            <details>
              <summary>Every drill ({history.runs.length})</summary>
              <ul className="small">
                {history.runs.map((r) => <li key={r.drillId}><Time iso={r.finishedAt} /> — {r.runbookTitle}: {r.outcome === 'passed' ? `passed in ${seconds(r.timeToRecoverMs)}` : `FAILED (${r.failureReason ?? ''})`}</li>)}
              </ul>
            </details>
          ) : null}
        </section>
      ) : null}
      <section className="card" aria-labelledby="runbooks-title">
        <h2 id="runbooks-title">Run a drill</h2>
        <p className="hint">Drills run real steps but never move funds: what the nodes sign is a key-check message, never a transaction. One drill at a time.</p>
        <div className="runbooks">
          {runbooks.map((rb) => <RunbookCard key={rb.id} runbook={rb} keysets={keysets} guardians={guardians} busy={!!running} labRunning={!!cluster?.lab.running} />)}
        </div>
      </section>
      <KeyChecksPanel />
      {history ? <Schedule history={history} onSaved={() => void refresh()} /> : null}
    </main>
  );
}
