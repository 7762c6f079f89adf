/**
 * This node's part in the signer cluster: enrolled peers (confirmed by fingerprint), the
 * connection to the coordinator, the sessions it takes part in, keysets and their sealed shares,
 * quarantine, and the error taxonomy with retries on another quorum.
 */
import { createHash, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { keccak256 } from 'ethers';
import type { ClusterNodeView, ClusterSessionView, ErrorCode } from '../../preload/contract';
import { AppFailure } from '../errors';
import type { AuditLog } from '../audit/audit-log';
import type { PublicResult, ServerMessage, SessionInfo, Participant, SessionRequestBody, SignedSessionRequest } from '../coordinator/protocol';
import { fail } from '../errors';
import { MpcSigner, type SessionResult } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import type { Bundle } from './airgap';
import { AirgapSessions, type AirgapHandle, type AirgapImportReport } from './airgap-sessions';
import { CoordinatorClient } from './coordinator-client';
import { peerFromCard, type Peer, type WireEnvelope } from './envelope';
import { ClusterError, type SessionFailure } from './errors';
import { cardFingerprint, LocalIdentity, verifyCard, type NodeCard } from './identity';
import { admitInvite, DEFAULT_POLICY, signFacts, type AdmittedInvite, type InviteContext, type ParticipationPolicy } from './invites';
import { buildKeyCheck, type KeyCheckPurpose } from './key-check';
import { ed25519PublicKey } from './keys';
import { parseInbound } from './inbound-messages';
import { PresignedSignRunner, type ParticipationRunner } from './presigned-runner';
import { PresignaturePool, type PresignatureRecord } from './presignatures';
import { defaultStateDir, RollbackGuard } from './rollback-guard';
import { admissionRefusal, DEFAULT_SESSION_LIMITS, KeygenWindow, RefusalAudit, sessionDeadline, type SessionLimitSettings } from './session-limits';
import { rankQuorum } from './quorum';
import { SessionRunner, type RunnerTransport } from './session-runner';
import { newSessionId, RequestRefusal, sessionInfoOf, signSessionRequest } from './session-request';
import { signatureMatchesKeyset } from './signature-check';
import type { SignAuthorizer } from './sign-authorization';

export { DEFAULT_POLICY, type ParticipationPolicy } from './invites';
export { PRESIGNATURE_RECORD, type PresignatureRecord } from './presignatures';
export { AIRGAP_DEFAULT_TTL_MS, type AirgapHandle, type AirgapImportReport, type AirgapOutcome } from './airgap-sessions';

export type Scheme = 'ecdsa' | 'eddsa';
export const SHARE_RECORD = { type: 'mpc-share', schemaVersion: 1 } as const;
export interface SignOutcome {
  signature: string;
  recoveryId: number | null;
  parties: string[];
  sessionId: string;
  attempts: number;
  /** 'presigned': the one-round online step; 'full': the full protocol. */
  mode: 'presigned' | 'full';
  presignatureId: string | null;
  /** What was signed, hex: the EdDSA message or the ECDSA preimage. */
  message: string;
  /** ECDSA: keccak256(preimage), hex, the digest the signature is over; EdDSA: null. */
  digest: string | null;
  permitId: string | null;
}

export interface KeyCheckOutcome extends SignOutcome {
  purpose: KeyCheckPurpose;
}

export interface SignOptions {
  /** Members the requester wants in the quorum, most preferred first. */
  prefer?: string[];
  timeoutMs?: number;
  operationId?: string;
  /** ECDSA: use a ready presignature when one fits (default), or never. */
  presigned?: 'prefer' | 'never';
}

export function keyRef(scheme: Scheme, clusterId: string, keysetId: string): string {
  return `${scheme === 'ecdsa' ? 'mpc-tecdsa' : 'mpc-teddsa'}://${clusterId}/${keysetId}`;
}

/** A node as this node records it: exactly the view the UI shows. */
export type NodeRecord = ClusterNodeView;

export interface KeysetRecord {
  keysetId: string;
  clusterId: string;
  scheme: Scheme;
  keyRef: string;
  threshold: number;
  participants: Participant[];
  myPartyIndex: number;
  publicKey: string | null;
  address: string | null;
  status: 'active' | 'failed';
  createdAt: string;
  /** Made while this console served the embedded lab cluster: never for real funds, permanently. */
  lab: boolean;
}

/** A session as this node records it: the view the UI shows, plus who asked and who took part. */
export interface SessionRecord extends ClusterSessionView {
  requester: string;
  parties: Participant[];
}

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
}

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
  /** What this node's own engine produced: the only result it records (the relay's copy is unverified). */
  ownResult?: PublicResult;
}

interface Waiter {
  resolve: (m: Extract<ServerMessage, { t: 'session-end' }>) => void;
}

type Row = Record<string, unknown>;

/** Refused requests audited one row each per window; more are only counted in the summary. */
const MAX_REFUSAL_ROWS_PER_WINDOW = 20;

/** Longest deadline a node accepts in a request relayed by the coordinator. */
const ONLINE_MAX_TTL_MS = 30 * 60_000;

/** What a signing asks for: a transaction under a permit, or a key check the nodes can read. */
type SignWhat = { permit: unknown; message: Buffer } | { permit?: undefined; message: Buffer; purpose: KeyCheckPurpose };

export class ClusterService {
  private me: LocalIdentity | null = null;
  private client: CoordinatorClient | null = null;
  private clusterIdValue: string | null = null;
  private signerValue: MpcSigner | null;
  private readonly participations = new Map<string, Participation>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly ended = new Map<string, Extract<ServerMessage, { t: 'session-end' }>>();
  private readonly airgap: AirgapSessions;
  /**
   * Session ids of requests this node signed in this process and still waits on: a request naming
   * this node as requester is honoured only when it is one of these.
   */
  private readonly ownRequests = new Set<string>();
  readonly policy: ParticipationPolicy;
  readonly pool: PresignaturePool;
  readonly keygenWindow: KeygenWindow;
  readonly refusals: RefusalAudit;
  private readonly limits: SessionLimitSettings;

  constructor(private readonly o: ClusterServiceOptions) {
    this.policy = o.policy ?? DEFAULT_POLICY;
    this.signerValue = o.signer ?? null;
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...o.limits };
    const guard = new RollbackGuard({ db: o.db, vault: o.vault, clock: o.clock, stateDir: o.stateDir ?? defaultStateDir() });
    this.pool = new PresignaturePool({ db: o.db, vault: o.vault, audit: o.audit, clock: o.clock, guard });
    this.keygenWindow = new KeygenWindow(o.clock);
    this.refusals = new RefusalAudit(o.audit, o.clock, this.limits.refusalAuditWindowMs);
    this.airgap = new AirgapSessions({
      identity: () => this.identity(),
      keyset: (id) => this.keyset(id),
      activeKeyset: (id) => this.activeKeyset(id),
      peerSigningKey: (id) => (this.node(id)?.isSelf ? null : this.nodeKey(id)),
      preAuthorize: (keyset, body, me) => this.preAuthorize(keyset as KeysetRecord, body, me),
      inviteContext: (me, clusterId, maxTtlMs) => this.inviteContext(me, clusterId, maxTtlMs),
      ownRequests: this.ownRequests,
      refuseRequest: (sid, refusal, transport) => this.refuseRequest(sid, refusal, transport),
      sessionKnown: (sid) => this.sessionRow(sid),
      peersFor: (info, me) => this.peersFor(info, me),
      share: (keysetId) => this.o.vault.records.get(SHARE_RECORD.type, keysetId)?.plaintext,
      signer: () => this.signer,
      recordStart: (info, decision, transport) => this.recordStart(info, decision, transport),
      finish: (info, state, failure, result) => this.finish(info, state, undefined, failure, result),
      quarantine: (nodeId, reason, sid) => this.quarantine(nodeId, reason, sid),
      sessionFailure: (info, failure, permitSpent) => this.sessionFailure({ t: 'session-end', session: info, state: 'failed', failure }, permitSpent),
    });
    // Before anything else can run on an unlocked vault: a rolled-back pool is discarded.
    o.vault.onUnlock(() => void this.pool.verifyAfterUnlock());
    o.vault.onLock(() => this.stop());
    // Expired presignatures leave the pool (and their secrets the database) without waiting for a use.
    const sweeper = setInterval(() => {
      if (!o.vault.unlocked) return;
      try {
        this.pool.sweep();
      } catch {
        // The database is closing.
      }
    }, 60_000);
    sweeper.unref();
    this.recoverInterrupted();
  }

  private get signer(): MpcSigner {
    return (this.signerValue ??= new MpcSigner());
  }

  private now(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  /** Sessions left running by a crash or kill cannot resume (the engine state is gone): close them. */
  private recoverInterrupted(): void {
    const open = this.o.db.prepare(`SELECT session_id, protocol, keyset_id FROM mpc_sessions WHERE state = 'running'`).all() as Row[];
    if (open.length === 0) return;
    this.o.db.transaction(() => {
      for (const r of open) {
        this.o.db
          .prepare(`UPDATE mpc_sessions SET state = 'failed', error_class = 'transient', error_code = 'NODE_RESTARTED', error_reason = 'This node stopped during the session.', finished_at = ? WHERE session_id = ?`)
          .run(this.now(), r.session_id);
        this.o.audit.append({ type: String(r.protocol).endsWith('keygen') ? 'MPC_KEYGEN_FAILED' : 'MPC_SIGN_FAILED', actor: 'system', subject: String(r.session_id), details: { keysetId: r.keyset_id, errorClass: 'transient', code: 'NODE_RESTARTED' } });
      }
    })();
  }

  // --- identity and peers -------------------------------------------------------------------

  async identity(): Promise<LocalIdentity> {
    this.o.vault.keyRing();
    if (!this.me) {
      this.me = await LocalIdentity.load(this.o.vault, this.o.name ?? 'console');
      this.o.db
        .prepare(`INSERT INTO mpc_nodes (node_id, name, card, fingerprint, is_self, status, enrolled_at) VALUES (?, ?, ?, ?, 1, 'enrolled', ?) ON CONFLICT (node_id) DO UPDATE SET card = excluded.card, name = excluded.name`)
        .run(this.me.nodeId, this.me.card.name, JSON.stringify(this.me.card), this.me.fingerprint, this.now());
    }
    return this.me;
  }

  /** Enrols a peer after the operator compared its fingerprint words with the peer's own screen. */
  enrolPeer(card: NodeCard, confirmedFingerprint: string): NodeRecord {
    this.o.vault.keyRing();
    if (!verifyCard(card)) fail('PEER_CARD_INVALID', 'That node card is not self-consistent (its keys do not match its node id). Ask the peer for its card again.');
    const fingerprint = cardFingerprint(card);
    if (fingerprint !== confirmedFingerprint.trim().toLowerCase()) {
      fail('FINGERPRINT_MISMATCH', 'The fingerprint you confirmed does not match this card. Do not enrol it: compare the words on both screens again.', { nodeId: card.nodeId });
    }
    this.o.db.transaction(() => {
      this.o.db
        .prepare(`INSERT INTO mpc_nodes (node_id, name, card, fingerprint, is_self, status, enrolled_at) VALUES (?, ?, ?, ?, 0, 'enrolled', ?) ON CONFLICT (node_id) DO UPDATE SET card = excluded.card, name = excluded.name`)
        .run(card.nodeId, card.name, JSON.stringify(card), fingerprint, this.now());
      this.o.audit.append({ type: 'PEER_ENROLLED', actor: 'operator', subject: card.nodeId, details: { name: card.name, fingerprint } });
    })();
    return this.node(card.nodeId)!;
  }

  node(nodeId: string): NodeRecord | null {
    const r = this.o.db.prepare('SELECT * FROM mpc_nodes WHERE node_id = ?').get(nodeId) as Row | undefined;
    return r ? toNode(r) : null;
  }

  nodes(): NodeRecord[] {
    return (this.o.db.prepare('SELECT * FROM mpc_nodes ORDER BY is_self DESC, enrolled_at').all() as Row[]).map(toNode);
  }

  private card(nodeId: string): NodeCard | null {
    const r = this.o.db.prepare('SELECT card FROM mpc_nodes WHERE node_id = ?').get(nodeId) as { card: string } | undefined;
    return r ? (JSON.parse(r.card) as NodeCard) : null;
  }

  quarantine(nodeId: string, reason: string, sessionId: string): void {
    const changed = this.o.db.transaction(() => {
      const n = this.o.db.prepare(`UPDATE mpc_nodes SET status = 'quarantined', quarantine_reason = ?, quarantined_at = ? WHERE node_id = ? AND is_self = 0 AND status = 'enrolled'`).run(reason, this.now(), nodeId).changes;
      if (n > 0) this.o.audit.append({ type: 'PEER_QUARANTINED', actor: 'system', subject: nodeId, details: { reason, sessionId } });
      return n > 0;
    })();
    void changed;
  }

  release(nodeId: string): NodeRecord {
    this.o.vault.keyRing();
    const n = this.node(nodeId);
    if (!n || n.status !== 'quarantined') fail('PEER_NOT_QUARANTINED', `Node ${nodeId} is not quarantined.`, { nodeId });
    this.o.db.transaction(() => {
      this.o.db.prepare(`UPDATE mpc_nodes SET status = 'enrolled', quarantine_reason = NULL, quarantined_at = NULL WHERE node_id = ?`).run(nodeId);
      this.o.audit.append({ type: 'PEER_RELEASED', actor: 'operator', subject: nodeId, details: { previousReason: n.quarantineReason } });
    })();
    return this.node(nodeId)!;
  }

  private async peersFor(info: SessionInfo, me: LocalIdentity): Promise<Map<string, Peer>> {
    const peers = new Map<string, Peer>();
    for (const p of info.parties) {
      if (p.nodeId === me.nodeId) continue;
      const node = this.node(p.nodeId);
      const card = this.card(p.nodeId);
      if (!node || !card) throw new ClusterError({ errorClass: 'permanent', code: 'UNKNOWN_PEER', reason: `Node ${p.nodeId} is not enrolled on this node.`, blamedNode: p.nodeId });
      if (node.status === 'quarantined') throw new ClusterError({ errorClass: 'permanent', code: 'PEER_QUARANTINED', reason: `Node ${p.nodeId} is quarantined on this node.`, blamedNode: p.nodeId });
      peers.set(p.nodeId, await this.peerKeys(card));
    }
    return peers;
  }

  /**
   * Imported keys of a peer, kept across sessions: importing the HPKE and Ed25519 public keys
   * again for every session cost more than a signature. Keyed by the card's keys, so a re-enrolled
   * card with new keys is imported afresh.
   */
  private readonly peerCache = new Map<string, Peer>();

  private async peerKeys(card: NodeCard): Promise<Peer> {
    const key = `${card.nodeId}/${card.signingPublicKey}/${card.hpkePublicKey}`;
    let peer = this.peerCache.get(key);
    if (!peer) {
      peer = await peerFromCard(card);
      this.peerCache.set(key, peer);
    }
    return peer;
  }

  // --- coordinator --------------------------------------------------------------------------

  async connect(url: string): Promise<void> {
    const me = await this.identity();
    this.client?.close();
    const client = new CoordinatorClient(url, me, { onMessage: (m) => void this.handleNetworkMessage(m), onClose: () => this.onDisconnected() });
    this.clusterIdValue = await client.connect();
    this.client = client;
  }

  /** 'lab' while the embedded lab cluster serves this console. */
  mode: 'none' | 'lab' | 'configured' = 'none';

  get coordinatorUrl(): string | null {
    return this.client?.url ?? null;
  }

  get clusterId(): string | null {
    return this.clusterIdValue;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Ends every running participation (vault locked, shutting down). */
  stop(): void {
    this.client?.close();
    this.client = null;
    for (const p of this.participations.values()) p.runner.abort(new ClusterError({ errorClass: 'transient', code: 'NODE_STOPPED', reason: 'This node stopped.' }));
    this.airgap.stopAll();
    for (const p of this.participations.values()) this.releaseParticipation(p);
    this.participations.clear();
    this.refusals.flush();
    this.me = null;
  }

  /** Clears what a participation holds: its deadline timer and the key share from the vault. */
  private releaseParticipation(p: Participation): void {
    clearTimeout(p.deadline);
    p.share?.fill(0);
  }

  /**
   * Entry point for everything the coordinator sends. The coordinator is untrusted: a message
   * that does not parse, repeats, or makes a handler fail is refused (declined and counted),
   * never an exception that escapes — no unhandled rejection can take the node down.
   */
  async handleNetworkMessage(raw: unknown): Promise<void> {
    const m = parseInbound(raw);
    if (!m) {
      this.refusals.record('malformed coordinator message');
      return;
    }
    try {
      await this.onMessage(m);
    } catch (error) {
      this.refusals.record(`${m.t} handler failed: ${error instanceof AppFailure || error instanceof ClusterError ? error.code : 'internal error'}`);
      if (m.t === 'invite' && !this.participations.has(m.session.sessionId)) {
        try {
          this.client?.send({ t: 'decline', sessionId: m.session.sessionId, reason: 'this node could not take part in the session' });
        } catch {
          // The connection is gone; the coordinator will time the session out.
        }
      }
    }
  }

  private onDisconnected(): void {
    for (const p of this.participations.values()) p.runner.abort(new ClusterError({ errorClass: 'transient', code: 'COORDINATOR_DISCONNECTED', reason: 'The connection to the coordinator was lost.' }));
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
    this.refusals.record(code ?? reason, requester);
    this.client?.send({ t: 'decline', sessionId, reason: reason.slice(0, 500), ...(code ? { code } : {}) });
  }

  /** Ed25519 key of this node or of an enrolled, non-quarantined peer. */
  private nodeKey(nodeId: string): KeyObject | null {
    const node = this.node(nodeId);
    const card = this.card(nodeId);
    if (!node || !card || node.status !== 'enrolled') return null;
    return ed25519PublicKey(Buffer.from(card.signingPublicKey, 'hex'));
  }

  /** Keysets made while this console served the embedded lab cluster carry the permanent lab mark. */
  private isLabKeyset(keyset: { keysetId: string }): boolean {
    return this.keyset(keyset.keysetId)?.lab === true;
  }

  private inviteContext(me: LocalIdentity, clusterId: string | null, maxTtlMs: number): InviteContext {
    return {
      me: me.nodeId,
      clusterId,
      policy: this.policy,
      authorizer: this.o.authorizer,
      requesterKey: (id) => this.nodeKey(id),
      ownRequest: (sid) => this.ownRequests.has(sid),
      keyset: (id) => this.keyset(id),
      sessionKnown: (sid) => this.sessionRow(sid) || this.participations.has(sid) || this.airgap.has(sid),
      isLab: (k) => this.isLabKeyset(k),
      now: Date.now(),
      maxTtlMs,
    };
  }

  /** Individual MPC_SESSION_REFUSED rows written in the current window (the rest are summarized). */
  private refusalRows = { windowStart: 0, count: 0 };

  /**
   * A refused request: audited here, told to the requester through the relay. Anyone on the
   * relay's link can fabricate requests, so individual rows are bounded per window; beyond that
   * they are counted into the periodic MPC_INVITES_REFUSED summary.
   */
  private refuseRequest(sessionId: string, refusal: RequestRefusal, transport: 'coordinator' | 'airgap'): void {
    const now = this.o.clock.now();
    if (now - this.refusalRows.windowStart >= this.limits.refusalAuditWindowMs) this.refusalRows = { windowStart: now, count: 0 };
    if (this.refusalRows.count >= MAX_REFUSAL_ROWS_PER_WINDOW) return this.refusals.record(`${refusal.code} (${transport})`);
    this.refusalRows.count += 1;
    this.o.audit.append({ type: 'MPC_SESSION_REFUSED', actor: 'system', subject: sessionId, details: { code: refusal.code, reason: refusal.message, transport } });
  }

  /** Invites being prepared (between their first check and their participation), by session id. */
  private readonly inviting = new Map<string, SessionInfo>();

  /**
   * An invite relayed by the coordinator. Joins only a request its requester signed, whose terms
   * match this node's records and policy, and — for a signing — that this node's authorizer
   * allows; the authorizer's commit is durable before this node sends anything.
   */
  private async onInvite(m: Extract<ServerMessage, { t: 'invite' }>): Promise<void> {
    const relayedId = m.session.sessionId;
    // A repeated invite is not a new session: ignored (and counted), never a second row.
    if (this.inviting.has(relayedId) || this.participations.has(relayedId)) {
      this.refusals.record('repeated invite (session id already known here)', m.session.requester);
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
      me = await this.identity();
    } catch {
      return this.decline(relayedId, 'vault locked');
    }
    let admitted: AdmittedInvite;
    try {
      admitted = admitInvite(m.request, this.inviteContext(me, this.clusterIdValue, ONLINE_MAX_TTL_MS));
      if (admitted.info.sessionId !== relayedId) throw new RequestRefusal('SESSION_REQUEST_MALFORMED', 'The relay announced another session id than the signed request carries.');
    } catch (error) {
      if (!(error instanceof RequestRefusal)) return this.decline(relayedId, 'cannot check the session request');
      this.refuseRequest(relayedId, error, 'coordinator');
      return this.decline(relayedId, error.message, error.code);
    }
    const { info, decision } = admitted;
    const running = [...[...this.inviting.values()].filter((i) => i.sessionId !== info.sessionId), ...[...this.participations.values()].map((p) => p.info)];
    const bound = admissionRefusal(this.limits, running, info);
    if (bound) return this.decline(info.sessionId, bound, undefined, info.requester);
    let share: Buffer | undefined;
    const keygen = info.protocol.endsWith('-keygen');
    if (keygen) {
      if (!this.keygenWindow.permits(info, me.nodeId)) return this.decline(info.sessionId, 'key generation is not open on this node (its operator has not started one or opened a key-generation window)', undefined, info.requester);
    } else {
      share = this.o.vault.records.get(SHARE_RECORD.type, info.keysetId)?.plaintext;
      if (!share) return this.decline(info.sessionId, 'share missing');
      if (info.protocol === 'ecdsa-sign-presigned') {
        const refusal = this.pool.refusal(info, this.shareEpoch(share));
        if (refusal) {
          share.fill(0);
          return this.decline(info.sessionId, refusal);
        }
      }
    }
    let runner: ParticipationRunner;
    try {
      const peers = await this.peersFor(info, me);
      const transport: RunnerTransport = { send: (to, envelope: WireEnvelope) => this.client?.send({ t: 'relay', sessionId: info.sessionId, to, envelope }) };
      const primes = info.protocol === 'ecdsa-keygen' ? this.o.primes?.() : undefined;
      if (info.protocol === 'ecdsa-sign-presigned') {
        const presignatureId = info.presignatureId!;
        runner = new PresignedSignRunner({ me, info, peers, signer: this.signer, transport, share: share!, consume: () => this.pool.consume(presignatureId, info.keysetId, info.parties) });
      } else {
        runner = new SessionRunner({ me, info, peers, signer: this.signer, transport, ...(share ? { share } : {}), ...(primes ? { primes } : {}) });
      }
    } catch (error) {
      share?.fill(0);
      return this.decline(info.sessionId, error instanceof ClusterError ? error.reason : 'cannot prepare the session');
    }
    try {
      decision?.commit();
    } catch (error) {
      share?.fill(0);
      const code = error instanceof AppFailure ? error.code : 'PERMIT_NOT_RECORDED';
      const message = error instanceof AppFailure ? error.message : 'This node could not record the permit as used, so it does not sign.';
      this.refuseRequest(info.sessionId, new RequestRefusal(code, message, true), 'coordinator');
      return this.decline(info.sessionId, message, code);
    }
    const shareEpoch = info.protocol === 'ecdsa-presign' && share ? this.shareEpoch(share) : undefined;
    this.recordStart(info, decision, 'coordinator');
    // This node's own deadline (the request's, capped), whatever the coordinator does: a run never outlives it.
    const deadline = setTimeout(() => this.deadlinePassed(info.sessionId), Math.max(0, sessionDeadline(info, Date.now()) - Date.now()));
    deadline.unref();
    this.participations.set(info.sessionId, { info, runner, deadline, ...(share ? { share } : {}), ...(shareEpoch ? { shareEpoch } : {}) });
    this.client?.send({ t: 'accept', sessionId: info.sessionId });
  }

  /** Records envelopes the session dropped unread (forged or replayed): counted, nobody blamed. */
  private recordDropped(p: Participation): number {
    const dropped = p.runner.rejected;
    if (dropped.length > 0) {
      this.o.audit.append({ type: 'MPC_ENVELOPES_DROPPED', actor: 'system', subject: p.info.sessionId, details: { count: dropped.length, codes: [...new Set(dropped.map((e) => e.code))], claimedSenders: [...new Set(dropped.map((e) => e.sender))] } });
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
    p.runner.abort(failure);
    this.participations.delete(sessionId);
    this.releaseParticipation(p);
    p.pendingShare?.share?.fill(0);
    p.pendingShare?.presignature?.fill(0);
    try {
      this.finish(p.info, 'failed', undefined, failure.toFailure(), undefined);
    } catch {
      // The database is closing; the running row is closed as NODE_RESTARTED on next start.
    }
    this.client?.send({ t: 'failed', sessionId, failure: failure.toFailure() });
  }

  /**
   * Ends this node's running sessions whose protocol `matches`, as failed with `reason` (a job was
   * cancelled, the vault is locking): recorded and audited here, and reported to the coordinator,
   * which ends the session for every peer with the same reason. Returns the session ids ended.
   */
  abortSessions(matches: (session: SessionInfo) => boolean, code: string, reason: string): string[] {
    const ended: string[] = [];
    for (const [sessionId, p] of [...this.participations]) {
      if (!matches(p.info)) continue;
      const failure = new ClusterError({ errorClass: 'permanent', code, reason });
      p.runner.abort(failure);
      this.participations.delete(sessionId);
      this.releaseParticipation(p);
      p.pendingShare?.share?.fill(0);
      p.pendingShare?.presignature?.fill(0);
      this.finish(p.info, 'failed', undefined, failure.toFailure(), undefined);
      try {
        this.client?.send({ t: 'failed', sessionId, failure: failure.toFailure() });
      } catch {
        // The connection is gone: the coordinator times the session out for the peers.
      }
      ended.push(sessionId);
    }
    return ended;
  }

  private async run(p: Participation): Promise<void> {
    const { info, runner } = p;
    try {
      const result = await runner.start();
      if (this.participations.get(info.sessionId) !== p) {
        // Ended meanwhile (deadline, session end, lock): the secret result is not kept.
        result.share?.fill(0);
        result.presignature?.fill(0);
        return;
      }
      if (info.protocol.endsWith('-keygen') || info.protocol === 'ecdsa-presign') p.pendingShare = result;
      const pub: PublicResult = {
        ...(result.presignatureId ? { presignatureId: result.presignatureId.toString('hex') } : {}),
        ...(result.publicKey ? { publicKey: result.publicKey.toString('hex') } : {}),
        ...(result.address ? { address: result.address } : {}),
        ...(result.signature ? { signature: result.signature.toString('hex') } : {}),
        ...(result.recoveryId !== undefined && result.recoveryId !== null ? { recoveryId: result.recoveryId } : {}),
      };
      p.ownResult = pub;
      this.client?.send({ t: 'done', sessionId: info.sessionId, result: pub });
    } catch (error) {
      const failure = error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' });
      try {
        if (failure.errorClass === 'protocol-violation' && failure.blamedNode && failure.blamedNode !== this.me?.nodeId) {
          this.quarantine(failure.blamedNode, failure.reason, info.sessionId);
        }
        this.client?.send({ t: 'failed', sessionId: info.sessionId, failure: failure.toFailure() });
      } catch {
        // Shutting down: the session is closed as NODE_RESTARTED on next start.
      }
    }
  }

  private onSessionEnd(m: Extract<ServerMessage, { t: 'session-end' }>): void {
    const sid = m.session.sessionId;
    const p = this.participations.get(sid);
    if (p) {
      // This node's own copy of the session (from the signed request), never the relay's.
      this.participations.delete(sid);
      try {
        this.recordDropped(p);
        if (!p.runner.finished) p.runner.abort(new ClusterError(m.state === 'failed' && m.failure ? m.failure : { errorClass: 'transient', code: 'FAILED', reason: 'The coordinator ended the session before this node finished it.' }));
        if (m.state === 'completed' && p.info.protocol === 'ecdsa-presign' && p.pendingShare) this.pool.store(p.info, p.pendingShare, p.shareEpoch ?? null);
        // A completed session is recorded with this node's own result; one it never finished itself is not completed here.
        const state = m.state === 'completed' && p.ownResult ? 'completed' : 'failed';
        const failure = state === 'failed' ? (m.failure ?? { errorClass: 'transient' as const, code: 'FAILED', reason: 'The coordinator reported the session completed before this node finished it.' }) : undefined;
        this.finish(p.info, state, p.pendingShare, failure, p.ownResult);
      } finally {
        this.releaseParticipation(p);
        p.pendingShare?.share?.fill(0);
        p.pendingShare?.presignature?.fill(0);
      }
    }
    const waiter = this.waiters.get(sid);
    if (waiter) {
      this.waiters.delete(sid);
      waiter.resolve(m);
    } else {
      // Kept for a request of this node whose answer is still on its way; bounded.
      if (this.ended.size >= 256) this.ended.delete(this.ended.keys().next().value!);
      this.ended.set(sid, m);
    }
  }

  /** Records the outcome of a session this node took part in, in one transaction with its audit event. */
  private finish(info: SessionInfo, state: 'completed' | 'failed', pending: SessionResult | undefined, failure: SessionFailure | undefined, result: PublicResult | undefined): void {
    const keygen = info.protocol.endsWith('-keygen');
    const me = this.me;
    const lab = keygen ? this.mode === 'lab' : this.keyset(info.keysetId)?.lab === true;
    if (keygen) this.keygenWindow.finishedHere(info.keysetId);
    this.o.db.transaction(() => {
      const ok = state === 'completed' && (!keygen || (pending?.share && me));
      if (ok && keygen && pending?.share && me) {
        const scheme: Scheme = info.protocol.startsWith('ecdsa') ? 'ecdsa' : 'eddsa';
        const mine = info.parties.find((p) => p.nodeId === me.nodeId)!;
        this.o.vault.records.put(SHARE_RECORD.type, info.keysetId, SHARE_RECORD.schemaVersion, pending.share);
        this.o.db
          .prepare(`INSERT INTO mpc_keysets (keyset_id, cluster_id, scheme, key_ref, threshold, participants, my_party_index, public_key, address, status, session_id, created_at, lab) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)`)
          .run(info.keysetId, info.clusterId, scheme, keyRef(scheme, info.clusterId, info.keysetId), info.threshold, JSON.stringify(info.parties), mine.partyIndex, pending.publicKey?.toString('hex') ?? null, pending.address ?? null, info.sessionId, this.now(), lab ? 1 : 0);
      }
      this.o.db
        .prepare(`UPDATE mpc_sessions SET state = ?, error_class = ?, error_code = ?, error_reason = ?, blamed_node = ?, result = ?, finished_at = ? WHERE session_id = ?`)
        .run(ok ? 'completed' : 'failed', failure?.errorClass ?? null, failure?.code ?? null, failure?.reason ?? null, failure?.blamedNode ?? null, result ? JSON.stringify(result) : null, this.now(), info.sessionId);
      const type = `${keygen ? 'MPC_KEYGEN' : info.protocol === 'ecdsa-presign' ? 'MPC_PRESIGN' : 'MPC_SIGN'}_${ok ? 'COMPLETED' : 'FAILED'}`;
      this.o.audit.append({
        type,
        actor: 'system',
        subject: info.sessionId,
        details: {
          ...(ok
            ? { keysetId: info.keysetId, parties: info.parties.map((p) => p.nodeId), ...(result?.address ? { address: result.address } : {}) }
            : { keysetId: info.keysetId, errorClass: failure?.errorClass ?? 'transient', code: failure?.code ?? 'FAILED', reason: failure?.reason ?? '', ...(failure?.blamedNode ? { blamedNode: failure.blamedNode } : {}) }),
          ...(lab ? { lab: true } : {}),
        },
      });
    })();
  }

  /**
   * Waits for the coordinator to report the end of a session this node requested; a relay that
   * stays silent past the deadline gets a local timeout instead.
   */
  private waitForEnd(info: SessionInfo): Promise<Extract<ServerMessage, { t: 'session-end' }>> {
    const sessionId = info.sessionId;
    const done = this.ended.get(sessionId);
    if (done) {
      this.ended.delete(sessionId);
      return Promise.resolve(done);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(sessionId);
        resolve({ t: 'session-end', session: info, state: 'failed', failure: { errorClass: 'transient', code: 'TIMEOUT', reason: 'The coordinator did not report the end of the session by its deadline.' } });
      }, Math.max(0, info.deadlineAt - Date.now()) + 2_000);
      timer.unref();
      this.waiters.set(sessionId, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  private requireClient(): CoordinatorClient {
    if (!this.client?.connected) fail('COORDINATOR_UNAVAILABLE', 'This node is not connected to a coordinator. Start the cluster (or the lab cluster) and try again.');
    return this.client;
  }

  /**
   * Signs a session request with this node's identity, has the coordinator relay it and waits for
   * the session's end; QUORUM_UNAVAILABLE comes back as an error.
   */
  private async runRequest(idempotencyKey: string, body: Omit<SessionRequestBody, 'v' | 'requester'>): Promise<Extract<ServerMessage, { t: 'session-end' }>> {
    const client = this.requireClient();
    const request = signSessionRequest(await this.identity(), body);
    this.ownRequests.add(body.sessionId);
    try {
      const answer = await client.request({ t: 'create', idempotencyKey, request });
      if (answer.t === 'error') {
        const details = { code: answer.code };
        if (answer.code === 'QUORUM_UNAVAILABLE') fail('QUORUM_UNAVAILABLE', answer.message, details);
        fail('CLUSTER_REQUEST_REFUSED', answer.message, details);
      }
      if (answer.t !== 'created') fail('CLUSTER_REQUEST_REFUSED', 'The coordinator gave an unexpected answer.');
      return await this.waitForEnd(sessionInfoOf(request.body));
    } finally {
      this.ownRequests.delete(body.sessionId);
    }
  }

  /**
   * The quorum for a session of this keyset: connected (as the coordinator reports), enrolled and
   * not excluded; the preferred members first, then this node, then by party index.
   */
  private async chooseQuorum(keyset: KeysetRecord, prefer: readonly string[], exclude: ReadonlySet<string>): Promise<Participant[]> {
    const me = await this.identity();
    const candidates = keyset.participants.filter((p) => !exclude.has(p.nodeId) && (p.nodeId === me.nodeId || this.node(p.nodeId)?.status === 'enrolled'));
    const connected = new Set(await this.requireClient().presence(candidates.map((p) => p.nodeId)));
    const usable = candidates.filter((p) => connected.has(p.nodeId));
    if (usable.length < keyset.threshold) {
      fail('QUORUM_UNAVAILABLE', `Quorum unavailable: ${usable.length} of the ${keyset.participants.length} members can take part, ${keyset.threshold} are needed.`, { keysetId: keyset.keysetId });
    }
    return rankQuorum(usable, prefer, me.nodeId, keyset.threshold);
  }

  private members(): Participant[] {
    const me = this.me!;
    const peers = this.nodes().filter((n) => !n.isSelf && n.status === 'enrolled');
    return [me.nodeId, ...peers.map((p) => p.nodeId)].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
  }

  private sessionFailure(end: Extract<ServerMessage, { t: 'session-end' }>, permitSpent = false): never {
    const f = end.failure ?? { errorClass: 'transient' as const, code: 'FAILED', reason: 'The session failed.' };
    const code: ErrorCode = f.errorClass === 'protocol-violation' ? 'MPC_PROTOCOL_VIOLATION' : f.errorClass === 'permanent' ? 'MPC_SESSION_REJECTED' : 'MPC_SESSION_FAILED';
    const spent = permitSpent ? ' The permit counts as used at every node that accepted it: it is not retried on another quorum. Ask the issuer for a new permit.' : '';
    fail(code, `${f.reason}${spent}`, {
      errorClass: f.errorClass,
      code: f.code,
      blamedNode: f.blamedNode ?? null,
      sessionId: end.session.sessionId,
      ...(permitSpent ? { permitSpent: true } : {}),
    });
  }

  /** Runs a 2-of-3 key generation with this node and two enrolled peers. */
  /**
   * The operator accepts key generation requested by peers for `minutes` (1 minute to 24 h).
   * Outside such a window only a key generation started on this node runs here.
   */
  openKeygenWindow(minutes: number, actor: 'operator' = 'operator'): { openUntil: string } {
    this.o.vault.keyRing();
    let until: number;
    try {
      until = this.keygenWindow.openFor(minutes);
    } catch {
      fail('KEYGEN_WINDOW_INVALID', 'A key-generation window lasts 1 minute to 24 hours. Choose a number of minutes in that range.', { minutes });
    }
    const openUntil = new Date(until).toISOString();
    this.o.audit.append({ type: 'KEYGEN_WINDOW_OPENED', actor, subject: this.me?.nodeId ?? this.o.vault.nodeId(), details: { minutes, openUntil } });
    return { openUntil };
  }

  closeKeygenWindow(): void {
    this.o.vault.keyRing();
    if (this.keygenWindow.openUntil() === null) return;
    this.keygenWindow.close();
    this.o.audit.append({ type: 'KEYGEN_WINDOW_CLOSED', actor: 'operator', subject: this.me?.nodeId ?? this.o.vault.nodeId(), details: {} });
  }

  async createKeyset(scheme: Scheme, options: { timeoutMs?: number; idempotencyKey?: string } = {}): Promise<KeysetRecord> {
    await this.identity();
    const members = this.members();
    if (members.length !== 3) fail('CLUSTER_NOT_READY', `A 2-of-3 keyset needs this node and two enrolled, non-quarantined peers; ${members.length - 1} peer(s) are available.`);
    const clusterId = this.requireClusterId();
    const connected = new Set(await this.requireClient().presence(members.map((m) => m.nodeId)));
    const online = members.filter((m) => connected.has(m.nodeId)).length;
    if (online < members.length) fail('QUORUM_UNAVAILABLE', `Quorum unavailable: ${online} of the ${members.length} members can take part, ${members.length} are needed for key generation.`);
    const keysetId = `ks-${randomUUID()}`;
    // The operator started this key generation here: this node accepts its own invite for it.
    this.keygenWindow.startedHere(keysetId);
    const end = await this.runRequest(options.idempotencyKey ?? `keygen-${keysetId}`, {
      clusterId,
      sessionId: newSessionId(),
      protocol: `${scheme}-keygen`,
      keysetId,
      parties: members,
      threshold: 2,
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? (scheme === 'ecdsa' ? 240_000 : 30_000)),
    });
    if (end.state !== 'completed') this.sessionFailure(end);
    const keyset = this.keyset(keysetId);
    if (!keyset) fail('MPC_SESSION_FAILED', 'The key generation finished but this node did not store its share.');
    return keyset;
  }

  private requireClusterId(): string {
    this.requireClient();
    if (!this.clusterIdValue) fail('COORDINATOR_UNAVAILABLE', 'This node is not connected to a coordinator. Start the cluster (or the lab cluster) and try again.');
    return this.clusterIdValue;
  }

  private activeKeyset(keysetId: string): KeysetRecord {
    const keyset = this.keyset(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    return keyset;
  }

  /**
   * Signs a transaction under a SigningPermit. `message` is exactly what the engine signs: the
   * unsigned transaction (ECDSA: its keccak256 is signed, each node hashing it itself) or the
   * Solana message (EdDSA). Every node of the quorum verifies the permit itself. A session that
   * fails after it started is not retried: the permit is spent at the nodes that accepted it.
   */
  async signWithPermit(keysetId: string, permit: unknown, message: Buffer, options: SignOptions = {}): Promise<SignOutcome> {
    await this.identity();
    const keyset = this.activeKeyset(keysetId);
    if (permit === undefined || permit === null) fail('MPC_SESSION_REJECTED', 'A transaction is signed only with a SigningPermit.', { keysetId });
    if (message.length === 0 || message.length > 64 * 1024) fail('MPC_SESSION_REJECTED', 'The payload to sign must be 1 byte to 64 KiB (an unsigned transaction or message).');
    return this.signMessage(keyset, { permit, message }, options);
  }

  /**
   * Signs a key-check message built here (domain separated: never a transaction of any chain)
   * to show the keyset still signs. No permit is involved, so a transient failure is retried on
   * another quorum.
   */
  async keyCheck(keysetId: string, purpose: KeyCheckPurpose = 'key-check', options: Omit<SignOptions, 'presigned'> = {}): Promise<KeyCheckOutcome> {
    await this.identity();
    const keyset = this.activeKeyset(keysetId);
    const out = await this.signMessage(keyset, { message: buildKeyCheck(keysetId, purpose), purpose }, { ...options, presigned: 'never' });
    return { ...out, purpose };
  }

  /** This node's own yes before it asks anyone: the same authorizer that answers its invite. */
  private preAuthorize(keyset: KeysetRecord, body: Omit<SessionRequestBody, 'v' | 'requester'>, me: LocalIdentity): string | null {
    const request: SignedSessionRequest = { body: { v: 1, ...body, requester: me.nodeId }, signature: '' };
    const decision = this.o.authorizer.authorize(signFacts(sessionInfoOf(request.body), request, keyset, me.nodeId, this.isLabKeyset(keyset)));
    if (!decision.ok) fail('SIGN_REFUSED', `This node refuses to request that signature: ${decision.message}`, { code: decision.code, keysetId: keyset.keysetId });
    return decision.permitId;
  }

  private outcome(keyset: KeysetRecord, what: SignWhat, end: Extract<ServerMessage, { t: 'session-end' }>, parties: Participant[], attempts: number, permitId: string | null, presignatureId: string | null): SignOutcome {
    const result = { signature: end.result?.signature ?? '', recoveryId: end.result?.recoveryId ?? null };
    if (!signatureMatchesKeyset(keyset, what.message, result)) {
      this.o.audit.append({ type: 'MPC_RESULT_REFUSED', actor: 'system', subject: end.session.sessionId, details: { keysetId: keyset.keysetId, reason: 'signature does not verify under the keyset key' } });
      fail('MPC_RESULT_INVALID', `The signature the coordinator relayed for session ${end.session.sessionId.slice(0, 16)}… does not verify under keyset ${keyset.keysetId}'s public key${keyset.scheme === 'ecdsa' ? ' (or does not recover to its address)' : ''}. It was refused; do not use it.`, {
        keysetId: keyset.keysetId,
        sessionId: end.session.sessionId,
        ...(what.permit !== undefined ? { permitSpent: true } : {}),
      });
    }
    return {
      ...result,
      parties: parties.map((p) => p.nodeId),
      sessionId: end.session.sessionId,
      attempts,
      mode: presignatureId ? 'presigned' : 'full',
      presignatureId,
      message: what.message.toString('hex'),
      digest: keyset.scheme === 'ecdsa' ? keccak256(what.message).slice(2) : null,
      permitId,
    };
  }

  private async signMessage(keyset: KeysetRecord, what: SignWhat, options: SignOptions): Promise<SignOutcome> {
    const me = await this.identity();
    const clusterId = this.requireClusterId();
    const operationId = options.operationId ?? randomBytes(16).toString('hex');
    const exclude = new Set(this.nodes().filter((n) => n.status === 'quarantined').map((n) => n.nodeId));
    const timeoutMs = options.timeoutMs ?? (keyset.scheme === 'ecdsa' ? 60_000 : 15_000);
    const common = { clusterId, keysetId: keyset.keysetId, threshold: keyset.threshold, message: what.message.toString('hex'), ...(what.permit !== undefined ? { permit: what.permit } : {}) };
    const withPermit = what.permit !== undefined;
    let attempts = 0;

    // ECDSA: one round with a ready presignature whose quorum is connected now.
    if (keyset.scheme === 'ecdsa' && options.presigned !== 'never') {
      const connected = new Set(await this.requireClient().presence(keyset.participants.map((p) => p.nodeId)));
      const unavailable = new Set([...exclude, ...keyset.participants.filter((p) => !connected.has(p.nodeId)).map((p) => p.nodeId)]);
      const pick = this.pool.pick(keyset, options.prefer ?? [], unavailable);
      if (pick) {
        const body = { ...common, sessionId: newSessionId(), protocol: 'ecdsa-sign-presigned' as const, parties: pick.quorum, presignatureId: pick.id, deadlineAt: Date.now() + Math.min(timeoutMs, 15_000) };
        let end: Extract<ServerMessage, { t: 'session-end' }> | null = null;
        try {
          const permitId = this.preAuthorize(keyset, { ...body, permitId: null }, me);
          attempts += 1;
          end = await this.runRequest(`sign-${operationId}-presigned`, { ...body, permitId });
          if (end.state === 'completed' && end.result?.signature) return this.outcome(keyset, what, end, pick.quorum, attempts, permitId, pick.id);
        } catch (error) {
          // No quorum at creation: nobody saw the request, so the full protocol may still run.
          if (!(error instanceof AppFailure) || error.code !== 'QUORUM_UNAVAILABLE') throw error;
          attempts -= 1;
        } finally {
          this.pool.drop(pick.id);
          this.pool.release(pick.id);
        }
        if (end) {
          if (end.failure?.errorClass === 'protocol-violation' || withPermit) this.sessionFailure(end, withPermit);
        }
      }
    }

    const candidates = keyset.participants.filter((p) => !exclude.has(p.nodeId)).length;
    const maxAttempts = withPermit ? 1 : Math.max(1, candidates - keyset.threshold + 1);
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const parties = await this.chooseQuorum(keyset, options.prefer ?? [], exclude);
      const body = { ...common, sessionId: newSessionId(), protocol: `${keyset.scheme}-sign` as const, parties, deadlineAt: Date.now() + timeoutMs };
      const permitId = this.preAuthorize(keyset, { ...body, permitId: null }, me);
      attempts += 1;
      const end = await this.runRequest(`sign-${operationId}-${attempt}`, { ...body, permitId });
      if (end.state === 'completed' && end.result?.signature) return this.outcome(keyset, what, end, parties, attempts, permitId, null);
      if (withPermit || end.failure?.errorClass !== 'transient') this.sessionFailure(end, withPermit);
      // A timeout names nobody: the next attempt leaves out another member of the stalled quorum.
      const suspect = end.failure.blamedNode ?? parties.find((p) => p.nodeId !== me.nodeId)?.nodeId;
      if (!suspect) this.sessionFailure(end);
      exclude.add(suspect);
    }
    fail('QUORUM_UNAVAILABLE', 'Quorum unavailable: every quorum that could sign failed with a peer timeout or disconnect.', { keysetId: keyset.keysetId });
  }

  // --- presignatures (ECDSA) -------------------------------------------------------------------

  /** Ties a presignature to the share it was made with: a refresh changes the public share. */
  private shareEpoch(share: Buffer): string {
    return createHash('sha256').update(this.signer.shareInfo(share).publicShare).digest('hex').slice(0, 32);
  }

  /**
   * Runs one presign session for the keyset with a quorum (the preferred members when online).
   * Each quorum party keeps its secret presignature sealed; the requester records the id.
   */
  async presign(keysetId: string, options: { prefer?: string[]; timeoutMs?: number } = {}): Promise<PresignatureRecord> {
    await this.identity();
    const keyset = this.keyset(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    if (keyset.scheme !== 'ecdsa') fail('MPC_SESSION_REJECTED', 'Presignatures exist only for ECDSA keysets.', { keysetId });
    const exclude = new Set(this.nodes().filter((n) => n.status === 'quarantined').map((n) => n.nodeId));
    const parties = await this.chooseQuorum(keyset, options.prefer ?? [], exclude);
    const end = await this.runRequest(`presign-${randomBytes(16).toString('hex')}`, {
      clusterId: this.requireClusterId(),
      sessionId: newSessionId(),
      protocol: 'ecdsa-presign',
      keysetId,
      parties,
      threshold: keyset.threshold,
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? 60_000),
    });
    const id = end.result?.presignatureId;
    if (end.state !== 'completed' || !id) this.sessionFailure(end);
    this.pool.recordRequested(id, keysetId, parties);
    return this.presignatures(keysetId).find((p) => p.presignatureId === id)!;
  }

  presignatures(keysetId: string): PresignatureRecord[] {
    return this.pool.list(keysetId);
  }

  /** Drops every presignature of the keyset (its shares were refreshed, or the operator asked). */
  discardPresignatures(keysetId: string, reason: string): number {
    return this.pool.discard(keysetId, reason);
  }

  /** Sets how long the keyset's new presignatures stay usable (default one hour). */
  setPresignatureTtl(keysetId: string, ttlMs: number): void {
    this.o.vault.keyRing();
    if (!this.keyset(keysetId)) fail('KEYSET_NOT_FOUND', `No keyset ${keysetId} on this node.`, { keysetId });
    this.pool.setTtl(keysetId, ttlMs);
  }

  keyset(keysetId: string): KeysetRecord | null {
    const r = this.o.db.prepare('SELECT * FROM mpc_keysets WHERE keyset_id = ?').get(keysetId) as Row | undefined;
    return r ? toKeyset(r) : null;
  }

  keysets(): KeysetRecord[] {
    return (this.o.db.prepare('SELECT * FROM mpc_keysets ORDER BY created_at DESC').all() as Row[]).map(toKeyset);
  }

  sessions(limit = 100): SessionRecord[] {
    return (this.o.db.prepare('SELECT * FROM mpc_sessions ORDER BY started_at DESC LIMIT ?').all(limit) as Row[]).map(toSession);
  }

  // --- air gap ---------------------------------------------------------------------------------

  /**
   * Starts a signing session with one partner over the air gap: writes the signed session request
   * and this node's first round into `outDir`. What is signed is a transaction under a permit, or
   * a key check built here.
   */
  airgapRequest(keysetId: string, what: { permit: unknown; message: Buffer } | { purpose: KeyCheckPurpose }, partner: string, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapHandle> {
    return this.airgap.request(keysetId, what, partner, outDir, options);
  }

  /** Reads every complete bundle in `inDir`: joins requests addressed to this node, feeds rounds. */
  airgapImport(inDir: string, outDir: string = inDir): Promise<AirgapImportReport> {
    return this.airgap.import(inDir, outDir);
  }

  airgapDeliver(sessionId: string, bundle: Bundle): boolean {
    return this.airgap.deliver(sessionId, bundle);
  }

  airgapSessions(): AirgapHandle[] {
    return this.airgap.handles();
  }

  private sessionRow(sessionId: string): boolean {
    return this.o.db.prepare('SELECT 1 FROM mpc_sessions WHERE session_id = ?').get(sessionId) !== undefined;
  }

  /** Records that this node joined a session (row and audit event in one transaction). */
  private recordStart(info: SessionInfo, decision: AdmittedInvite['decision'], transport: 'coordinator' | 'airgap'): void {
    const keygen = info.protocol.endsWith('-keygen');
    this.o.db.transaction(() => {
      this.o.db
        .prepare(`INSERT INTO mpc_sessions (session_id, protocol, keyset_id, requester, parties, state, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)`)
        .run(info.sessionId, info.protocol, info.keysetId, info.requester, JSON.stringify(info.parties), this.now());
      this.o.audit.append({
        type: keygen ? 'MPC_KEYGEN_STARTED' : info.protocol === 'ecdsa-presign' ? 'MPC_PRESIGN_STARTED' : 'MPC_SIGN_STARTED',
        actor: info.requester,
        subject: info.sessionId,
        details: { keysetId: info.keysetId, protocol: info.protocol, parties: info.parties.map((p) => p.nodeId), ...(transport === 'airgap' ? { transport } : {}), ...(decision ? { authorization: decision.kind, permitId: decision.permitId } : {}) },
      });
    })();
  }
}

function toNode(r: Row): NodeRecord {
  return { nodeId: String(r.node_id), name: String(r.name), fingerprint: String(r.fingerprint), isSelf: r.is_self === 1, status: r.status as NodeRecord['status'], quarantineReason: (r.quarantine_reason as string | null) ?? null };
}

function toKeyset(r: Row): KeysetRecord {
  return {
    keysetId: String(r.keyset_id),
    clusterId: String(r.cluster_id),
    scheme: r.scheme as Scheme,
    keyRef: String(r.key_ref),
    threshold: Number(r.threshold),
    participants: JSON.parse(String(r.participants)) as Participant[],
    myPartyIndex: Number(r.my_party_index),
    publicKey: (r.public_key as string | null) ?? null,
    address: (r.address as string | null) ?? null,
    status: r.status as KeysetRecord['status'],
    createdAt: String(r.created_at),
    lab: r.lab === 1,
  };
}

function toSession(r: Row): SessionRecord {
  return {
    sessionId: String(r.session_id),
    protocol: String(r.protocol),
    keysetId: String(r.keyset_id),
    requester: String(r.requester),
    parties: JSON.parse(String(r.parties)) as Participant[],
    state: r.state as SessionRecord['state'],
    errorClass: (r.error_class as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    errorReason: (r.error_reason as string | null) ?? null,
    blamedNode: (r.blamed_node as string | null) ?? null,
    startedAt: String(r.started_at),
    finishedAt: (r.finished_at as string | null) ?? null,
  };
}
