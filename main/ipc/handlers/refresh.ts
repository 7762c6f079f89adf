import { refreshJob } from '../../jobs/refresh-job';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Keyset share refresh: every request needs the unlocked vault. */
export function refreshHandlers({ vault, refresh, cluster, jobs }: Services): HandlersFor<'refresh.'> {
  return {
    'refresh.list': () => {
      vault.keyRing();
      return refresh.list();
    },
    'refresh.requestApproval': (request) => {
      vault.keyRing();
      return refresh.requestApproval(request.keysetId, { newAux: request.newAux, reason: request.reason, requester: request.requester, ttlMinutes: request.ttlMinutes });
    },
    'refresh.start': (request) => {
      vault.keyRing();
      return jobs.start(refreshJob(refresh, cluster, vault, request.keysetId, request.requestId, request.newAux));
    },
    'refresh.finishInterrupted': (request) => {
      vault.keyRing();
      return refresh.finishInterrupted(request.keysetId);
    },
    'refresh.setInterval': (request) => {
      vault.keyRing();
      return refresh.setInterval(request.keysetId, request.days);
    },
  };
}
