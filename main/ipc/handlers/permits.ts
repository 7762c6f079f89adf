import { bulkSigningJob } from '../../jobs/bulk-signing-job';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';
import { guardedRequest } from './guarded-request';

/** Trusted issuers (each change through a guardian request) and approvals given at this console. */
export function permitHandlers(services: Services): HandlersFor<'permits.'> {
  const { vault, permits, permitQueue: queue } = services;
  /** Every queue channel works on vault state only once the vault is open. */
  const open = <T>(work: () => T): T => {
    vault.keyRing();
    return work();
  };
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
    'permits.approvals': () => {
      vault.keyRing();
      return permits.approvals();
    },
    'permits.queue': () => open(() => queue.overview()),
    'permits.queueImport': (request) => open(() => queue.importFrom(request)),
    'permits.review': (request) => open(() => queue.review(request.permitId)),
    'permits.queueApprove': (request) => open(() => queue.approve(request.permitId)),
    'permits.queueReject': (request) => open(() => queue.reject(request.permitId, request.reason)),
    'permits.bulkSummary': (request) => open(() => queue.bulkSummary(request.permitIds)),
    'permits.bulkApprove': (request) => open(() => queue.bulkApprove(request.permitIds)),
    'permits.sign': (request) => open(() => services.jobs.start(bulkSigningJob(queue, request.permitIds))),
    'permits.signedResult': (request) => open(() => queue.signedResult(request.permitId)),
    'permits.export': (request) => open(() => queue.export(request.permitIds, request.folder, request.perPermit)),
    'permits.requestGuardianApproval': (request) => guardedRequest(services, 'withdrawal.large', request.permitId, () => queue.guardianParameters(request.permitId), request),
    'permits.recordGuardianApproval': (request) => open(() => queue.recordGuardianApproval(request.permitId, request.requestId)),
  };
}
