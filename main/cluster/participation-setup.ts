/**
 * Getting ready to join a session a peer requested. Everything here happens before this node
 * sends anything: a request that fails any check is declined with nothing taken or written.
 */
import type { ServerMessage, SessionInfo } from '../coordinator/protocol';
import { AppFailure } from '../errors';
import type { MpcSigner } from '../mpc/index';
import type { AuxGroups } from './aux-groups';
import type { ClusterDeps } from './deps';
import type { WireEnvelope } from './envelope';
import { ClusterError } from './errors';
import type { LocalIdentity } from './identity';
import { admitInvite, type AdmittedInvite, type InviteContext, type ParticipationPolicy } from './invites';
import type { KeysetRefreshes } from './keyset-refresh';
import type { Keysets } from './keysets';
import type { Membership } from './membership';
import type { PresignaturePool } from './presignatures';
import { PresignedSignRunner, type ParticipationRunner } from './presigned-runner';
import type { PrimePool } from './prime-pool';
import { isSetupProtocol } from './protocols';
import type { ShareRepairs } from './share-repair';
import type { SignAuthorizer } from './sign-authorization';
import type { KeygenWindow, RefusalAudit, SessionLimitSettings, SessionLoad } from './session-limits';
import type { SessionRecords } from './session-records';
import { RequestRefusal } from './session-request';
import type { SessionRequests } from './session-requests';
import { SessionRunner, type RunnerTransport } from './session-runner';
import { shareEpoch } from './share-epoch';

export interface ParticipationDeps extends ClusterDeps {
  policy: ParticipationPolicy;
  limits: SessionLimitSettings;
  /** Sessions running here over every transport, counted against `limits`. */
  load: SessionLoad;
  authorizer: SignAuthorizer;
  /** Pregenerated Paillier primes when the prime pool is empty (tests pass the test-only fixture). */
  primes?: () => Buffer | undefined;
  primePool: PrimePool;
  auxGroups: AuxGroups;
  signer: () => MpcSigner;
  membership: Membership;
  keysets: Keysets;
  records: SessionRecords;
  requests: SessionRequests;
  pool: PresignaturePool;
  keygenWindow: KeygenWindow;
  refusals: RefusalAudit;
  /** True when the air-gap transport runs that session. */
  airgapHas: (sessionId: string) => boolean;
  refreshes: KeysetRefreshes;
  /** eddsa-repair: the checks, and the rebuilt share or the new roster at the session's end. */
  repairs?: ShareRepairs;
}

/** A session this node is ready to join: what it runs, with the secrets it took for the run. */
export interface PreparedParticipation {
  decline: false;
  info: SessionInfo;
  runner: ParticipationRunner;
  decision: AdmittedInvite['decision'];
  request: AdmittedInvite['request'];
  share?: Buffer;
  aux?: Buffer;
  /** ecdsa-presign: epoch of the share the presignature is made with. */
  shareEpoch?: string;
}

/** An invite this node will not join: the sentence for the requester, and the refusal to audit when the request itself was refused. */
export interface InviteDecline {
  decline: true;
  reason: string;
  code?: string;
  requester?: string;
  refusal?: RequestRefusal;
}

/**
 * Prepares to join a session a peer requested, before this node sends anything: the signed request
 * admitted against this node's records and policy, the concurrency bound and key-generation window
 * checked, the share, auxiliary data, primes or presignature taken, the runner built, and the
 * authorizer's decision (a permit's single use) committed durably. Anything refused comes back as
 * a decline (with the refusal to audit when the request itself was refused); secrets taken are
 * wiped on every refusal.
 */
export async function prepareParticipation(
  d: ParticipationDeps,
  m: Extract<ServerMessage, { t: 'invite' }>,
  context: (me: LocalIdentity) => InviteContext,
  /** What carries the session's envelopes (default: the coordinator's relay; the air gap passes file bundles). */
  carrier?: (info: SessionInfo, me: LocalIdentity) => RunnerTransport,
): Promise<PreparedParticipation | InviteDecline> {
  const relayedId = m.session.sessionId;
  const decline = (reason: string, code?: string, requester?: string, refusal?: RequestRefusal): InviteDecline => ({ decline: true, reason, ...(code ? { code } : {}), ...(requester ? { requester } : {}), ...(refusal ? { refusal } : {}) });
  let me: LocalIdentity;
  try {
    me = await d.membership.identity();
  } catch {
    return decline('vault locked');
  }
  let admitted: AdmittedInvite;
  try {
    admitted = admitInvite(m.request, context(me));
    if (admitted.info.sessionId !== relayedId) throw new RequestRefusal('SESSION_REQUEST_MALFORMED', 'The relay announced another session id than the signed request carries.');
  } catch (error) {
    if (!(error instanceof RequestRefusal)) return decline('cannot check the session request');
    return decline(error.message, error.code, undefined, error);
  }
  const { info, decision } = admitted;
  const bound = d.load.refusal(info);
  if (bound) return decline(bound, undefined, info.requester);
  let share: Buffer | undefined;
  const keygen = isSetupProtocol(info.protocol);
  if (keygen) {
    if (!d.keygenWindow.permits(info, me.nodeId)) return decline('key generation is not open on this node (its operator has not started one or opened a key-generation window)', undefined, info.requester);
  } else if (!d.repairs?.isReceiver(info, me.nodeId)) {
    share = d.refreshes.shareFor(info);
    if (!share) return decline('share missing');
    if (info.protocol === 'ecdsa-sign-presigned') {
      const refusal = d.pool.refusal(info, shareEpoch(d.signer().shareInfo(share).publicShare));
      if (refusal) {
        share.fill(0);
        return decline(refusal);
      }
    }
  }
  let runner: ParticipationRunner;
  let aux: Buffer | undefined;
  try {
    const peers = await d.membership.peersFor(info, me);
    // Checked before anything is sent: the group's own auxiliary data, as this node sealed it.
    if (info.protocol === 'ecdsa-dkg' || (info.protocol === 'ecdsa-refresh-shares' && info.auxId)) aux = d.auxGroups.forKeygen(info.auxId!, info.parties, me.nodeId);
    const transport: RunnerTransport = carrier ? carrier(info, me) : { send: (to, envelope: WireEnvelope) => d.requests.send({ t: 'relay', sessionId: info.sessionId, to, envelope }) };
    // A pool entry is taken (and deleted) here: it is never offered to a second session.
    const primes = info.protocol === 'ecdsa-keygen' || info.protocol === 'ecdsa-aux' ? (d.primePool.take() ?? d.primes?.()) : undefined;
    if (info.protocol === 'ecdsa-sign-presigned') {
      const presignatureId = info.presignatureId!;
      runner = new PresignedSignRunner({ me, info, peers, signer: d.signer(), transport, share: share!, consume: () => d.pool.consume(presignatureId, info.keysetId, info.parties) });
    } else {
      runner = new SessionRunner({ me, info, peers, signer: d.signer(), transport, ...(share ? { share } : {}), ...(primes ? { primes } : {}), ...(aux ? { aux } : {}) });
    }
  } catch (error) {
    share?.fill(0);
    aux?.fill(0);
    return decline(error instanceof ClusterError ? error.reason : 'cannot prepare the session');
  }
  try {
    decision?.commit();
  } catch (error) {
    share?.fill(0);
    aux?.fill(0);
    const code = error instanceof AppFailure ? error.code : 'PERMIT_NOT_RECORDED';
    const message = error instanceof AppFailure ? error.message : 'This node could not record the permit as used, so it does not sign.';
    return decline(message, code, undefined, new RequestRefusal(code, message, true));
  }
  const epoch = info.protocol === 'ecdsa-presign' && share ? shareEpoch(d.signer().shareInfo(share).publicShare) : undefined;
  return { decline: false, info, runner, decision, request: admitted.request, ...(share ? { share } : {}), ...(aux ? { aux } : {}), ...(epoch ? { shareEpoch: epoch } : {}) };
}
