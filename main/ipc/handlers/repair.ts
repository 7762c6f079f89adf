import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Replacing a lost node's EdDSA share: every request needs the unlocked vault. */
export function repairHandlers({ vault, repair }: Services): HandlersFor<'repair.'> {
  return {
    'repair.candidates': () => {
      vault.keyRing();
      return repair.candidates();
    },
    'repair.requestApproval': (request) => {
      vault.keyRing();
      return repair.requestApproval(request.keysetId, request.newNodeId, { reason: request.reason, requester: request.requester, ttlMinutes: request.ttlMinutes });
    },
    'repair.run': (request) => {
      vault.keyRing();
      return repair.run(request.keysetId, request.newNodeId, request.requestId);
    },
  };
}
