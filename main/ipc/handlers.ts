/**
 * Binds each contract channel to the domain service that answers it. One module per channel
 * group under ./handlers; the Handlers type makes a missing channel a compile error.
 */
import type { Services } from '../services';
import { auditHandlers } from './handlers/audit';
import { backupHandlers } from './handlers/backup';
import { ceremonyHandlers } from './handlers/ceremony';
import { clusterHandlers } from './handlers/cluster';
import { exitHandlers } from './handlers/exit';
import { guardianHandlers } from './handlers/guardians';
import { jobHandlers } from './handlers/jobs';
import { membershipHandlers } from './handlers/membership';
import { overviewHandlers } from './handlers/overview';
import { drillHandlers } from './handlers/drills';
import { keyCheckHandlers } from './handlers/keychecks';
import { permitHandlers } from './handlers/permits';
import { policyHandlers } from './handlers/policy';
import { qrHandlers } from './handlers/qr';
import { vaultHandlers } from './handlers/vault';
import { refreshHandlers } from './handlers/refresh';
import { repairHandlers } from './handlers/repair';
import type { Handlers } from './router';

export function createHandlers(services: Services): Handlers {
  return {
    ...vaultHandlers(services),
    ...auditHandlers(services),
    ...guardianHandlers(services),
    ...clusterHandlers(services),
    ...ceremonyHandlers(services),
    ...permitHandlers(services),
    ...policyHandlers(services),
    ...backupHandlers(services),
    ...exitHandlers(services),
    ...jobHandlers(services),
    ...overviewHandlers(services),
    ...qrHandlers(services),
    ...membershipHandlers(services),
    ...keyCheckHandlers(services),
    ...drillHandlers(services),
    ...refreshHandlers(services),
    ...repairHandlers(services),
  };
}
