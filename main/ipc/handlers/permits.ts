import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Trusted issuers (each change through a guardian request) and approvals given at this console. */
export function permitHandlers({ permits, guardians, vault }: Services): HandlersFor<'permits.'> {
  return {
    'permits.issuers': () => {
      vault.keyRing();
      return permits.issuers();
    },
    'permits.requestIssuerEnrolment': (request) => {
      vault.keyRing();
      const parameters = permits.issuerEnrolParameters(request);
      return guardians.createRequest({
        operation: 'permit-issuer.enrol',
        subject: String(parameters.fingerprint),
        parameters,
        context: { reason: request.reason },
        requesterGuardianId: request.requesterGuardianId,
        ttlMinutes: request.ttlMinutes,
      });
    },
    'permits.enrolIssuer': (request) => {
      vault.keyRing();
      return permits.enrolIssuer(request, request.requestId);
    },
    'permits.requestIssuerRemoval': (request) => {
      vault.keyRing();
      return guardians.createRequest({
        operation: 'permit-issuer.remove',
        subject: request.fingerprint,
        parameters: permits.issuerRemoveParameters(request.fingerprint),
        context: { reason: request.reason },
        requesterGuardianId: request.requesterGuardianId,
        ttlMinutes: request.ttlMinutes,
      });
    },
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
