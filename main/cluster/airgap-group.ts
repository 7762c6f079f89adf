/**
 * Multi-party sessions carried by file bundles, for the protocols that need more than a signing
 * partner: key generation (EdDSA; ECDSA with its auxiliary data), presign, the presigned signing,
 * and the refresh of every share (EdDSA; ECDSA shares only). The requester writes its signed
 * session request addressed to every other party (the terms each protocol names are in
 * airgap-group-requests.ts); each party admits it exactly as it would a coordinator invite
 * (prepareParticipation: signature, enrolment, policy, deadline, key-generation window,
 * authorizer, a refresh's guardian approval and epoch) and the parties exchange one sealed bundle
 * per round per recipient.
 *
 * What a node keeps (a new share, a presignature, a refreshed share) waits for every party's
 * signed completion, each carried in its own 'done' bundle, exactly as with the coordinator: a
 * node keeps the outcome only once it has checked all of them (session-attestation.ts). Until then
 * a new keyset or presignature stays in memory and is wiped at the deadline; a refreshed share is
 * sealed as pending beside the old one, as the coordinator path does (airgap-group-outcome.ts).
 *
 * No engine state is written to disk: a node that restarts mid-session loses its part (the row is
 * closed as NODE_RESTARTED) and the session is requested again.
 */
import type { PublicResult, RefreshApproval, SessionInfo, SessionRequestBody } from '../coordinator/protocol';
import { fail } from '../errors';
import type { ErrorCode } from '../../preload/contract';
import type { SessionResult } from '../mpc/index';
import { BundleInbox, BundleTransport, sealBundle, verifyBundle, writeBundle, type Bundle } from './airgap';
import { AIRGAP_DEFAULT_TTL_MS, AIRGAP_MAX_TTL_MS, type AirgapGroupHandle, type AirgapGroupHost, type AirgapGroupStatus } from './airgap-types';
import type { Peer } from './envelope';
import { ClusterError } from './errors';
import type { LocalIdentity } from './identity';
import { prepareParticipation, type PreparedParticipation } from './participation-setup';
import { createsKeyset, isSetupProtocol } from './protocols';
import { attestDone, needsAttestations } from './session-attestation';
import { CompletionExchange, completionBundle, publicResultOf, wipeResult } from './airgap-completion';
import { holdOutcome, keepOutcome, whatStays } from './airgap-group-outcome';
import { keygenTerms, presignTerms, refreshTerms } from './airgap-group-requests';
import { isRefreshProtocol, newSessionId, signSessionRequest, sessionInfoOf } from './session-request';
import { signatureMatchesKeyset } from './signature-check';

/** Protocols this module carries over the air gap (plain signing stays two-party, airgap-sessions.ts). */
export const GROUP_PROTOCOLS = ['eddsa-keygen', 'ecdsa-keygen', 'ecdsa-presign', 'ecdsa-sign-presigned', 'eddsa-refresh', 'ecdsa-refresh-shares'] as const;

export function isGroupProtocol(protocol: string): boolean {
  return (GROUP_PROTOCOLS as readonly string[]).includes(protocol);
}

export type { AirgapGroupHandle, AirgapGroupHost, AirgapGroupStatus } from './airgap-types';

interface GroupRun {
  info: SessionInfo;
  me: LocalIdentity;
  prepared: PreparedParticipation;
  peers: Map<string, Peer>;
  transport: BundleTransport;
  inbox: BundleInbox;
  outDir: string;
  /** Last round taken in, per sender. */
  received: Map<string, number>;
  /** The secret outcome, held until every party's completion checked out. */
  pending?: SessionResult;
  own?: PublicResult;
  completions: CompletionExchange;
  timer: NodeJS.Timeout;
  settle: { resolve: (r: PublicResult) => void; reject: (e: unknown) => void };
  handle: AirgapGroupHandle;
  /** Presigned signing requested here: the pool reservation to release at the end. */
  reserved?: string;
}

export class AirgapGroupSessions {
  private readonly running = new Map<string, GroupRun>();

  constructor(private readonly host: AirgapGroupHost) {}

  has(sessionId: string): boolean {
    return this.running.has(sessionId);
  }

  infos(): SessionInfo[] {
    return [...this.running.values()].map((r) => r.info);
  }

  handles(): AirgapGroupHandle[] {
    return [...this.running.values()].map((r) => r.handle);
  }

  status(): AirgapGroupStatus[] {
    return [...this.running.values()].map((r) => {
      const others = r.info.parties.map((p) => p.nodeId).filter((id) => id !== r.me.nodeId);
      const round = r.transport.round;
      const completion = r.own !== undefined;
      const waitingFor = completion ? r.completions.missing() : others.filter((id) => (r.received.get(id) ?? 0) < round);
      return { sessionId: r.info.sessionId, protocol: r.info.protocol, keysetId: r.info.keysetId, phase: completion ? 'completion' : 'rounds', round, waitingFor, deadlineAt: r.info.deadlineAt };
    });
  }

  /** The operator ends a session here: nothing of it is kept (a refresh's sealed share stays pending). False when none runs under that id. */
  cancel(sessionId: string, failure: ClusterError): boolean {
    const r = this.running.get(sessionId);
    if (!r) return false;
    this.end(r, failure);
    return true;
  }

  stopAll(): void {
    for (const r of [...this.running.values()]) this.end(r, new ClusterError({ errorClass: 'transient', code: 'NODE_STOPPED', reason: 'This node stopped (vault locked or console closed) before the air-gap session finished.' }));
  }

  /** A 2-of-3 key generation with this node and its two enrolled peers, by file bundles written into `outDir`. */
  async keygen(scheme: 'eddsa' | 'ecdsa', outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapGroupHandle> {
    const me = await this.host.identity();
    const terms = keygenTerms(this.host.deps, this.requireClusterId(), scheme, this.deadline(options.ttlMs));
    // The operator started this key generation here: this node takes its own request.
    this.host.deps.keygenWindow.startedHere(terms.keysetId);
    return this.open(me, terms, outDir);
  }

  /** One ECDSA presign of `keysetId` by this node and `partner`, by file bundles. */
  async presign(keysetId: string, partner: string, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapGroupHandle> {
    const me = await this.host.identity();
    return this.open(me, presignTerms(this.host.deps, me, keysetId, partner, this.deadline(options.ttlMs)), outDir);
  }

  /**
   * A refresh of every share of `keysetId` by this node and all other share holders, by file
   * bundles; `approval` is the guardians' approval (already spent at this console), which every
   * node checks against its own guardian registry when it admits the request.
   */
  async refresh(keysetId: string, approval: RefreshApproval, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapGroupHandle> {
    const me = await this.host.identity();
    return this.open(me, refreshTerms(this.host.deps, me, keysetId, approval, this.deadline(options.ttlMs)), outDir);
  }

  /** Signs with a ready presignature of `keysetId` (one round), by file bundles to its quorum partner. */
  async signPresigned(keysetId: string, what: { permit?: unknown; message: Buffer }, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapGroupHandle> {
    const me = await this.host.identity();
    const { keysets, pool, membership } = this.host.deps;
    const keyset = keysets.active(keysetId);
    if (what.message.length === 0 || what.message.length > 64 * 1024) fail('MPC_SESSION_REJECTED', 'The payload to sign must be 1 byte to 64 KiB (an unsigned transaction or message).');
    const pick = pool.pick(keyset, [], membership.quarantined());
    if (!pick || !pick.quorum.some((p) => p.nodeId === me.nodeId)) {
      if (pick) pool.release(pick.id);
      fail('MPC_SESSION_REJECTED', `No presignature of keyset ${keysetId} held by this node is ready. Run a presign by files first.`, { keysetId });
    }
    try {
      const body = { clusterId: keyset.clusterId, sessionId: newSessionId(), protocol: 'ecdsa-sign-presigned' as const, keysetId, parties: pick.quorum, threshold: keyset.threshold, message: what.message.toString('hex'), ...(what.permit !== undefined ? { permit: what.permit } : {}), presignatureId: pick.id, shareEpoch: keyset.shareEpoch ?? 0, deadlineAt: this.deadline(options.ttlMs) };
      const permitId = this.host.preAuthorize(keyset, { ...body, permitId: null }, me);
      return await this.open(me, { ...body, permitId }, outDir, pick.id);
    } catch (error) {
      pool.release(pick.id);
      throw error;
    }
  }

  /** A request bundle addressed to this node, checked as a join would check it first; nothing joined. */
  check(bundle: Bundle, me: string): void {
    const body = bundle.body.request?.body;
    const keyset = body && !isSetupProtocol(body.protocol) ? this.host.deps.keysets.get(body.keysetId) : null;
    const clusterId = keyset?.clusterId ?? this.host.clusterId();
    if (!body || !isGroupProtocol(body.protocol)) fail('BUNDLE_MALFORMED', 'This bundle is not a session request this node can run over the air gap.');
    if (!clusterId) fail('CLUSTER_NOT_READY', 'This node belongs to no cluster yet (configure it as air-gapped, or connect it), so it cannot check a key-generation request.');
    if (!isSetupProtocol(body.protocol) && !keyset) fail('KEYSET_NOT_FOUND', `The session request is for keyset ${body.keysetId}, which this node does not hold.`, { keysetId: body.keysetId });
    verifyBundle(bundle, { me, clusterId, senderKey: (id) => (id === me ? null : this.host.deps.membership.nodeKey(id)) });
  }

  /** Joins a session request read from the medium; its first round is written into `outDir`. */
  async join(bundle: Bundle, outDir: string): Promise<AirgapGroupHandle> {
    const me = await this.host.identity();
    this.check(bundle, me.nodeId);
    const request = bundle.body.request!;
    const clusterId = isSetupProtocol(request.body.protocol) ? this.host.clusterId() : this.host.deps.keysets.get(request.body.keysetId)!.clusterId;
    const { prepared, transport } = await this.prepare(request, clusterId, outDir);
    return this.start(me, prepared, transport, outDir);
  }

  /** Hands a round or completion bundle to its running session; false when it was already taken in. */
  deliver(bundle: Bundle): boolean {
    const r = this.running.get(bundle.header.sid);
    if (!r) fail('AIRGAP_SESSION_NOT_FOUND', `No air-gap session ${bundle.header.sid.slice(0, 16)}… is running on this node (finished, expired, or never started here).`);
    verifyBundle(bundle, { me: r.me.nodeId, clusterId: r.info.clusterId, session: r.info, senderKey: (id) => r.peers.get(id)?.signingKey ?? null });
    const h = bundle.header;
    if (h.kind === 'request') fail('BUNDLE_WRONG_ROUND', 'A session request cannot be imported into a running session.');
    if (h.kind === 'done') {
      if (!r.completions.admit(h.from, bundle.body.attestation!)) return false;
      this.settleIfComplete(r);
      return true;
    }
    if (!r.inbox.admit(bundle)) return false;
    r.received.set(h.from, Math.max(r.received.get(h.from) ?? 0, h.round));
    for (const env of bundle.body.envelopes) r.prepared.runner.deliver(env);
    return true;
  }

  /**
   * A party's signed refusal of a session running here: checked against the session's own
   * parties (throws when it does not verify), then the session ends failed with `failure`.
   */
  endByRefusal(bundle: Bundle, failure: ClusterError): void {
    const r = this.running.get(bundle.header.sid);
    if (!r) fail('AIRGAP_SESSION_NOT_FOUND', `No air-gap session ${bundle.header.sid.slice(0, 16)}… is running on this node.`);
    verifyBundle(bundle, { me: r.me.nodeId, clusterId: r.info.clusterId, session: r.info, senderKey: (id) => r.peers.get(id)?.signingKey ?? null });
    this.end(r, failure);
  }

  private requireClusterId(): string {
    const id = this.host.clusterId();
    if (!id) fail('CLUSTER_NOT_READY', 'This node belongs to no cluster yet: configure it (Cluster → air-gapped, no coordinator) before a key generation by files.');
    return id;
  }

  private deadline(ttlMs: number | undefined): number {
    return Date.now() + Math.min(ttlMs ?? AIRGAP_DEFAULT_TTL_MS, AIRGAP_MAX_TTL_MS - 60_000);
  }

  /** Signs the request, admits it at this node like any participant would, and writes it for the others. */
  private async open(me: LocalIdentity, body: Omit<SessionRequestBody, 'v' | 'requester'>, outDir: string, reserved?: string): Promise<AirgapGroupHandle> {
    const request = signSessionRequest(me, body);
    const requests = this.host.deps.requests;
    requests.ownRequests.add(body.sessionId);
    let ready: Awaited<ReturnType<AirgapGroupSessions['prepare']>>;
    try {
      ready = await this.prepare(request, body.clusterId, outDir);
    } finally {
      requests.ownRequests.delete(body.sessionId);
    }
    const others = body.parties.map((p) => p.nodeId).filter((id) => id !== me.nodeId);
    return this.start(me, ready.prepared, ready.transport, outDir, () => writeBundle(outDir, sealBundle(me, { kind: 'request', clusterId: body.clusterId, sid: body.sessionId, protocol: body.protocol, round: 0, to: others }, { request, envelopes: [] })), reserved);
  }

  /** Admits the request at this node exactly as a coordinator invite (prepareParticipation), over a bundle transport. */
  private async prepare(request: NonNullable<Bundle['body']['request']>, clusterId: string | null, outDir: string): Promise<{ prepared: PreparedParticipation; transport: BundleTransport }> {
    const session = sessionInfoOf(request.body);
    let transport: BundleTransport | null = null;
    const prepared = await prepareParticipation(
      this.host.deps,
      { t: 'invite', session, request },
      (who) => this.host.inviteContext(who, clusterId, AIRGAP_MAX_TTL_MS),
      (info, who) => (transport = new BundleTransport(who, info, outDir)),
    );
    if (prepared.decline) {
      if (prepared.refusal) this.host.refuseRequest(session.sessionId, prepared.refusal, 'airgap');
      if (prepared.refusal?.byAuthorizer) fail('SIGN_REFUSED', prepared.reason, { code: prepared.code ?? null, sessionId: session.sessionId });
      const code = (prepared.code ?? 'MPC_SESSION_REJECTED') as ErrorCode;
      fail(code, prepared.refusal ? prepared.reason : `This node does not take part in session ${session.sessionId.slice(0, 16)}…: ${prepared.reason}.`, { sessionId: session.sessionId });
    }
    if (!transport) {
      prepared.share?.fill(0);
      prepared.aux?.fill(0);
      fail('MPC_SESSION_REJECTED', 'The session was prepared without its file transport.');
    }
    return { prepared, transport };
  }

  private async start(me: LocalIdentity, prepared: PreparedParticipation, transport: BundleTransport, outDir: string, writeRequest?: () => void, reserved?: string): Promise<AirgapGroupHandle> {
    const { info } = prepared;
    const d = this.host.deps;
    let peers: Map<string, Peer>;
    try {
      peers = await d.membership.peersFor(info, me);
      writeRequest?.();
      d.records.recordStart(info, prepared.decision, 'airgap');
      // The guardians' approval is spent at this node once it joined the refresh.
      if (isRefreshProtocol(info.protocol)) d.refreshes.joined(prepared.request);
    } catch (error) {
      prepared.share?.fill(0);
      prepared.aux?.fill(0);
      throw error;
    }
    let settle!: GroupRun['settle'];
    const result = new Promise<PublicResult>((resolve, reject) => (settle = { resolve, reject }));
    result.catch(() => undefined);
    const timer = setTimeout(() => this.deadlinePassed(info.sessionId), Math.max(0, info.deadlineAt - Date.now()));
    timer.unref();
    const run: GroupRun = {
      info,
      me,
      prepared,
      peers,
      transport,
      inbox: new BundleInbox(),
      outDir,
      received: new Map(),
      completions: new CompletionExchange(info),
      timer,
      settle,
      handle: { sessionId: info.sessionId, info, result },
      ...(reserved ? { reserved } : {}),
    };
    this.running.set(info.sessionId, run);
    prepared.runner.start().then(
      (outcome) => this.finished(run, outcome),
      (error: unknown) => this.end(run, error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' })),
    );
    return run.handle;
  }

  /** This node's engine finished: sign the completion and send it to every other party, or (signing) verify and record. */
  private finished(r: GroupRun, outcome: SessionResult): void {
    if (this.running.get(r.info.sessionId) !== r) {
      wipeResult(outcome);
      return;
    }
    const pub = publicResultOf(outcome);
    if (!needsAttestations(r.info.protocol)) {
      const keyset = this.host.deps.keysets.get(r.info.keysetId);
      if (!keyset || !signatureMatchesKeyset(keyset, Buffer.from(r.info.message ?? '', 'hex'), { signature: pub.signature ?? '', recoveryId: pub.recoveryId ?? null })) {
        return this.end(r, new ClusterError({ errorClass: 'permanent', code: 'MPC_RESULT_INVALID', reason: `The combined signature does not verify under keyset ${r.info.keysetId}'s public key; it was refused.` }));
      }
      this.close(r);
      this.host.deps.records.finish(r.info, 'completed', undefined, undefined, pub);
      r.settle.resolve(pub);
      return;
    }
    try {
      holdOutcome(this.host.deps, r.info, outcome);
    } catch (error) {
      wipeResult(outcome);
      return this.end(r, error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The outcome could not be kept sealed at this node; nothing was changed.' }));
    }
    r.pending = outcome;
    r.own = pub;
    const attestation = attestDone(r.me, r.info, pub);
    r.completions.admit(r.me.nodeId, attestation);
    try {
      writeBundle(r.outDir, completionBundle(r.me, r.info, attestation));
    } catch (error) {
      return this.end(r, error instanceof ClusterError ? error : new ClusterError({ errorClass: 'transient', code: 'BUNDLE_WRITE_FAILED', reason: 'The completion bundle could not be written.' }));
    }
    this.settleIfComplete(r);
  }

  /** Keeps the outcome once every party's signed completion is here and checks out; refuses it otherwise. */
  private settleIfComplete(r: GroupRun): void {
    if (!r.own || !r.pending || r.completions.missing().length > 0) return;
    const d = this.host.deps;
    const gap = r.completions.gap(r.own, (id) => d.membership.nodeKey(id));
    if (gap) {
      d.audit.append({ type: 'MPC_COMPLETION_UNPROVEN', actor: 'system', subject: r.info.sessionId, details: { protocol: r.info.protocol, keysetId: r.info.keysetId, gap, transport: 'airgap' } });
      return this.end(r, new ClusterError({ errorClass: 'permanent', code: 'COMPLETION_UNPROVEN', reason: `The completions carried by file do not prove that every party finished: ${gap}. ${whatStays(r.info, true)}`.slice(0, 500) }));
    }
    const pending = r.pending;
    this.close(r);
    try {
      keepOutcome(d, r.info, pending, r.own, r.prepared.shareEpoch ?? null);
    } finally {
      wipeResult(pending);
    }
    if (createsKeyset(r.info.protocol) && !d.keysets.get(r.info.keysetId)) return r.settle.reject(new ClusterError({ errorClass: 'permanent', code: 'MPC_SESSION_FAILED', reason: 'The key generation finished but this node did not store its share.' }));
    r.settle.resolve(r.own);
  }

  private deadlinePassed(sessionId: string): void {
    const r = this.running.get(sessionId);
    if (!r) return;
    const missing = r.completions.missing();
    const reason = r.own
      ? `The session passed its deadline before the signed completion of node(s) ${missing.map((id) => `${id.slice(0, 8)}…`).join(', ')} came back by file. ${whatStays(r.info, true)}`
      : 'The air-gap session passed its deadline before every bundle came back. Nothing of it was kept; request it again.';
    this.end(r, new ClusterError({ errorClass: 'transient', code: r.own ? 'COMPLETION_UNPROVEN' : 'DEADLINE_PASSED', reason }));
  }

  /** Forgets a run: timer cleared, secrets of the run wiped, reservation released. */
  private close(r: GroupRun): void {
    if (this.running.get(r.info.sessionId) === r) this.running.delete(r.info.sessionId);
    clearTimeout(r.timer);
    r.prepared.share?.fill(0);
    r.prepared.aux?.fill(0);
    if (r.reserved) this.host.deps.pool.release(r.reserved);
  }

  /** Ends a run as failed here: engine stopped, nothing kept, row closed and audited. */
  private end(r: GroupRun, failure: ClusterError): void {
    if (this.running.get(r.info.sessionId) !== r) return;
    this.close(r);
    if (!r.prepared.runner.finished) r.prepared.runner.abort(failure);
    if (r.pending) wipeResult(r.pending);
    const d = this.host.deps;
    if (failure.errorClass === 'protocol-violation' && failure.blamedNode && failure.blamedNode !== r.me.nodeId) d.membership.quarantine(failure.blamedNode, failure.reason, r.info.sessionId);
    try {
      d.records.finish(r.info, 'failed', undefined, failure.toFailure(), undefined);
    } catch {
      // The database is closing; the running row is closed as NODE_RESTARTED on next start.
    }
    r.settle.reject(failure);
  }
}

