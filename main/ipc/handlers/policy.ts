import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Vault policy: widening changes go through a guardian request; the kill switch and revocations act at once. */
export function policyHandlers({ policy, guardians, vault }: Services): HandlersFor<'policy.'> {
  return {
    'policy.overview': () => {
      vault.keyRing();
      return policy.overview();
    },
    'policy.requestChange': (request) => {
      vault.keyRing();
      return guardians.createRequest({
        operation: 'policy.change',
        subject: request.policy.keysetId,
        parameters: policy.policyParameters(request.policy),
        context: { reason: request.reason },
        requesterGuardianId: request.requesterGuardianId,
        ttlMinutes: request.ttlMinutes,
      });
    },
    'policy.change': (request) => {
      vault.keyRing();
      return policy.changePolicy(request.policy, request.requestId);
    },
    'policy.engageKillSwitch': (request) => {
      vault.keyRing();
      return policy.engageKillSwitch(request.reason);
    },
    'policy.requestKillSwitchRelease': (request) => {
      vault.keyRing();
      return guardians.createRequest({
        operation: 'signing.unfreeze',
        subject: 'kill-switch',
        parameters: policy.releaseParameters(),
        context: { reason: request.reason },
        requesterGuardianId: request.requesterGuardianId,
        ttlMinutes: request.ttlMinutes,
      });
    },
    'policy.releaseKillSwitch': (request) => {
      vault.keyRing();
      return policy.releaseKillSwitch(request.requestId);
    },
    'policy.requestExecutionAuthorization': (request) => {
      vault.keyRing();
      return guardians.createRequest({
        operation: 'execution-authorization.enable',
        subject: request.scope.keysetId,
        parameters: policy.authorizationParameters(request.scope),
        context: { reason: request.reason },
        requesterGuardianId: request.requesterGuardianId,
        ttlMinutes: request.ttlMinutes,
      });
    },
    'policy.enableExecutionAuthorization': (request) => {
      vault.keyRing();
      return policy.enableExecutionAuthorization(request.scope, request.requestId);
    },
    'policy.revokeExecutionAuthorization': (request) => {
      vault.keyRing();
      return policy.revokeExecutionAuthorization(request.id, request.reason);
    },
  };
}
