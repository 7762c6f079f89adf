/**
 * Signing sessions carried by file bundles between nodes that share no network: the requester
 * writes its signed session request and first round; the partner imports it, admits it exactly as
 * it would an invite from the coordinator (signature, keyset record, policy, authorizer), and the
 * two exchange one bundle per round until both hold the signature.
 *
 * The import of a folder is the one entry for every bundle: requests and rounds of key generation,
 * presign and presigned signing go to the multi-party sessions (airgap-group.ts).
 */
import type { PublicResult, SessionInfo } from '../coordinator/protocol';
import { AppFailure, fail } from '../errors';
import type { ErrorCode } from '../../preload/contract';
import { refusalFailure, refusedEarlierSentence, type RefusalRecord } from './airgap-refusals';
import { BundleInbox, BundleTransport, listBundles, readBundle, sealBundle, verifyBundle, writeBundle, type Bundle } from './airgap';
import { isGroupProtocol, type AirgapGroupSessions } from './airgap-group';
import { AIRGAP_DEFAULT_TTL_MS, AIRGAP_MAX_TTL_MS, type AirgapGroupStatus, type AirgapHandle, type AirgapHost, type AirgapImportOptions, type AirgapImportReport, type AirgapKeyset, type AirgapRequestFacts } from './airgap-types';
import type { Peer } from './envelope';
import { ClusterError, type SessionFailure } from './errors';
import type { LocalIdentity } from './identity';
import { admitInvite, type AdmittedInvite } from './invites';
import { buildKeyCheck, type KeyCheckPurpose } from './key-check';
import { SessionRunner, type RunnerTransport } from './session-runner';
import { newSessionId, RequestRefusal, signSessionRequest } from './session-request';
import { signatureMatchesKeyset } from './signature-check';

interface AirgapParticipation {
  me: string;
  info: SessionInfo;
  runner: SessionRunner;
  peers: Map<string, Peer>;
  inbox: BundleInbox;
  outDir: string;
  handle: AirgapHandle;
  timer: NodeJS.Timeout;
  transport: BundleTransport;
}

export { AIRGAP_DEFAULT_TTL_MS, AIRGAP_MAX_TTL_MS, type AirgapHandle, type AirgapHost, type AirgapImportOptions, type AirgapImportReport, type AirgapKeyset, type AirgapOutcome, type AirgapRequestFacts } from './airgap-types';

export class AirgapSessions {
  private readonly running = new Map<string, AirgapParticipation>();

  constructor(
    private readonly host: AirgapHost,
    private readonly group: AirgapGroupSessions,
  ) {}

  has(sessionId: string): boolean {
    return this.running.has(sessionId) || this.group.has(sessionId);
  }

  handles(): AirgapHandle[] {
    return [...this.running.values()].map((p) => p.handle);
  }

  /** Two-party air-gap signings running here: what they add to the node's load. */
  infos(): SessionInfo[] {
    return [...this.running.values()].map((p) => p.info);
  }

  /** Where every air-gap session stands here: two-party signings (always waiting on the partner) and the multi-party sessions. */
  status(): AirgapGroupStatus[] {
    const signings = [...this.running.values()].map((p): AirgapGroupStatus => ({
      sessionId: p.info.sessionId,
      protocol: p.info.protocol,
      keysetId: p.info.keysetId,
      phase: 'rounds',
      round: p.transport.round,
      waitingFor: p.info.parties.map((x) => x.nodeId).filter((id) => id !== p.me),
      deadlineAt: p.info.deadlineAt,
    }));
    return [...signings, ...this.group.status()];
  }

  /**
   * The operator ends an air-gap session at this node; nothing of it is kept. There is no link to
   * tell the others: they end it at its deadline, or when a refusal from here reaches them.
   */
  cancel(sessionId: string): boolean {
    const failure = new ClusterError({ errorClass: 'transient', code: 'CANCELLED', reason: "The air-gap session was cancelled by this node's operator; the other nodes end it at its deadline." });
    const p = this.running.get(sessionId);
    if (!p) return this.group.cancel(sessionId, failure);
    p.runner.abort(failure);
    return true;
  }

  stopAll(): void {
    this.group.stopAll();
    for (const p of this.running.values()) p.runner.abort(new ClusterError({ errorClass: 'transient', code: 'NODE_STOPPED', reason: 'This node stopped (vault locked or console closed) before the air-gap session finished.' }));
  }

  /** Writes the signed request and this node's first round into `outDir`. Nothing opens a socket. */
  async request(keysetId: string, what: { permit: unknown; message: Buffer } | { purpose: KeyCheckPurpose }, partner: string, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapHandle> {
    const me = await this.host.identity();
    const keyset = this.host.activeKeyset(keysetId);
    const sign = 'purpose' in what ? { message: buildKeyCheck(keysetId, what.purpose), permit: undefined } : { permit: what.permit, message: what.message };
    if (sign.message.length === 0 || sign.message.length > 64 * 1024) fail('MPC_SESSION_REJECTED', 'The payload to sign must be 1 byte to 64 KiB (an unsigned transaction or message).');
    const mine = keyset.participants.find((p) => p.nodeId === me.nodeId);
    const theirs = keyset.participants.find((p) => p.nodeId === partner && p.nodeId !== me.nodeId);
    if (!mine || !theirs) fail('MPC_SESSION_REJECTED', `Node ${partner} is not another member of keyset ${keysetId}.`, { keysetId });
    if (!this.host.peerSigningKey(partner)) fail('MPC_SESSION_REJECTED', `Node ${partner} is not an enrolled, non-quarantined peer of this node.`, { nodeId: partner });
    const body = {
      clusterId: keyset.clusterId,
      sessionId: newSessionId(),
      protocol: `${keyset.scheme}-sign` as const,
      keysetId,
      parties: [mine, theirs].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: keyset.threshold,
      message: sign.message.toString('hex'),
      ...(sign.permit !== undefined ? { permit: sign.permit } : {}),
      shareEpoch: keyset.shareEpoch ?? 0,
      deadlineAt: Date.now() + Math.min(options.ttlMs ?? AIRGAP_DEFAULT_TTL_MS, AIRGAP_MAX_TTL_MS - 60_000),
    };
    const permitId = this.host.preAuthorize(keyset, { ...body, permitId: null }, me);
    const request = signSessionRequest(me, { ...body, permitId });
    // This node contributes too: its own authorizer's yes is committed like any participant's.
    this.host.ownRequests.add(body.sessionId);
    let admitted: AdmittedInvite;
    try {
      admitted = admitInvite(request, this.host.inviteContext(me, keyset.clusterId, AIRGAP_MAX_TTL_MS));
    } catch (error) {
      if (error instanceof RequestRefusal) fail('SIGN_REFUSED', error.message, { code: error.code });
      throw error;
    } finally {
      this.host.ownRequests.delete(body.sessionId);
    }
    return this.start(admitted, outDir, () =>
      writeBundle(outDir, sealBundle(me, { kind: 'request', clusterId: body.clusterId, sid: body.sessionId, protocol: body.protocol, round: 0, to: [partner] }, { request, envelopes: [] })),
    );
  }

  /**
   * Reads every complete bundle in `inDir`: joins session requests addressed to this node (its
   * policy and authorizer permitting) and hands round bundles to their running sessions. Refused
   * bundles are reported with their typed error and never reach a session.
   */
  async import(inDir: string, outDir: string = inDir, options: AirgapImportOptions = {}): Promise<AirgapImportReport> {
    const me = await this.host.identity();
    const report: AirgapImportReport = { imported: 0, skipped: 0, refused: [], joined: [], joinedGroup: [], pending: [], refusedEarlier: [] };
    for (const file of this.bundleFiles(inDir)) {
      try {
        const bundle = readBundle(file);
        if (!bundle.header.to.includes(me.nodeId)) {
          report.skipped += 1;
          continue;
        }
        if (bundle.header.kind === 'request') {
          const refusedBefore = this.host.refusals.earlier(bundle.header.sid);
          if (refusedBefore) {
            const rewritten = this.replyAgain(bundle, refusedBefore, me, outDir);
            const again = rewritten ? ` Its reply was missing from the medium and is written again as ${rewritten}.` : '';
            report.refusedEarlier.push({ sessionId: refusedBefore.sessionId, refusedAt: refusedBefore.refusedAt, reason: refusedBefore.reason, message: `${refusedEarlierSentence(refusedBefore)}${again}`, replyWrittenAgain: rewritten });
            report.skipped += 1;
            continue;
          }
          if (this.has(bundle.header.sid) || this.host.sessionKnown(bundle.header.sid)) {
            report.skipped += 1;
            continue;
          }
          if (options.approve && !options.approve.has(bundle.header.sid)) {
            // Left for review only when it checks out; a forged or altered request is reported now.
            this.checkRequest(bundle, me.nodeId);
            report.pending.push(bundle.header.sid);
            continue;
          }
          if (isGroupProtocol(bundle.header.protocol)) report.joinedGroup.push(await this.group.join(bundle, outDir));
          else report.joined.push(await this.join(bundle, outDir));
          report.imported += 1;
        } else if (bundle.header.kind === 'refusal') {
          this.takeRefusal(bundle, file);
          report.imported += 1;
        } else if (this.running.has(bundle.header.sid) || this.group.has(bundle.header.sid)) {
          const taken = this.running.has(bundle.header.sid) ? this.deliver(bundle.header.sid, bundle) : this.group.deliver(bundle);
          if (taken) report.imported += 1;
          else report.skipped += 1;
        } else {
          report.skipped += 1;
        }
      } catch (error) {
        if (!(error instanceof AppFailure)) throw error;
        report.refused.push({ file, code: error.code, message: error.message });
      }
    }
    return report;
  }

  private bundleFiles(inDir: string): string[] {
    try {
      return listBundles(inDir);
    } catch {
      fail('BUNDLE_MALFORMED', `Cannot read the folder ${inDir}. Check that the medium is mounted and readable.`);
    }
  }

  /**
   * The session requests in `inDir` addressed to this node and not yet joined or refused, each
   * checked as a join would check it first (sender's signature, body hash, keyset held here);
   * one that fails says why in `problem`. Reads only: nothing is joined, audited or written.
   */
  async pending(inDir: string): Promise<AirgapRequestFacts[]> {
    const me = await this.host.identity();
    const found: AirgapRequestFacts[] = [];
    for (const file of this.bundleFiles(inDir)) {
      let bundle: Bundle;
      try {
        bundle = readBundle(file);
      } catch {
        continue; // not a request this node could show; the import reports it
      }
      const h = bundle.header;
      if (h.kind !== 'request' || !h.to.includes(me.nodeId) || this.has(h.sid) || this.host.sessionKnown(h.sid) || this.host.refusals.earlier(h.sid)) continue;
      const body = bundle.body.request?.body;
      const facts: AirgapRequestFacts = { file, sessionId: h.sid, from: h.from, keysetId: body?.keysetId ?? null, protocol: h.protocol, message: body?.message ?? '', permit: body?.permit, deadlineAt: body?.deadlineAt ?? null, problem: null };
      try {
        this.checkRequest(bundle, me.nodeId);
      } catch (error) {
        if (!(error instanceof AppFailure)) throw error;
        facts.problem = { code: error.code, message: error.message };
      }
      found.push(facts);
    }
    return found;
  }

  /**
   * The operator says no to a session request on the medium, with a reason: a signed refusal
   * for the requester is written to `outDir`, the refusal is kept and audited, and later imports
   * (after a restart too) skip the request. Only a request that checks out can be refused by
   * name: a forged one stays a forgery in the review list and never becomes an audit entry in
   * its claimed sender's name.
   */
  async refuse(inDir: string, sessionId: string, reason: string, outDir: string = inDir): Promise<void> {
    const request = (await this.pending(inDir)).find((r) => r.sessionId === sessionId);
    if (!request) fail('AIRGAP_SESSION_NOT_FOUND', `No session request ${sessionId.slice(0, 16)}… waits for review in ${inDir} (already joined, refused, or not on this medium).`);
    if (request.problem) fail(request.problem.code as ErrorCode, request.problem.message);
    const clusterId = this.refusalClusterId(request.keysetId, readBundle(request.file));
    this.host.refusals.refuse(await this.host.identity(), { sessionId, requester: request.from, keysetId: request.keysetId, clusterId, protocol: request.protocol }, reason, outDir);
  }

  /** A key-generation request names a keyset this node does not hold yet: its cluster is the request's (checked on review). */
  private refusalClusterId(keysetId: string | null, request: Bundle): string {
    return this.host.keyset(keysetId ?? '')?.clusterId ?? request.header.clusterId;
  }

  /**
   * An earlier refusal whose reply is missing from the medium (a crash or a failed write after
   * the refusal was recorded) gets it written again, for a request that still checks out: the
   * name of the file written, or null.
   */
  private replyAgain(request: Bundle, refusal: RefusalRecord, me: LocalIdentity, outDir: string): string | null {
    try {
      this.checkRequest(request, me.nodeId);
    } catch (error) {
      if (error instanceof AppFailure) return null; // not the request that was refused: nothing is signed for it
      throw error;
    }
    return this.host.refusals.writeReplyAgain(me, refusal, this.refusalClusterId(refusal.keysetId, request), outDir);
  }

  /**
   * A party's refusal of a session this node runs: the session ends as failed with the refusing
   * operator's reason. Checked against that session's own parties first; one that does not
   * verify is dropped and recorded, and the session runs on.
   */
  private takeRefusal(bundle: Bundle, file: string): void {
    const h = bundle.header;
    const p = this.running.get(h.sid);
    if (!p && !this.group.has(h.sid)) {
      if (this.host.sessionKnown(h.sid)) fail('AIRGAP_SESSION_ENDED', `Session ${h.sid.slice(0, 16)}… already ended on this node; the refusal claimed by node ${h.from} does not change it.`, { sessionId: h.sid });
      fail('AIRGAP_SESSION_NOT_FOUND', `No air-gap session ${h.sid.slice(0, 16)}… is running on this node, so the refusal in ${file} applies to nothing here.`, { sessionId: h.sid });
    }
    const failure = refusalFailure(bundle, this.host.nodeName(h.from));
    try {
      if (p) verifyBundle(bundle, { me: p.me, clusterId: p.info.clusterId, session: p.info, senderKey: (id) => p.peers.get(id)?.signingKey ?? null });
      else return this.group.endByRefusal(bundle, failure);
    } catch (error) {
      if (error instanceof AppFailure) this.host.refusals.drop(bundle, file, error);
      throw error;
    }
    p.runner.abort(failure);
  }

  /** The checks a request bundle passes before its terms are even considered. */
  private checkRequest(bundle: Bundle, me: string): AirgapKeyset | null {
    if (isGroupProtocol(bundle.header.protocol)) {
      this.group.check(bundle, me);
      return null;
    }
    const body = bundle.body.request?.body;
    const keyset = body ? this.host.keyset(body.keysetId) : null;
    if (!body || !keyset) fail('KEYSET_NOT_FOUND', `The session request is for keyset ${body?.keysetId ?? '(none)'}, which this node does not hold.`, { keysetId: body?.keysetId ?? null });
    verifyBundle(bundle, { me, clusterId: keyset.clusterId, senderKey: (id) => this.host.peerSigningKey(id) });
    return keyset;
  }

  /** Hands one bundle to a running air-gap session; false when it was already taken in. */
  deliver(sessionId: string, bundle: Bundle): boolean {
    if (!this.running.has(sessionId) && this.group.has(sessionId)) {
      if (bundle.header.sid !== sessionId) fail('BUNDLE_WRONG_SESSION', `This bundle belongs to session ${bundle.header.sid.slice(0, 16)}…, not to session ${sessionId.slice(0, 16)}…. Import it into its own session.`);
      return this.group.deliver(bundle);
    }
    const p = this.running.get(sessionId);
    if (!p) fail('AIRGAP_SESSION_NOT_FOUND', `No air-gap session ${sessionId.slice(0, 16)}… is running on this node (finished, expired, or never started here).`);
    verifyBundle(bundle, { me: p.me, clusterId: p.info.clusterId, session: p.info, senderKey: (id) => p.peers.get(id)?.signingKey ?? null });
    if (bundle.header.kind !== 'round') fail('BUNDLE_WRONG_ROUND', 'A session request cannot be imported into a running session.');
    if (!p.inbox.admit(bundle)) return false;
    for (const env of bundle.body.envelopes) p.runner.deliver(env);
    return true;
  }

  private async join(bundle: Bundle, outDir: string): Promise<AirgapHandle> {
    const me = await this.host.identity();
    const keyset = this.checkRequest(bundle, me.nodeId)!;
    const body = bundle.body.request!.body;
    let admitted: AdmittedInvite;
    try {
      admitted = admitInvite(bundle.body.request, this.host.inviteContext(me, keyset.clusterId, AIRGAP_MAX_TTL_MS));
      if (admitted.info.protocol !== `${keyset.scheme}-sign`) throw new RequestRefusal('SESSION_NOT_ALLOWED', 'Only signing sessions run over the air gap.');
    } catch (error) {
      if (!(error instanceof RequestRefusal)) throw error;
      this.host.refuseRequest(body.sessionId, error, 'airgap');
      if (error.byAuthorizer) fail('SIGN_REFUSED', error.message, { code: error.code, sessionId: body.sessionId });
      fail(error.code as ErrorCode, error.message, { sessionId: body.sessionId });
    }
    return this.start(admitted, outDir);
  }

  /**
   * Starts an air-gap participation of an admitted request: the authorizer's commit is durable
   * before the first bundle (the request itself, for the requester) is written.
   */
  private async start(admitted: AdmittedInvite, outDir: string, writeRequest?: () => void): Promise<AirgapHandle> {
    const { info, decision } = admitted;
    // One bound for every transport: coordinator sessions count as much as files do.
    const bound = this.host.load.refusal(info);
    if (bound) fail('MPC_SESSION_REJECTED', `Session ${info.sessionId.slice(0, 16)}… was not started: ${bound}. Try again once a session running here has finished.`, { sessionId: info.sessionId });
    const me = await this.host.identity();
    const transport = new BundleTransport(me, info, outDir);
    const runner = await this.prepare(info, transport);
    const peers = await this.host.peersFor(info, me);
    decision?.commit();
    writeRequest?.();
    this.host.recordStart(info, decision, 'airgap');
    const timer = setTimeout(() => runner.abort(new ClusterError({ errorClass: 'transient', code: 'TIMEOUT', reason: 'The air-gap session passed its deadline before every bundle came back.' })), Math.max(0, info.deadlineAt - Date.now()));
    timer.unref();
    const keyset = this.host.keyset(info.keysetId)!;
    const message = Buffer.from(info.message ?? '', 'hex');
    const result = runner.start().then(
      (r) => {
        const pub: PublicResult = { ...(r.signature ? { signature: r.signature.toString('hex') } : {}), ...(r.recoveryId !== undefined && r.recoveryId !== null ? { recoveryId: r.recoveryId } : {}) };
        this.end(info.sessionId);
        if (!signatureMatchesKeyset(keyset, message, { signature: pub.signature ?? '', recoveryId: pub.recoveryId ?? null })) {
          const failure: SessionFailure = { errorClass: 'permanent', code: 'MPC_RESULT_INVALID', reason: `The combined signature does not verify under keyset ${info.keysetId}'s public key; it was refused.` };
          this.host.finish(info, 'failed', failure, undefined);
          fail('MPC_RESULT_INVALID', failure.reason, { sessionId: info.sessionId });
        }
        this.host.finish(info, 'completed', undefined, pub);
        return { sessionId: info.sessionId, signature: pub.signature ?? '', recoveryId: pub.recoveryId ?? null, parties: info.parties.map((p) => p.nodeId) };
      },
      (error: unknown) => {
        const failure = error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' });
        this.end(info.sessionId);
        if (failure.errorClass === 'protocol-violation' && failure.blamedNode && failure.blamedNode !== me.nodeId) this.host.quarantine(failure.blamedNode, failure.reason, info.sessionId);
        this.host.finish(info, 'failed', failure.toFailure(), undefined);
        return this.host.sessionFailure(info, failure.toFailure(), decision?.kind === 'permit');
      },
    );
    result.catch(() => undefined);
    const handle: AirgapHandle = { sessionId: info.sessionId, info, result };
    this.running.set(info.sessionId, { me: me.nodeId, info, runner, peers, inbox: new BundleInbox(), outDir, handle, timer, transport });
    return handle;
  }

  private end(sessionId: string): void {
    const p = this.running.get(sessionId);
    if (!p) return;
    clearTimeout(p.timer);
    this.running.delete(sessionId);
  }

  /** The engine session of this node's part, over the bundle transport. */
  private async prepare(info: SessionInfo, transport: RunnerTransport): Promise<SessionRunner> {
    const me = await this.host.identity();
    const keyset = this.host.keyset(info.keysetId);
    const mine = info.parties.find((p) => p.nodeId === me.nodeId);
    if (!keyset || !mine || `${keyset.scheme}-sign` !== info.protocol) fail('MPC_SESSION_REJECTED', 'This node cannot take part in that session (unknown keyset, wrong party or protocol).');
    const share = this.host.share(info.keysetId);
    if (!share) fail('KEYSET_NOT_FOUND', `The share of keyset ${info.keysetId} is missing on this node.`);
    try {
      const peers = await this.host.peersFor(info, me);
      const runner = new SessionRunner({ me, info, peers, signer: this.host.signer(), transport, share });
      // The share stays in memory only while the session runs.
      void runner.result.then(
        () => share.fill(0),
        () => share.fill(0),
      );
      return runner;
    } catch (error) {
      share.fill(0);
      throw error;
    }
  }
}
