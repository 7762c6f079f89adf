/** Drill reports as stored, and per runbook the last passing drill and whether one is overdue. */
import type { DrillHistoryView, DrillReportView, RunbookId } from '../../preload/channels/drills';
import { RUNBOOK_IDS } from '../../preload/channels/drills';
import { fail } from '../errors';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { RunbookDef } from './runbooks';
import { DAY_MS, type DrillSettingsStore } from './settings';

type Row = Record<string, unknown>;
const iso = (ms: number) => new Date(ms).toISOString();

export class DrillHistory {
  constructor(private readonly o: { db: Db; clock: Clock; settings: DrillSettingsStore; runbooks: Record<RunbookId, RunbookDef> }) {}

  private toView(r: Row): DrillReportView {
    const runbook = r.runbook as RunbookId;
    return {
      drillId: String(r.drill_id),
      runbook,
      runbookTitle: this.o.runbooks[runbook]?.title ?? runbook,
      keysetId: r.keyset_id === null ? null : String(r.keyset_id),
      lab: r.lab === 1,
      startedAt: iso(Number(r.started_at)),
      finishedAt: iso(Number(r.finished_at)),
      outcome: r.outcome as 'passed' | 'failed',
      timeToRecoverMs: r.time_to_recover_ms === null ? null : Number(r.time_to_recover_ms),
      participants: JSON.parse(String(r.participants)) as string[],
      steps: JSON.parse(String(r.steps)) as DrillReportView['steps'],
      failureReason: r.failure_reason === null ? null : String(r.failure_reason),
    };
  }

  report(drillId: string): DrillReportView {
    const row = this.o.db.prepare('SELECT * FROM drill_runs WHERE drill_id = ?').get(drillId) as Row | undefined;
    if (!row) fail('DRILL_NOT_FOUND', 'There is no report of that drill on this console.', { drillId });
    return this.toView(row);
  }

  history(): DrillHistoryView {
    const now = this.o.clock.now();
    const settings = this.o.settings.get();
    const runs = (this.o.db.prepare('SELECT * FROM drill_runs ORDER BY finished_at DESC LIMIT 500').all() as Row[]).map((r) => this.toView(r));
    const runbooks = RUNBOOK_IDS.map((id) => {
      const mine = runs.filter((r) => r.runbook === id);
      const lastPassed = mine.find((r) => r.outcome === 'passed');
      const nextDue = lastPassed ? Date.parse(lastPassed.finishedAt) + settings.drillIntervalDays * DAY_MS : null;
      return {
        runbook: id,
        title: this.o.runbooks[id].title,
        lastPassedAt: lastPassed?.finishedAt ?? null,
        lastRunAt: mine[0]?.finishedAt ?? null,
        nextDueAt: nextDue === null ? null : iso(nextDue),
        overdue: nextDue === null || now >= nextDue,
      };
    });
    return { runs, runbooks, settings, now: iso(now) };
  }
}
