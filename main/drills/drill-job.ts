/**
 * A drill as a job owned by main: progress per step, and a cancel that stops the drill between
 * steps and ends this node's running drill signature at once (the peers are told); the cleanup
 * steps still run and no report is written.
 */
import type { ClusterService } from '../cluster/cluster-service';
import type { JobSpec } from '../jobs/job-service';
import type { VaultService } from '../vault/vault-service';
import type { DrillInput } from './drill-steps';
import type { DrillRunner } from './drill-runner';
import { fail } from '../errors';

export function drillJob(runner: DrillRunner, cluster: ClusterService, vault: VaultService, input: DrillInput): JobSpec {
  const def = runner.runbooks[input.runbook];
  const abort = new AbortController();
  // Checked before the job starts, so a drill that cannot run is refused at once.
  const ctx = runner.prepare(input, abort.signal);
  const me = vault.nodeId();
  return {
    kind: 'drill',
    label: `Drill: ${def.title}`,
    activity: 'recovery drill',
    // One drill at a time: two would take the same lab nodes out.
    group: 'drill',
    run: async (control) => {
      const report = await runner.run(ctx, control);
      if (!report) fail('DRILL_STEP_FAILED', 'The drill was cancelled; no report was written.');
      const seconds = report.timeToRecoverMs === null ? null : (report.timeToRecoverMs / 1000).toFixed(1);
      if (report.outcome === 'failed') fail('DRILL_STEP_FAILED', `Drill failed — ${report.failureReason ?? 'see the report'}. The report was written (drill ${report.drillId.slice(0, 8)}).`, { drillId: report.drillId });
      return { summary: `Drill passed: recovered in ${seconds} s (report ${report.drillId.slice(0, 8)})`, keysetId: report.keysetId };
    },
    cancel: (reason, code) => {
      abort.abort();
      if (ctx.keyset) void cluster.abortSessions((s) => s.requester === me && s.keysetId === ctx.keyset!.keysetId && s.protocol.endsWith('-sign'), code, reason);
    },
  };
}
