/**
 * The participating side of a session relayed by the coordinator: invite (admitted or refused),
 * run, and finish on this node's own terms. The coordinator is untrusted throughout: this node
 * records its own copy of the session and its own engine's result, and its own deadline holds.
 */
import type { PublicResult, ServerMessage, SessionInfo, SignedSessionRequest } from '../coordinator/protocol';
import { AppFailure } from '../errors';
import type { SessionResult } from '../mpc/index';
import { ClusterError } from './errors';
import type { LocalIdentity } from './identity';
import type { InviteContext } from './invites';
import { prepareParticipation, type ParticipationDeps } from './participation-setup';
import type { ParticipationRunner } from './presigned-runner';
import { isSetupProtocol } from './protocols';
import { sessionDeadline } from './session-limits';
import type { SessionEnd } from './session-requests';
import { isRefreshProtocol, RequestRefusal } from './session-request';
import { attestationGap, attestDone, needsAttestations } from './session-attestation';

export type { ParticipationDeps } from './participation-setup';

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

  /** Sessions joined through the coordinator and invites being admitted: what this transport adds to the node's load. */
  sessions(): SessionInfo[] {
    return [...this.inviting.values(), ...[...this.participations.values()].map((p) => p.info)];
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
      ...(this.d.repairs ? { repairRequest: (request: SignedSessionRequest) => this.d.repairs!.checkRequest(request) } : {}),
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
    const prepared = await prepareParticipation(this.d, m, (me) => this.inviteContext(me, this.d.requests.clusterId, ONLINE_MAX_TTL_MS));
    if (prepared.decline) {
      if (prepared.refusal) this.refuseRequest(m.session.sessionId, prepared.refusal, 'coordinator');
      return this.decline(m.session.sessionId, prepared.reason, prepared.code, prepared.requester);
    }
    const { info, runner, decision, share, aux, shareEpoch: epoch } = prepared;
    this.d.records.recordStart(info, decision, 'coordinator');
    // The guardians' approval is spent here once this node joined its refresh.
    if (isRefreshProtocol(info.protocol)) this.d.refreshes.joined(prepared.request);
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
      if (isSetupProtocol(info.protocol) || info.protocol === 'ecdsa-presign' || info.protocol === 'eddsa-repair') p.pendingShare = result;
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
      // Signed, so that every party can check that this one finished before it keeps the outcome.
      const me = this.d.membership.current;
      const attestation = me && needsAttestations(info.protocol) ? attestDone(me, info, pub) : undefined;
      this.d.requests.send({ t: 'done', sessionId: info.sessionId, result: pub, ...(attestation ? { attestation } : {}) });
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
        // A completed session is recorded with this node's own result; one it never finished itself
        // is not completed here, nor one whose outcome it keeps without every party's signed confirmation.
        const gap = m.state === 'completed' && p.ownResult && needsAttestations(p.info.protocol) ? attestationGap(p.info, p.ownResult, m.attestations, (id) => this.d.membership.nodeKey(id)) : null;
        const state = m.state === 'completed' && p.ownResult && !gap ? 'completed' : 'failed';
        const failure = state === 'completed' ? undefined : gap ? unprovenCompletion(p.info, gap) : (m.failure ?? { errorClass: 'transient' as const, code: 'FAILED', reason: 'The coordinator reported the session completed before this node finished it.' });
        if (gap) this.d.audit.append({ type: 'MPC_COMPLETION_UNPROVEN', actor: 'system', subject: sid, details: { protocol: p.info.protocol, keysetId: p.info.keysetId, gap } });
        if (state === 'completed' && p.info.protocol === 'ecdsa-presign' && p.pendingShare) this.d.pool.store(p.info, p.pendingShare, p.shareEpoch ?? null);
        this.d.records.finish(p.info, state, p.pendingShare, failure, p.ownResult);
        // Switched only when every party finished; on a failure the sealed new share waits for
        // "Finish interrupted refresh", which proves one share or the other before it decides.
        if (isRefreshProtocol(p.info.protocol) && state === 'completed') this.d.refreshes.sessionEnded(p.info, true, null);
        if (p.info.protocol === 'eddsa-repair' && this.d.membership.current) this.d.repairs?.sessionEnded(p.info, this.d.membership.current.nodeId, state === 'completed', p.pendingShare);
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

/** The failure recorded when the coordinator's "completed" is not backed by every party's signed confirmation. */
function unprovenCompletion(info: SessionInfo, gap: string): { errorClass: 'permanent'; code: string; reason: string } {
  const kept = isRefreshProtocol(info.protocol) ? ' This node keeps its current share; the new one stays sealed until "Finish interrupted refresh" proves which one the other nodes hold.' : ' Nothing of it was kept.';
  return { errorClass: 'permanent', code: 'COMPLETION_UNPROVEN', reason: `The coordinator reported the session completed, but ${gap}.${kept}`.slice(0, 500) };
}
