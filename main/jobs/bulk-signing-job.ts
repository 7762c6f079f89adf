/**
 * Signing a selection of approved permits as a job: "permit k of n" as its phase, one permit at a
 * time. Cancelling (by the operator, or by locking the vault) stops after the permit being signed:
 * that one settles as signed or failed with its reason, never half-signed; the ones done stay
 * done; the ones not started stay approved. The job ends with the counts.
 */
import type { PermitQueue } from '../permits/queue/permit-queue';
import type { JobSpec } from './job-service';

const permits = (n: number) => `${n} permit${n === 1 ? '' : 's'}`;

/** Checks the selection at once (only approved permits), so a refusal comes before any job starts. */
export function bulkSigningJob(queue: PermitQueue, permitIds: string[]): JobSpec {
  const ids = queue.signable(permitIds);
  let stopped = false;
  return {
    kind: 'bulk-sign',
    label: `Signing ${permits(ids.length)} from the queue`,
    activity: 'bulk signing',
    // One bulk signing at a time: the permits are signed in the order they were selected.
    group: 'bulk-sign',
    finishesCurrentStep: true,
    run: async (control) => {
      queue.markQueued(ids);
      const done = { signed: 0, notSigned: 0 };
      let started = 0;
      for (const id of ids) {
        if (stopped) break;
        started += 1;
        control.progress(`Signing permit ${started} of ${ids.length} (${id}) with the quorum`, (100 * (started - 1)) / ids.length);
        const item = await queue.signOne(id);
        if (item.state === 'signed') done.signed += 1;
        else done.notSigned += 1;
      }
      const notStarted = ids.slice(started);
      queue.unqueue(notStarted);
      const parts = [`${done.signed} of ${permits(ids.length)} signed`];
      if (done.notSigned) parts.push(`${done.notSigned} not signed (each with its reason on the queue)`);
      if (notStarted.length) parts.push(`${notStarted.length} not started (still approved)`);
      return { summary: parts.join('; '), keysetId: null };
    },
    cancel: () => {
      stopped = true;
    },
  };
}
