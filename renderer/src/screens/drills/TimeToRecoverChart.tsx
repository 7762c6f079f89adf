import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DrillReportView, RunbookHistoryView } from '../../../../preload/contract';

/** Distinct, colour-blind-safe colours (Okabe–Ito), one per runbook. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00'];

/**
 * Time to recover (seconds) of each passing drill, per runbook, over time: one line with points
 * per runbook, so a slower recovery stands out.
 */
export function TimeToRecoverChart({ runs, runbooks }: { runs: DrillReportView[]; runbooks: RunbookHistoryView[] }) {
  const box = useRef<HTMLDivElement>(null);
  const passed = runs.filter((r) => r.outcome === 'passed' && r.timeToRecoverMs !== null).sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt));
  const key = passed.map((r) => r.drillId).join();
  useEffect(() => {
    const el = box.current;
    if (!el || passed.length === 0) return;
    const xs = passed.map((r) => Math.floor(Date.parse(r.finishedAt) / 1000));
    // At least an hour either side, so one drill is a point in a readable window, not a span of years.
    const pad = Math.max(3600, (xs[xs.length - 1]! - xs[0]!) * 0.05);
    const series = runbooks.map((rb) => passed.map((r) => (r.runbook === rb.runbook ? (r.timeToRecoverMs ?? 0) / 1000 : null)));
    const plot = new uPlot(
      {
        width: Math.max(480, el.clientWidth || 720),
        height: 280,
        title: 'Time to recover per runbook (seconds)',
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true, auto: false, range: [xs[0]! - pad, xs[xs.length - 1]! + pad] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] } },
        axes: [{ label: 'Drill date (UTC)' }, { label: 'seconds', size: 60 }],
        series: [
          { label: 'When' },
          ...runbooks.map((rb, i) => ({ label: rb.title, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true, size: 9, fill: COLOURS[i % COLOURS.length] }, value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(1)} s`) })),
        ],
      },
      [xs, ...series] as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  if (passed.length === 0) return <p className="hint" data-testid="ttr-chart-empty">No drill has passed yet: the chart of time to recover appears after the first.</p>;
  return <div ref={box} className="ttr-chart" data-testid="ttr-chart" />;
}
