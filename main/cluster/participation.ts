/**
 * The participating side of a session relayed by the coordinator: invite (admitted or refused),
 * run, and finish on this node's own terms. The coordinator is untrusted throughout: this node
 * records its own copy of the session and its own engine's result, and its own deadline holds.
 */
import type { PublicResult, ServerMessage, SessionInfo } from '../coordinator/protocol';
import { AppFailure } from '../errors';
import type { MpcSigner, SessionResult } from '../mpc/index';
import type { AuxGroups } from './aux-groups';
import type { ClusterDeps } from './deps';
import type { WireEnvelope } from './envelope';
import { ClusterError } from './errors';
import type { LocalIdentity } from './identity';
import { admitInvite, type AdmittedInvite, type InviteContext, type ParticipationPolicy } from './invites';
import type { Keysets } from './keysets';
import type { Membership } from './membership';
import { shareEpoch } from './share-epoch';
import type { PrimePool } from './prime-pool';
import { isSetupProtocol } from './protocols';
import { PresignedSignRunner, type ParticipationRunner } from './presigned-runner';
import type { PresignaturePool } from './presignatures';
import { admissionRefusal, sessionDeadline, type KeygenWindow, type RefusalAudit, type SessionLimitSettings } from './session-limits';
import type { SessionRecords } from './session-records';
import type { SessionEnd, SessionRequests } from './session-requests';
import { SessionRunner, type RunnerTransport } from './session-runner';
import { isRefreshProtocol, RequestRefusal } from './session-request';
import type { KeysetRefreshes } from './keyset-refresh';
import type { SignAuthorizer } from './sign-authorization';

/** Refused requests audited one row each per window; more are only counted in the summary. */
const MAX_REFUSAL_ROWS_PER_WINDOW = 20;

/** Longest deadline a node accepts in a request relayed by the coordinator. */
const ONLINE_MAX_TTL_MS = 30 * 60_000;

interface Participation {
  info: SessionInfo;
  runner: ParticipationRunner;
  /**
   * Keygen or presign result held until the coordinator confirms every party finished: no
   * partial keysets, no presignature its partner lacks.
   */
  pendingShare?: SessionResult;
  /** ecdsa-presign: epoch of the share the presignature was made with. */
  shareEpoch?: string;
  /** Fires at this node's deadline (the request's, capped): the run is aborted and recorded failed whatever the relay says. */
  deadline: NodeJS.Timeout;
  /** Set once the coordinator's start reached the runner; a repeated start is ignored. */
  started?: boolean;
  /** The key share taken from the vault for this session, cleared when it ends. */
  share?: Buffer;
  /** ecdsa-dkg: the group's auxiliary data taken from the vault, cleared when it ends. */
  aux?: Buffer;
  /** What this node's own engine produced: the only result it records (the relay's copy is unverified). */
  ownResult?: PublicResult;
}

export interface ParticipationDeps extends ClusterDeps {
  policy: ParticipationPolicy;
  limits: SessionLimitSettings;
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
}

export class Participations {
  private readonly participations = new Map<string, Participation>();
  /** Invites being prepared (between their first check and their participation), by session id. */
  private readonly inviting = new Map<string, SessionInfo>();
  /** Individual MPC_SESSION_REFUSED rows written in the current window (the rest are summarized). */
  private refusalRows = { windowStart: 0, count: 0 };

  constructor(private readonly d: ParticipationDeps) {}

  has(sessionId: string): boolean {
    return this.participations.has(sessionId);
  }

  /** Sessions running here with the engine's progress, for the screen and the node's status lines. */
  running(): Array<{ sessionId: string; protocol: string; keysetId: string; step: number; total: number; label: string; parties: number; started: boolean }> {
    return [...this.participations.values()].map((p) => ({ sessionId: p.info.sessionId, protocol: p.info.protocol, keysetId: p.info.keysetId, step: p.runner.progress?.step ?? 0, total: p.runner.progress?.total ?? 0, label: p.runner.progress?.label ?? (p.started ? 'running' : 'waiting for the other nodes'), parties: p.info.parties.length, started: p.started === true }));
  }

  /**
   * The operator stops a session at this node: the engine is cancelled (a prime search stops
   * within 0.2 s) and the others are told; nothing of it is stored. False when it is not running.
   */
  cancel(sessionId: string): boolean {
    const p = this.participations.get(sessionId);
    if (!p) return false;
    p.runner.abort(new ClusterError({ errorClass: 'transient', code: 'CANCELLED', reason: "The session was cancelled by this node's operator." }));
    return true;
  }

  /**
   * Ends this node's running sessions whose info `matches`, as failed with `reason` (a job was
   * cancelled, the vault is locking): recorded and audited here, and reported to the coordinator,
   * which ends the session for every peer with the same reason. Returns the session ids ended.
   */
  abortMatching(matches: (session: SessionInfo) => boolean, code: string, reason: string): string[] {
    const ended: string[] = [];
    for (const [sessionId, p] of [...this.participations]) {
      if (!matches(p.info)) continue;
      this.endFailed(p, new ClusterError({ errorClass: 'permanent', code, reason }));
      ended.push(sessionId);
    }
    return ended;
  }

  /** No session runs or is being admitted here: background work (prime search, refill) may run. */
  idle(): boolean {
    return this.participations.size === 0 && this.inviting.size === 0;
  }

  /** Aborts every running participation's engine (connection lost, shutting down). */
  abortAll(failure: ClusterError): void {
    for (const p of this.participations.values()) p.runner.abort(failure);
  }

  /**
   * Ends every running participation as failed (the vault is locking), its own and those joined
   * for a peer alike: rows closed and peers told now, not left running until a restart.
   */
  endAll(failure: ClusterError): void {
    for (const p of [...this.participations.values()]) this.endFailed(p, failure);
  }

  /** Forgets every participation, clearing their timers and shares. */
  releaseAll(): void {
    for (const p of this.participations.values()) this.releaseParticipation(p);
    this.participations.clear();
  }

  /** Clears what a participation holds: its deadline timer and the key share from the vault. */
  private releaseParticipation(p: Participation): void {
    clearTimeout(p.deadline);
    p.share?.fill(0);
    p.aux?.fill(0);
  }

  /**
   * Entry point for everything the coordinator sends. The coordinator is untrusted: a message
   * that does not parse, repeats, or makes a handler fail is refused (declined and counted),
   * never an exception that escapes — no unhandled rejection can take the node down.
   */
  async handle(m: ServerMessage): Promise<void> {
    try {
      await this.onMessage(m);
    } catch (error) {
      this.d.refusals.record(`${m.t} handler failed: ${error instanceof AppFailure || error instanceof ClusterError ? error.code : 'internal error'}`);
      if (m.t === 'invite' && !this.participations.has(m.session.sessionId)) {
        try {
          this.d.requests.send({ t: 'decline', sessionId: m.session.sessionId, reason: 'this node could not take part in the session' });
        } catch {
          // The connection is gone; the coordinator will time the session out.
        }
      }
    }
  }

  private async onMessage(m: ServerMessage): Promise<void> {
    switch (m.t) {
      case 'invite':
        return this.onInvite(m);
      case 'start': {
        const p = this.participations.get(m.sessionId);
        if (p && !p.started) {
          p.started = true;
          void this.run(p);
        }
        return;
      }
      case 'envelope':
        this.participations.get(m.sessionId)?.runner.deliver(m.envelope);
        return;
      case 'session-end':
        return this.onSessionEnd(m);
      default:
        return;
    }
  }

  private decline(sessionId: string, reason: string, code?: string, requester?: string): void {
    this.d.refusals.record(code ?? reason, requester);
    this.d.requests.send({ t: 'decline', sessionId, reason: reason.slice(0, 500), ...(code ? { code } : {}) });
  }

  inviteContext(me: LocalIdentity, clusterId: string | null, maxTtlMs: number): InviteContext {
    return {
      me: me.nodeId,
      clusterId,
      policy: this.d.policy,
      authorizer: this.d.authorizer,
      requesterKey: (id) => this.d.membership.nodeKey(id),
      ownRequest: (sid) => this.d.requests.ownRequests.has(sid),
      keyset: (id) => this.d.keysets.get(id),
      sessionKnown: (sid) => this.d.records.known(sid) || this.participations.has(sid) || this.d.airgapHas(sid),
      isLab: (k) => this.d.keysets.isLab(k),
      pendingEpoch: (id) => this.d.refreshes.pendingEpoch(id),
      refreshApproval: (request, keyset) => this.d.refreshes.checkRequest(request, this.d.keysets.active(keyset.keysetId)),
      now: Date.now(),
      maxTtlMs,
    };
  }

  /**
   * A refused request: audited here, told to the requester through the relay. Anyone on the
   * relay's link can fabricate requests, so individual rows are bounded per window; beyond that
   * they are counted into the periodic MPC_INVITES_REFUSED summary.
   */
  refuseRequest(sessionId: string, refusal: RequestRefusal, transport: 'coordinator' | 'airgap'): void {
    const now = this.d.clock.now();
    if (now - this.refusalRows.windowStart >= this.d.limits.refusalAuditWindowMs) this.refusalRows = { windowStart: now, count: 0 };
    if (this.refusalRows.count >= MAX_REFUSAL_ROWS_PER_WINDOW) return this.d.refusals.record(`${refusal.code} (${transport})`);
    this.refusalRows.count += 1;
    this.d.audit.append({ type: 'MPC_SESSION_REFUSED', actor: 'system', subject: sessionId, details: { code: refusal.code, reason: refusal.message, transport } });
  }

  /**
   * An invite relayed by the coordinator. Joins only a request its requester signed, whose terms
   * match this node's records and policy, and — for a signing — that this node's authorizer
   * allows; the authorizer's commit is durable before this node sends anything.
   */
  private async onInvite(m: Extract<ServerMessage, { t: 'invite' }>): Promise<void> {
    const relayedId = m.session.sessionId;
    // A repeated invite is not a new session: ignored (and counted), never a second row.
    if (this.inviting.has(relayedId) || this.participations.has(relayedId)) {
      this.d.refusals.record('repeated invite (session id already known here)', m.session.requester);
      return;
    }
    this.inviting.set(relayedId, m.session);
    try {
      await this.prepareInvited(m);
    } finally {
      this.inviting.delete(relayedId);
    }
  }

  private async prepareInvited(m: Extract<ServerMessage, { t: 'invite' }>): Promise<void> {
    const relayedId = m.session.sessionId;
    let me: LocalIdentity;
    try {
      me = await this.d.membership.identity();
    } catch {
      return this.decline(relayedId, 'vault locked');
    }
    let admitted: AdmittedInvite;
    try {
      admitted = admitInvite(m.request, this.inviteContext(me, this.d.requests.clusterId, ONLINE_MAX_TTL_MS));
      if (admitted.info.sessionId !== relayedId) throw new RequestRefusal('SESSION_REQUEST_MALFORMED', 'The relay announced another session id than the signed request carries.');
    } catch (error) {
      if (!(error instanceof RequestRefusal)) return this.decline(relayedId, 'cannot check the session request');
      this.refuseRequest(relayedId, error, 'coordinator');
      return this.decline(relayedId, error.message, error.code);
    }
    const { info, decision } = admitted;
    const running = [...[...this.inviting.values()].filter((i) => i.sessionId !== info.sessionId), ...[...this.participations.values()].map((p) => p.info)];
    const bound = admissionRefusal(this.d.limits, running, info);
    if (bound) return this.decline(info.sessionId, bound, undefined, info.requester);
    let share: Buffer | undefined;
    const keygen = isSetupProtocol(info.protocol);
    if (keygen) {
      if (!this.d.keygenWindow.permits(info, me.nodeId)) return this.decline(info.sessionId, 'key generation is not open on this node (its operator has not started one or opened a key-generation window)', undefined, info.requester);
    } else {
      share = this.d.refreshes.shareFor(info);
      if (!share) return this.decline(info.sessionId, 'share missing');
      if (info.protocol === 'ecdsa-sign-presigned') {
        const refusal = this.d.pool.refusal(info, shareEpoch(this.d.signer().shareInfo(share).publicShare));
        if (refusal) {
          share.fill(0);
          return this.decline(info.sessionId, refusal);
        }
      }
    }
    let runner: ParticipationRunner;
    let aux: Buffer | undefined;
    try {
      const peers = await this.d.membership.peersFor(info, me);
      // Checked before anything is sent: the group's own auxiliary data, as this node sealed it.
      if (info.protocol === 'ecdsa-dkg' || (info.protocol === 'ecdsa-refresh-shares' && info.auxId)) aux = this.d.auxGroups.forKeygen(info.auxId!, info.parties, me.nodeId);
      const transport: RunnerTransport = { send: (to, envelope: WireEnvelope) => this.d.requests.send({ t: 'relay', sessionId: info.sessionId, to, envelope }) };
      // A pool entry is taken (and deleted) here: it is never offered to a second session.
      const primes = info.protocol === 'ecdsa-keygen' || info.protocol === 'ecdsa-aux' ? (this.d.primePool.take() ?? this.d.primes?.()) : undefined;
      if (info.protocol === 'ecdsa-sign-presigned') {
        const presignatureId = info.presignatureId!;
        runner = new PresignedSignRunner({ me, info, peers, signer: this.d.signer(), transport, share: share!, consume: () => this.d.pool.consume(presignatureId, info.keysetId, info.parties) });
      } else {
        runner = new SessionRunner({ me, info, peers, signer: this.d.signer(), transport, ...(share ? { share } : {}), ...(primes ? { primes } : {}), ...(aux ? { aux } : {}) });
      }
    } catch (error) {
      share?.fill(0);
      aux?.fill(0);
      return this.decline(info.sessionId, error instanceof ClusterError ? error.reason : 'cannot prepare the session');
    }
    try {
      decision?.commit();
    } catch (error) {
      share?.fill(0);
      aux?.fill(0);
      const code = error instanceof AppFailure ? error.code : 'PERMIT_NOT_RECORDED';
      const message = error instanceof AppFailure ? error.message : 'This node could not record the permit as used, so it does not sign.';
      this.refuseRequest(info.sessionId, new RequestRefusal(code, message, true), 'coordinator');
      return this.decline(info.sessionId, message, code);
    }
    const epoch = info.protocol === 'ecdsa-presign' && share ? shareEpoch(this.d.signer().shareInfo(share).publicShare) : undefined;
    this.d.records.recordStart(info, decision, 'coordinator');
    // The guardians' approval is spent here once this node joined its refresh.
    if (isRefreshProtocol(info.protocol)) this.d.refreshes.joined(admitted.request);
    // This node's own deadline (the request's, capped), whatever the coordinator does: a run never outlives it.
    const deadline = setTimeout(() => this.deadlinePassed(info.sessionId), Math.max(0, sessionDeadline(info, Date.now()) - Date.now()));
    deadline.unref();
    this.participations.set(info.sessionId, { info, runner, deadline, ...(share ? { share } : {}), ...(aux ? { aux } : {}), ...(epoch ? { shareEpoch: epoch } : {}) });
    this.d.requests.send({ t: 'accept', sessionId: info.sessionId });
  }

  /** Records envelopes the session dropped unread (forged or replayed): counted, nobody blamed. */
  private recordDropped(p: Participation): number {
    const dropped = p.runner.rejected;
    if (dropped.length > 0) {
      this.d.audit.append({ type: 'MPC_ENVELOPES_DROPPED', actor: 'system', subject: p.info.sessionId, details: { count: dropped.length, codes: [...new Set(dropped.map((e) => e.code))], claimedSenders: [...new Set(dropped.map((e) => e.sender))] } });
    }
    return dropped.length;
  }

  /** The request's deadline passed with the session still open here: abort it and record it failed. */
  private deadlinePassed(sessionId: string): void {
    const p = this.participations.get(sessionId);
    if (!p) return;
    const dropped = this.recordDropped(p);
    const failure = new ClusterError({
      errorClass: 'transient',
      code: 'DEADLINE_PASSED',
      reason: `The session passed the deadline its requester set before it finished${dropped > 0 ? ` (${dropped} message(s) failed verification and were dropped)` : ''}.`,
    });
    this.endFailed(p, failure);
  }

  /** Ends a running participation here as failed: engine stopped, secrets wiped, row closed, peers told. */
  private endFailed(p: Participation, failure: ClusterError): void {
    const { sessionId } = p.info;
    p.runner.abort(failure);
    this.participations.delete(sessionId);
    this.releaseParticipation(p);
    p.pendingShare?.share?.fill(0);
    p.pendingShare?.presignature?.fill(0);
    p.pendingShare?.aux?.fill(0);
    try {
      this.d.records.finish(p.info, 'failed', undefined, failure.toFailure(), undefined);
    } catch {
      // The database is closing; the running row is closed as NODE_RESTARTED on next start.
    }
    try {
      this.d.requests.send({ t: 'failed', sessionId, failure: failure.toFailure() });
    } catch {
      // The connection is gone: the coordinator times the session out for the peers.
    }
  }

  private async run(p: Participation): Promise<void> {
    const { info, runner } = p;
    try {
      const result = await runner.start();
      if (this.participations.get(info.sessionId) !== p) {
        // Ended meanwhile (deadline, session end, lock): the secret result is not kept.
        result.share?.fill(0);
        result.presignature?.fill(0);
        result.aux?.fill(0);
        return;
      }
      if (isSetupProtocol(info.protocol) || info.protocol === 'ecdsa-presign') p.pendingShare = result;
      if (isRefreshProtocol(info.protocol)) {
        // Sealed beside the old share before anyone hears this node finished (see keyset-refresh.ts).
        try {
          this.d.refreshes.sealPending(info, result);
        } finally {
          result.share?.fill(0);
        }
      }
      const pub: PublicResult = {
        ...(result.presignatureId ? { presignatureId: result.presignatureId.toString('hex') } : {}),
        ...(result.publicKey ? { publicKey: result.publicKey.toString('hex') } : {}),
        ...(result.address ? { address: result.address } : {}),
        ...(result.signature ? { signature: result.signature.toString('hex') } : {}),
        ...(result.recoveryId !== undefined && result.recoveryId !== null ? { recoveryId: result.recoveryId } : {}),
        ...(result.auxId ? { auxId: result.auxId.toString('hex') } : {}),
      };
      p.ownResult = pub;
      this.d.requests.send({ t: 'done', sessionId: info.sessionId, result: pub });
    } catch (error) {
      const failure = error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' });
      try {
        const me = this.d.membership.current;
        if (failure.errorClass === 'protocol-violation' && failure.blamedNode && failure.blamedNode !== me?.nodeId) {
          this.d.membership.quarantine(failure.blamedNode, failure.reason, info.sessionId);
        }
        this.d.requests.send({ t: 'failed', sessionId: info.sessionId, failure: failure.toFailure() });
      } catch {
        // Shutting down: the session is closed as NODE_RESTARTED on next start.
      }
    }
  }

  private onSessionEnd(m: SessionEnd): void {
    const sid = m.session.sessionId;
    const p = this.participations.get(sid);
    if (p) {
      // This node's own copy of the session (from the signed request), never the relay's.
      this.participations.delete(sid);
      try {
        this.recordDropped(p);
        if (!p.runner.finished) p.runner.abort(new ClusterError(m.state === 'failed' && m.failure ? m.failure : { errorClass: 'transient', code: 'FAILED', reason: 'The coordinator ended the session before this node finished it.' }));
        if (m.state === 'completed' && p.info.protocol === 'ecdsa-presign' && p.pendingShare) this.d.pool.store(p.info, p.pendingShare, p.shareEpoch ?? null);
        // A completed session is recorded with this node's own result; one it never finished itself is not completed here.
        const state = m.state === 'completed' && p.ownResult ? 'completed' : 'failed';
        const failure = state === 'failed' ? (m.failure ?? { errorClass: 'transient' as const, code: 'FAILED', reason: 'The coordinator reported the session completed before this node finished it.' }) : undefined;
        this.d.records.finish(p.info, state, p.pendingShare, failure, p.ownResult);
        // Switched only when every party finished; on a failure the sealed new share waits for
        // "Finish interrupted refresh", which proves one share or the other before it decides.
        if (isRefreshProtocol(p.info.protocol) && state === 'completed') this.d.refreshes.sessionEnded(p.info, true, null);
      } finally {
        this.releaseParticipation(p);
        p.pendingShare?.share?.fill(0);
        p.pendingShare?.presignature?.fill(0);
        p.pendingShare?.aux?.fill(0);
      }
    }
    this.d.requests.deliverEnd(m);
  }
}
