import type { Services } from '../../services';
import type { HandlersFor } from '../router';
import { guardedRequest } from './guarded-request';

/** Trusted issuers (each change through a guardian request) and approvals given at this console. */
export function permitHandlers(services: Services): HandlersFor<'permits.'> {
  const { vault, permits } = services;
  return {
    'permits.issuers': () => {
      vault.keyRing();
      return permits.issuers();
    },
    'permits.requestIssuerEnrolment': (request) => {
      vault.keyRing();
      const parameters = permits.issuerEnrolParameters(request);
      return guardedRequest(services, 'permit-issuer.enrol', String(parameters.fingerprint), () => parameters, request);
    },
    'permits.enrolIssuer': (request) => {
      vault.keyRing();
      return permits.enrolIssuer(request, request.requestId);
    },
    'permits.requestIssuerRemoval': (request) => guardedRequest(services, 'permit-issuer.remove', request.fingerprint, () => permits.issuerRemoveParameters(request.fingerprint), request),
    'permits.removeIssuer': (request) => {
      vault.keyRing();
      return permits.removeIssuer(request.fingerprint, request.requestId);
    },
    'permits.approve': (request) => {
      vault.keyRing();
      return permits.approvePermit(request.permitId);
    },
    'permits.approvals': () => {
      vault.keyRing();
      return permits.approvals();
    },
  };
}
