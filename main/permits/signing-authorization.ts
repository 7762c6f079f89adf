/**
 * The one place the signing authorization is put together, used by main/services.ts (console,
 * headless host, signer-node CLI and tests alike).
 */
import type { AuditLog } from '../audit/audit-log';
import type { OperationGuard } from '../guardians/guard';
import type { Clock } from '../platform/clock';
import { ExecutionAuthorizations } from '../policy/execution-authorizations';
import { PolicyService } from '../policy/policy-service';
import { PolicyStore } from '../policy/policy-store';
import type { RevokerVerifier } from '../policy/revoker';
import type { Db } from '../store/database';
import { PermitAuthorizer } from './authorizer';
import { PermitApprovals } from './permit-approvals';
import { PermitService } from './permit-service';
import { SpentPermits } from './spent-permits';
import { TrustedIssuers } from './trusted-issuers';
import { PermitChecker, type QueueKeyset } from './queue/permit-checker';
import { PermitQueue, type PermitQueueOptions } from './queue/permit-queue';
import type { QueueCluster } from './queue/queue-signing';

/** What the permit queue uses of the cluster: this node's keysets and signing under a permit. */
export interface QueueClusterSource extends QueueCluster {
  keyset(keysetId: string): QueueKeyset | null;
}

export interface SigningAuthorizationOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  /** The guardian guard (GuardianService) that approves every widening change. */
  guard: OperationGuard;
  /** Proves who revokes an execution authorization (the operator's passphrase or one guardian's signature). */
  revokers: RevokerVerifier;
}

export interface SigningAuthorization {
  authorizer: PermitAuthorizer;
  permits: PermitService;
  policy: PolicyService;
  /** The permit queue of this console, signing through `cluster`. */
  queue(cluster: QueueClusterSource, options?: Pick<PermitQueueOptions, 'importWorkers'>): PermitQueue;
}

export function createSigningAuthorization({ db, audit, clock, guard, revokers }: SigningAuthorizationOptions): SigningAuthorization {
  const issuers = new TrustedIssuers(db, audit, clock);
  const store = new PolicyStore(db);
  const authorizations = new ExecutionAuthorizations(db);
  const approvals = new PermitApprovals(db, audit, clock);
  const spent = new SpentPermits(db);
  const authorizer = new PermitAuthorizer({ db, audit, clock, issuers, policy: store, authorizations, spent, approvals });
  const permits = new PermitService({ db, audit, guard, issuers, approvals, authorizer });
  const policy = new PolicyService({ db, audit, clock, guard, store, authorizations, revokers });
  const queue = (cluster: QueueClusterSource, options: Pick<PermitQueueOptions, 'importWorkers'> = {}) =>
    new PermitQueue({ db, audit, clock, checker: new PermitChecker(authorizer, (id) => cluster.keyset(id), issuers), permits, approvals, policy: store, issuers, spent, cluster: () => cluster, ...options });
  return { authorizer, permits, policy, queue };
}
