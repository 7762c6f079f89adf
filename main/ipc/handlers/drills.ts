import { drillJob } from '../../drills/drill-job';
import { runbookView } from '../../drills/runbooks';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Recovery drills: runbooks, starting one as a job, reports, history and the schedule. */
export function drillHandlers({ drills, jobs, cluster, vault }: Services): HandlersFor<'drills.'> {
  return {
    'drills.runbooks': () => {
      vault.keyRing();
      return Object.values(drills.runner.runbooks).map(runbookView);
    },
    'drills.history': () => {
      vault.keyRing();
      return drills.history.history();
    },
    'drills.report': (request) => {
      vault.keyRing();
      return drills.history.report(request.drillId);
    },
    'drills.start': (request) => jobs.start(drillJob(drills.runner, cluster, vault, request)),
    'drills.settings': () => {
      vault.keyRing();
      return drills.settings.get();
    },
    'drills.updateSettings': (request) => {
      vault.keyRing();
      return drills.settings.update(request);
    },
  };
}
