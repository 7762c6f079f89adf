/**
 * The signer cluster's parts and how they are connected: membership, keysets, session records and
 * requests, participation, signing, presignatures and their refill, the prime pool, key generation,
 * refresh and the air gap. `ClusterService` holds what this builds and is the one public API.
 */
import type { AuditLog } from '../audit/audit-log';
import type { SessionInfo } from '../coordinator/protocol';
import type { MpcSigner } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { AirgapGroupSessions } from './airgap-group';
import { AirgapRefusals } from './airgap-refusals';
import { AirgapSessions } from './airgap-sessions';
import { ClusterConfigStore } from './cluster-config';
import { AuxGroups } from './aux-groups';
import type { ClusterDeps } from './deps';
import type { SessionFailure } from './errors';
import type { LocalIdentity } from './identity';
import { DEFAULT_POLICY, type ParticipationPolicy } from './invites';
import { KeygenCeremonies } from './keygen';
import { KeysetRefreshes } from './keyset-refresh';
import { Keysets, type KeysetRecord } from './keysets';
import { Membership } from './membership';
import { Participations, type ParticipationDeps } from './participation';
import { PeerRoster } from './peer-roster';
import { PresignRequests } from './presign-requests';
import { PresignatureRefill } from './presignature-refill';
import { PresignaturePool } from './presignatures';
import { PrimePool } from './prime-pool';
import { RefreshRequests } from './refresh-requests';
import { RepairRequests } from './repair-requests';
import { ShareRepairs } from './share-repair';
import { defaultStateDir, RollbackGuard } from './rollback-guard';
import { DEFAULT_SESSION_LIMITS, KeygenWindow, RefusalAudit, SessionLoad, type SessionLimitSettings } from './session-limits';
import { SessionRecords } from './session-records';
import { sessionFailure, SessionRequests } from './session-requests';
import type { SignAuthorizer } from './sign-authorization';
import { Signing } from './signing';

export interface ClusterServiceOptions {
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
  name?: string;
  policy?: ParticipationPolicy;
  /** Pregenerated Paillier primes for ECDSA key generation (tests pass the test-only fixture). */
  primes?: () => Buffer | undefined;
  signer?: MpcSigner;
  /** Decides, at this node, whether it contributes to a signature (permits, policy, key checks). */
  authorizer: SignAuthorizer;
  /** Folder of the rollback counter's mirror, outside the data folder (default: the OS state folder). */
  stateDir?: string;
  /** Bounds on concurrent sessions and the refusal audit window. */
  limits?: Partial<SessionLimitSettings>;
  /** Entries the prime pool keeps ready (default 2, at most 8; 0 turns refilling off). */
  primePoolTarget?: number;
  /** Addresses of this vault's enrolled guardians, against which refresh approvals are checked. */
  guardianAddresses?: () => string[] | null;
}

/** Late-bound parts of the service the components call back into. */
export interface ClusterHooks {
  signer: () => MpcSigner;
  labMode: () => boolean;
  identity: () => Promise<LocalIdentity>;
}

/** Builds the cluster's parts and connects them to each other (the service only holds them). */
export function wireCluster(o: ClusterServiceOptions, hooks: ClusterHooks) {
  const signer = hooks.signer;
  const deps: ClusterDeps = { db: o.db, vault: o.vault, audit: o.audit, clock: o.clock };
  const policy = o.policy ?? DEFAULT_POLICY;
  const limits: SessionLimitSettings = { ...DEFAULT_SESSION_LIMITS, ...o.limits };
  const guard = new RollbackGuard({ ...deps, stateDir: o.stateDir ?? defaultStateDir() });
  const pool = new PresignaturePool({ ...deps, guard, alsoDiscard: () => ({ primesDiscarded: primePool.discardAllInTransaction() }) });
  const keygenWindow = new KeygenWindow(o.clock);
  const refusals = new RefusalAudit(o.audit, o.clock, limits.refusalAuditWindowMs);
  const load = new SessionLoad(limits);
  const membership = new Membership(deps, o.name ?? 'console');
  const roster = new PeerRoster(deps, membership);
  const keysetStore = new Keysets(deps);
  const auxGroupStore = new AuxGroups({ ...deps, signer });
  const primePool: PrimePool = new PrimePool({ ...deps, signer, idle: () => participations.idle(), guard, rollbackChecked: () => pool.ready(), ...(o.primePoolTarget !== undefined ? { target: o.primePoolTarget } : {}) });
  const records = new SessionRecords({ ...deps, keysets: keysetStore, auxGroups: auxGroupStore, signer, me: () => membership.current, labMode: () => hooks.labMode(), keygenEnded: (id) => keygenWindow.finishedHere(id) });
  const requests = new SessionRequests(membership);
  const keysetRefreshes = new KeysetRefreshes({ ...deps, keysets: keysetStore, auxGroups: auxGroupStore, pool, signer, guardianAddresses: o.guardianAddresses ?? (() => null) });
  const shareRepairs = new ShareRepairs({ ...deps, keysets: keysetStore, membership, roster, signer, guardianAddresses: o.guardianAddresses ?? (() => null) });
  const participationDeps: ParticipationDeps = {
    ...deps,
    policy,
    limits,
    load,
    authorizer: o.authorizer,
    ...(o.primes ? { primes: o.primes } : {}),
    primePool,
    auxGroups: auxGroupStore,
    signer,
    membership,
    keysets: keysetStore,
    records,
    requests,
    pool,
    keygenWindow,
    refusals,
    airgapHas: (sid) => airgap.has(sid),
    refreshes: keysetRefreshes,
    repairs: shareRepairs,
  };
  const participations: Participations = new Participations(participationDeps);
  load.counts(() => participations.sessions());
  const parts = { audit: o.audit, authorizer: o.authorizer, membership, keysets: keysetStore, requests, pool };
  const signing = new Signing(parts);
  const presignRequests = new PresignRequests(parts);
  const presignatureRefill = new PresignatureRefill({ ...deps, keysets: keysetStore, pool, presign: (id) => presignRequests.presign(id), ready: () => participations.idle() && requests.connected });
  const keygen = new KeygenCeremonies({ vault: o.vault, audit: o.audit, membership, keysets: keysetStore, auxGroups: auxGroupStore, requests, window: keygenWindow });
  const refreshRequests = new RefreshRequests({ membership, keysets: keysetStore, requests, keygen, refreshes: keysetRefreshes });
  const repairRequests = new RepairRequests({ membership, keysets: keysetStore, roster, requests, repairs: shareRepairs });
  const configStore = new ClusterConfigStore(o.vault);
  const airgapGroup = new AirgapGroupSessions({
    deps: participationDeps,
    identity: () => hooks.identity(),
    // The configured cluster (air-gapped or not), else the coordinator's.
    clusterId: () => configStore.get()?.name ?? requests.clusterId,
    inviteContext: (me, clusterId, maxTtlMs) => participations.inviteContext(me, clusterId, maxTtlMs),
    refuseRequest: (sid, refusal, transport) => participations.refuseRequest(sid, refusal, transport),
    preAuthorize: (keyset, body, me) => signing.preAuthorize(keyset, body, me),
  });
  const airgap: AirgapSessions = new AirgapSessions({
    identity: () => hooks.identity(),
    keyset: (id) => keysetStore.get(id),
    activeKeyset: (id) => keysetStore.active(id),
    peerSigningKey: (id) => (membership.node(id)?.isSelf ? null : membership.nodeKey(id)),
    preAuthorize: (keyset, body, me) => signing.preAuthorize(keyset as KeysetRecord, body, me),
    inviteContext: (me, clusterId, maxTtlMs) => participations.inviteContext(me, clusterId, maxTtlMs),
    ownRequests: requests.ownRequests,
    refuseRequest: (sid, refusal, transport) => participations.refuseRequest(sid, refusal, transport),
    sessionKnown: (sid) => records.known(sid),
    peersFor: (info, me) => membership.peersFor(info, me),
    share: (keysetId) => keysetStore.share(keysetId),
    signer,
    recordStart: (info, decision, transport) => records.recordStart(info, decision, transport),
    finish: (info, state, failure, result) => records.finish(info, state, undefined, failure, result),
    quarantine: (nodeId, reason, sid) => membership.quarantine(nodeId, reason, sid),
    sessionFailure: (info, failure, permitSpent) => sessionFailureOf(info, failure, permitSpent, (id) => membership.node(id)?.name ?? null),
    load,
    refusals: new AirgapRefusals(deps),
    nodeName: (id) => membership.node(id)?.name ?? null,
  }, airgapGroup);
  load.counts(() => airgapGroup.infos());
  load.counts(() => airgap.infos());
  return { policy, pool, keygenWindow, refusals, membership, roster, keysetStore, auxGroupStore, primePool, records, requests, keysetRefreshes, participations, signing, presignRequests, presignatureRefill, keygen, refreshRequests, airgap, airgapGroup, shareRepairs, repairRequests };
}

export type ClusterComponents = ReturnType<typeof wireCluster>;

function sessionFailureOf(info: SessionInfo, failure: SessionFailure, permitSpent: boolean, nameOf: (nodeId: string) => string | null): never {
  return sessionFailure({ t: 'session-end', session: info, state: 'failed', failure }, permitSpent, nameOf);
}
