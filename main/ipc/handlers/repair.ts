import { repairJob } from '../../jobs/repair-job';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Replacing a lost node's EdDSA share: every request needs the unlocked vault. */
export function repairHandlers({ vault, repair, cluster, jobs }: Services): HandlersFor<'repair.'> {
  return {
    'repair.candidates': () => {
      vault.keyRing();
      return repair.candidates();
    },
    'repair.requestApproval': (request) => {
      vault.keyRing();
      return repair.requestApproval(request.keysetId, request.newNodeId, { reason: request.reason, requester: request.requester, ttlMinutes: request.ttlMinutes });
    },
    'repair.start': (request) => {
      vault.keyRing();
      return jobs.start(repairJob(repair, cluster, vault, request.keysetId, request.newNodeId, request.requestId));
    },
  };
}
