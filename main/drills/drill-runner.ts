/**
 * Runs one drill: its steps in order, each timed, then its cleanup steps whatever happened; then
 * the report (pass/fail, time to recover, who took part, each step's time, the failure reason) is
 * written to the drills table and the audit log in one transaction. A cancelled drill writes no
 * report: its cleanup still runs, and the job's cancellation is audited by the job service.
 */
import { randomUUID } from 'node:crypto';
import type { DrillReportView, DrillStepView } from '../../preload/channels/drills';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail } from '../errors';
import type { JobControl } from '../jobs/job-service';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { DrillContext, DrillDeps, DrillInput, StepDef } from './drill-steps';
import { runbooks, type RunbookDef } from './runbooks';

export interface DrillRunnerDeps extends DrillDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
}

const reasonOf = (error: unknown) => (error instanceof AppFailure ? error.message : 'an internal error (see the audit log)');

export class DrillRunner {
  readonly runbooks: Record<DrillInput['runbook'], RunbookDef>;

  constructor(private readonly d: DrillRunnerDeps) {
    this.runbooks = runbooks(d.db);
  }

  /** Checks what can be checked before anything runs, and returns the drill's context. */
  prepare(input: DrillInput, signal: AbortSignal): DrillContext {
    this.d.vault.keyRing();
    const def = this.runbooks[input.runbook];
    const keyset = input.keysetId ? this.d.cluster.keyset(input.keysetId) : null;
    if (input.keysetId && (!keyset || keyset.status !== 'active')) fail('DRILL_NOT_READY', `There is no active keyset ${input.keysetId} on this node.`, { keysetId: input.keysetId });
    if (def.needsKeyset && !keyset) fail('DRILL_NOT_READY', `The drill "${def.title}" runs on a keyset: choose one.`);
    if (def.needsLab && (!keyset?.lab || this.d.cluster.mode !== 'lab' || !this.d.lab.status().running)) {
      fail('DRILL_NEEDS_LAB', `The drill "${def.title}" takes a node out: it runs only on a lab keyset while the lab cluster runs (Keysets → Start lab cluster).`);
    }
    if (def.needsGuardians && (input.guardians ?? []).length !== 2) fail('DRILL_NOT_READY', `The drill "${def.title}" needs two guardians taking part: choose them and how each signs.`);
    if (input.runbook === 'node-compromised' && !input.vaultPassphrase) fail('DRILL_NOT_READY', 'Type the vault passphrase: you request the refresh this drill ends with.');
    return { drillId: randomUUID(), input, keyset, deps: this.d, participants: new Set(['operator']), signal, state: new Map() };
  }

  private async runStep(step: StepDef, ctx: DrillContext): Promise<DrillStepView & { error?: unknown }> {
    const started = this.d.clock.now();
    const t0 = performance.now();
    try {
      const detail = await step.run(ctx);
      return { id: step.id, title: step.title, phase: step.phase, outcome: 'passed', startedAt: new Date(started).toISOString(), durationMs: Math.round(performance.now() - t0), detail };
    } catch (error) {
      return { id: step.id, title: step.title, phase: step.phase, outcome: 'failed', startedAt: new Date(started).toISOString(), durationMs: Math.round(performance.now() - t0), detail: reasonOf(error), error };
    }
  }

  /** Runs the drill to its end; returns its report, or null when it was cancelled (nothing written). */
  async run(ctx: DrillContext, control: JobControl): Promise<DrillReportView | null> {
    const def = this.runbooks[ctx.input.runbook];
    const plan = def.plan();
    const steps: DrillStepView[] = [];
    const startedAt = this.d.clock.now();
    let failure: string | null = null;
    for (const [i, step] of plan.entries()) {
      if (ctx.signal.aborted) break;
      control.progress(`Step ${i + 1} of ${plan.length}: ${step.title}`, (i / plan.length) * 100);
      const { error, ...view } = await this.runStep(step, ctx);
      void error;
      steps.push(view);
      if (view.outcome === 'failed') {
        failure = `${step.title}: ${view.detail}`;
        break;
      }
    }
    for (const step of plan.slice(steps.length)) steps.push({ id: step.id, title: step.title, phase: step.phase, outcome: 'skipped', startedAt: new Date(this.d.clock.now()).toISOString(), durationMs: 0, detail: failure ? 'Not run: an earlier step failed.' : 'Not run: the drill was cancelled.' });
    for (const step of def.cleanup()) {
      control.progress(`Cleaning up: ${step.title}`, 95);
      const { error, ...view } = await this.runStep(step, ctx);
      void error;
      steps.push(view);
      if (view.outcome === 'failed' && !failure) failure = `${step.title}: ${view.detail}`;
    }
    if (ctx.signal.aborted) return null;
    const outcome = failure ? 'failed' : 'passed';
    const report: DrillReportView = {
      drillId: ctx.drillId,
      runbook: def.id,
      runbookTitle: def.title,
      keysetId: ctx.keyset?.keysetId ?? null,
      lab: !!ctx.keyset?.lab,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(this.d.clock.now()).toISOString(),
      outcome,
      timeToRecoverMs: outcome === 'passed' ? timeToRecover(steps) : null,
      participants: [...ctx.participants],
      steps,
      failureReason: failure,
    };
    this.write(report);
    return report;
  }

  private write(r: DrillReportView): void {
    this.d.db.transaction(() => {
      this.d.db
        .prepare('INSERT INTO drill_runs (drill_id, runbook, keyset_id, lab, started_at, finished_at, outcome, time_to_recover_ms, participants, steps, failure_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(r.drillId, r.runbook, r.keysetId, r.lab ? 1 : 0, Date.parse(r.startedAt), Date.parse(r.finishedAt), r.outcome, r.timeToRecoverMs, JSON.stringify(r.participants), JSON.stringify(r.steps), r.failureReason);
      this.d.audit.append({
        type: r.outcome === 'passed' ? 'DRILL_PASSED' : 'DRILL_FAILED',
        actor: 'operator',
        subject: r.drillId,
        details: {
          runbook: r.runbook,
          keysetId: r.keysetId,
          lab: r.lab,
          outcome: r.outcome,
          timeToRecoverMs: r.timeToRecoverMs,
          participants: r.participants,
          steps: r.steps.map((s) => ({ id: s.id, outcome: s.outcome, durationMs: s.durationMs })),
          failureReason: r.failureReason,
        },
      });
    })();
  }
}

/** From the first step after the incident to the end of the last check step (steps run one after another). */
export function timeToRecover(steps: DrillStepView[]): number | null {
  const incident = steps.findIndex((s) => s.phase === 'incident');
  if (incident < 0) return null;
  const after = steps.slice(incident + 1);
  const lastCheck = after.map((s) => s.phase).lastIndexOf('check');
  if (lastCheck < 0) return null;
  return after.slice(0, lastCheck + 1).reduce((sum, s) => sum + s.durationMs, 0);
}
