import type { Services } from '../../services';
import type { HandlersFor } from '../router';
import { guardedRequest } from './guarded-request';

/** Vault policy: widening changes go through a guardian request; the kill switch and revocations act at once. */
export function policyHandlers(services: Services): HandlersFor<'policy.'> {
  const { vault, policy } = services;
  return {
    'policy.overview': () => {
      vault.keyRing();
      return policy.overview();
    },
    'policy.requestChange': (request) => guardedRequest(services, 'policy.change', request.policy.keysetId, () => policy.policyParameters(request.policy), request),
    'policy.change': (request) => {
      vault.keyRing();
      return policy.changePolicy(request.policy, request.requestId);
    },
    'policy.engageKillSwitch': (request) => {
      vault.keyRing();
      return policy.engageKillSwitch(request.reason, request.by);
    },
    'policy.requestKillSwitchRelease': (request) => guardedRequest(services, 'signing.unfreeze', 'kill-switch', () => policy.releaseParameters(), request),
    'policy.releaseKillSwitch': (request) => {
      vault.keyRing();
      return policy.releaseKillSwitch(request.requestId);
    },
    'policy.requestExecutionAuthorization': (request) => guardedRequest(services, 'execution-authorization.enable', request.scope.keysetId, () => policy.authorizationParameters(request.scope), request),
    'policy.enableExecutionAuthorization': (request) => {
      vault.keyRing();
      return policy.enableExecutionAuthorization(request.scope, request.requestId);
    },
    'policy.revokeExecutionAuthorization': (request) => {
      vault.keyRing();
      return policy.revokeExecutionAuthorization(request.id, request.reason, request.by);
    },
  };
}
