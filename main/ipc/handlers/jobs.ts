import { auxJob, keygenJob, presignJob } from '../../jobs/cluster-jobs';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function jobHandlers({ jobs, cluster, vault }: Services): HandlersFor<'jobs.'> {
  return {
    'jobs.list': () => {
      vault.keyRing();
      return { jobs: jobs.list() };
    },
    'jobs.startKeygen': (request) => jobs.start(keygenJob(cluster, vault, request.scheme)),
    'jobs.startPresign': (request) => jobs.start(presignJob(cluster, vault, request.keysetId)),
    'jobs.startAux': () => jobs.start(auxJob(cluster, vault)),
    'jobs.cancel': (request) => {
      vault.keyRing();
      return jobs.cancel(request.jobId);
    },
  };
}
