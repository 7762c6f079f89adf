import type { DrillReportView } from '../../../../preload/contract';
import { Time } from '../../components/Time';

export const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** One drill's report: passed or failed in large letters, why, who took part, each step's time. */
export function DrillReport({ report }: { report: DrillReportView }) {
  const passed = report.outcome === 'passed';
  return (
    <article className={`drill-report ${passed ? 'drill-report-passed' : 'drill-report-failed'}`} data-testid="drill-report" data-outcome={report.outcome}>
      <h3>
        {report.runbookTitle}: <span data-testid="drill-outcome">{passed ? 'PASSED' : 'FAILED'}</span>
        {passed ? <> — recovered in <span data-testid="drill-ttr">{seconds(report.timeToRecoverMs)}</span></> : null}
      </h3>
      {report.failureReason ? <p data-testid="drill-failure"><strong>Why it failed:</strong> {report.failureReason}</p> : null}
      <p className="small">
        Drill {report.drillId.slice(0, 8)} · <Time iso={report.startedAt} seconds /> to <Time iso={report.finishedAt} seconds />
        {report.keysetId ? <> · keyset {report.keysetId}{report.lab ? ' (LAB)' : ''}</> : null} · took part: {report.participants.join(', ')}
      </p>
      <table className="table">
        <thead><tr><th>Step</th><th>Result</th><th>Time</th><th>What happened</th></tr></thead>
        <tbody>
          {report.steps.map((s) => (
            <tr key={s.id} data-testid="drill-step" data-outcome={s.outcome} className={s.outcome === 'failed' ? 'row-danger' : undefined}>
              <td>{s.title}<br /><span className="small">{s.phase}</span></td>
              <td><strong>{s.outcome === 'passed' ? 'ok' : s.outcome === 'failed' ? 'FAILED' : 'not run'}</strong></td>
              <td>{seconds(s.durationMs)}</td>
              <td className="small">{s.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}
