/**
 * This node's part in the signer cluster: enrolled peers (confirmed by fingerprint), the
 * connection to the coordinator, the sessions it takes part in, keysets and their sealed shares,
 * quarantine, and the error taxonomy with retries on another quorum.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { keccak256 } from 'ethers';
import type { ClusterNodeView, ClusterSessionView } from '../../preload/contract';
import { AppFailure } from '../errors';
import type { AuditLog } from '../audit/audit-log';
import type { PublicResult, ServerMessage, SessionInfo, ClusterProtocol, Participant } from '../coordinator/protocol';
import { fail } from '../errors';
import { MpcSigner, type SessionResult } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { BundleInbox, BundleTransport, listBundles, readBundle, sealBundle, verifyBundle, writeBundle, type Bundle } from './airgap';
import { CoordinatorClient } from './coordinator-client';
import { peerFromCard, type Peer, type WireEnvelope } from './envelope';
import { ClusterError, type SessionFailure } from './errors';
import { cardFingerprint, LocalIdentity, verifyCard, type NodeCard } from './identity';
import { ed25519PublicKey } from './keys';
import { parseInbound } from './inbound-messages';
import { PresignedSignRunner, type ParticipationRunner } from './presigned-runner';
import { PresignaturePool, type PresignatureRecord } from './presignatures';
import { defaultStateDir, RollbackGuard } from './rollback-guard';
import { admissionRefusal, DEFAULT_SESSION_LIMITS, KeygenWindow, RefusalAudit, sessionDeadline, type SessionLimitSettings } from './session-limits';
import { SessionRunner, type RunnerTransport } from './session-runner';

export { PRESIGNATURE_RECORD, type PresignatureRecord } from './presignatures';

export type Scheme = 'ecdsa' | 'eddsa';
export const SHARE_RECORD = { type: 'mpc-share', schemaVersion: 1 } as const;

export interface SignOutcome {
  signature: string;
  recoveryId: number | null;
  parties: string[];
  sessionId: string;
  attempts: number;
}

export interface PreimageSignOutcome extends SignOutcome {
  /** 'presigned': the one-round online step; 'full': the full protocol over keccak256(preimage). */
  mode: 'presigned' | 'full';
  presignatureId: string | null;
  /** keccak256(preimage), hex. */
  digest: string;
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

/** What this node agrees to take part in without an operator. */
export interface ParticipationPolicy {
  protocols: readonly ClusterProtocol[];
}

export const DEFAULT_POLICY: ParticipationPolicy = { protocols: ['eddsa-keygen', 'eddsa-sign', 'ecdsa-keygen', 'ecdsa-sign', 'ecdsa-presign', 'ecdsa-sign-presigned'] };

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
  /** Folder of the rollback counter's mirror, outside the data folder (default: the OS state folder). */
  stateDir?: string;
  /** Bounds on concurrent sessions and the refusal audit window. */
  limits?: Partial<SessionLimitSettings>;
}

interface Participation {
  info: SessionInfo;
  runner: ParticipationRunner;
  /** Set once the coordinator's start reached the runner; a repeated start is ignored. */
  started?: boolean;
  /** This node's own deadline for the run (the invite's, capped). */
  deadline?: NodeJS.Timeout;
  /** The key share taken from the vault for this session, cleared when it ends. */
  share?: Buffer;
  /**
   * Keygen or presign result held until the coordinator confirms every party finished: no
   * partial keysets, no presignature its partner lacks.
   */
  pendingShare?: SessionResult;
  /** ecdsa-presign: epoch of the share the presignature was made with. */
  shareEpoch?: string;
}

interface Waiter {
  resolve: (m: Extract<ServerMessage, { t: 'session-end' }>) => void;
}

type Row = Record<string, unknown>;

export interface AirgapOutcome {
  sessionId: string;
  signature: string;
  recoveryId: number | null;
  parties: string[];
}

/** A signing session carried by file bundles; `result` settles when the last bundle is imported. */
export interface AirgapHandle {
  sessionId: string;
  info: SessionInfo;
  result: Promise<AirgapOutcome>;
}

interface AirgapParticipation {
  me: string;
  info: SessionInfo;
  runner: SessionRunner;
  peers: Map<string, Peer>;
  inbox: BundleInbox;
  outDir: string;
  handle: AirgapHandle;
  timer: NodeJS.Timeout;
}

export interface AirgapImportReport {
  /** Bundles handed to a session (or session requests joined). */
  imported: number;
  /** Bundles already taken in, or of sessions this node does not run. */
  skipped: number;
  refused: Array<{ file: string; code: string; message: string }>;
  joined: AirgapHandle[];
}

/** Air-gap sessions wait for people carrying media: hours, not seconds. */
export const AIRGAP_DEFAULT_TTL_MS = 24 * 3600_000;

export class ClusterService {
  private me: LocalIdentity | null = null;
  private client: CoordinatorClient | null = null;
  private clusterIdValue: string | null = null;
  private signerValue: MpcSigner | null;
  private readonly participations = new Map<string, Participation>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly ended = new Map<string, Extract<ServerMessage, { t: 'session-end' }>>();
  private readonly airgap = new Map<string, AirgapParticipation>();
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
    for (const p of this.airgap.values()) p.runner.abort(new ClusterError({ errorClass: 'transient', code: 'NODE_STOPPED', reason: 'This node stopped (vault locked or console closed) before the air-gap session finished.' }));
    for (const p of this.participations.values()) this.releaseParticipation(p);
    this.participations.clear();
    this.refusals.flush();
    this.me = null;
  }

  /** Clears what a participation holds: its deadline timer and the key share from the vault. */
  private releaseParticipation(p: Participation): void {
    if (p.deadline) clearTimeout(p.deadline);
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
        return this.onInvite(m.session);
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

  private decline(info: SessionInfo, reason: string): void {
    this.refusals.record(reason, info.requester);
    this.client?.send({ t: 'decline', sessionId: info.sessionId, reason });
  }

  /** Invites being prepared (between their first check and their participation), by session id. */
  private readonly inviting = new Map<string, SessionInfo>();

  /** Policy gate: only sessions this node's policy and enrolment allow run without an operator. */
  private async onInvite(info: SessionInfo): Promise<void> {
    // A repeated invite is not a new session: ignored (and counted), never a second row.
    if (this.inviting.has(info.sessionId) || this.participations.has(info.sessionId) || this.airgap.has(info.sessionId) || this.sessionRow(info.sessionId)) {
      this.refusals.record('repeated invite (session id already known here)', info.requester);
      return;
    }
    const bound = admissionRefusal(this.limits, [...this.inviting.values(), ...[...this.participations.values()].map((p) => p.info)], info);
    if (bound) return this.decline(info, bound);
    this.inviting.set(info.sessionId, info);
    try {
      await this.prepareInvited(info);
    } finally {
      this.inviting.delete(info.sessionId);
    }
  }

  private async prepareInvited(info: SessionInfo): Promise<void> {
    let me: LocalIdentity;
    try {
      me = await this.identity();
    } catch {
      return this.decline(info, 'vault locked');
    }
    if (!this.policy.protocols.includes(info.protocol)) return this.decline(info, `policy does not allow ${info.protocol}`);
    const requester = this.node(info.requester);
    if (!requester || requester.status !== 'enrolled') return this.decline(info, 'requester is not an enrolled peer');
    if (Date.now() > info.deadlineAt) return this.decline(info, 'deadline passed');
    let share: Buffer | undefined;
    const keygen = info.protocol.endsWith('-keygen');
    const keyset = this.keyset(info.keysetId);
    if (keygen) {
      if (keyset) return this.decline(info, 'keyset id already exists');
      if (!this.keygenWindow.permits(info, me.nodeId)) return this.decline(info, "key generation is not open on this node (its operator has not started one or opened a key-generation window)");
    } else {
      const mine = info.parties.find((p) => p.nodeId === me.nodeId);
      if (!keyset || keyset.status !== 'active' || !mine || mine.partyIndex !== keyset.myPartyIndex) return this.decline(info, 'unknown keyset or wrong party index');
      if (!protocolFits(keyset.scheme, info.protocol)) return this.decline(info, 'protocol does not match the keyset');
      share = this.o.vault.records.get(SHARE_RECORD.type, info.keysetId)?.plaintext;
      if (!share) return this.decline(info, 'share missing');
      if (info.protocol === 'ecdsa-sign-presigned') {
        const refusal = this.pool.refusal(info, this.shareEpoch(share));
        if (refusal) {
          share.fill(0);
          return this.decline(info, refusal);
        }
      }
    }
    let participation: Participation;
    try {
      const peers = await this.peersFor(info, me);
      const transport: RunnerTransport = { send: (to, envelope: WireEnvelope) => this.client?.send({ t: 'relay', sessionId: info.sessionId, to, envelope }) };
      const primes = keygen && info.protocol === 'ecdsa-keygen' ? this.o.primes?.() : undefined;
      let runner: ParticipationRunner;
      if (info.protocol === 'ecdsa-sign-presigned') {
        const presignatureId = info.presignatureId!;
        runner = new PresignedSignRunner({ me, info, peers, signer: this.signer, transport, share: share!, consume: () => this.pool.consume(presignatureId, info.keysetId, info.parties) });
      } else {
        runner = new SessionRunner({ me, info, peers, signer: this.signer, transport, ...(share ? { share } : {}), ...(primes ? { primes } : {}) });
      }
      participation = { info, runner, ...(share ? { share } : {}), ...(info.protocol === 'ecdsa-presign' && share ? { shareEpoch: this.shareEpoch(share) } : {}) };
      this.o.db.transaction(() => {
        this.o.db
          .prepare(`INSERT INTO mpc_sessions (session_id, protocol, keyset_id, requester, parties, state, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)`)
          .run(info.sessionId, info.protocol, info.keysetId, info.requester, JSON.stringify(info.parties), this.now());
        this.o.audit.append({ type: keygen ? 'MPC_KEYGEN_STARTED' : info.protocol === 'ecdsa-presign' ? 'MPC_PRESIGN_STARTED' : 'MPC_SIGN_STARTED', actor: info.requester, subject: info.sessionId, details: { keysetId: info.keysetId, protocol: info.protocol, parties: info.parties.map((p) => p.nodeId), ...((keygen ? this.mode === 'lab' : keyset?.lab) ? { lab: true } : {}) } });
      })();
    } catch (error) {
      share?.fill(0);
      return this.decline(info, error instanceof ClusterError ? error.reason : 'cannot prepare the session');
    }
    this.participations.set(info.sessionId, participation);
    // This node's own deadline, whatever the coordinator does: a run never outlives it.
    const at = sessionDeadline(info, Date.now());
    participation.deadline = setTimeout(() => this.onDeadline(info.sessionId), Math.max(0, at - Date.now()));
    participation.deadline.unref();
    this.client?.send({ t: 'accept', sessionId: info.sessionId });
  }

  /** The session passed this node's deadline: abort the run and record it failed here. */
  private onDeadline(sessionId: string): void {
    const p = this.participations.get(sessionId);
    if (!p) return;
    this.participations.delete(sessionId);
    const failure = new ClusterError({ errorClass: 'transient', code: 'TIMEOUT', reason: 'The session passed its deadline on this node before it finished.' });
    p.runner.abort(failure);
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
      this.participations.delete(sid);
      // What this node accepted, not what the relay claims now, decides what is stored.
      const info = p.info;
      try {
        if (!p.runner.finished) p.runner.abort(new ClusterError(m.state === 'failed' && m.failure ? m.failure : { errorClass: 'transient', code: 'FAILED', reason: 'The coordinator ended the session before this node finished it.' }));
        if (m.state === 'completed' && info.protocol === 'ecdsa-presign' && p.pendingShare) this.pool.store(info, p.pendingShare, p.shareEpoch ?? null);
        this.finish(info, m.state, p.pendingShare, m.failure, m.result);
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

  private waitForEnd(sessionId: string): Promise<Extract<ServerMessage, { t: 'session-end' }>> {
    const done = this.ended.get(sessionId);
    if (done) {
      this.ended.delete(sessionId);
      return Promise.resolve(done);
    }
    return new Promise((resolve) => this.waiters.set(sessionId, { resolve }));
  }

  private requireClient(): CoordinatorClient {
    if (!this.client?.connected) fail('COORDINATOR_UNAVAILABLE', 'This node is not connected to a coordinator. Start the cluster (or the lab cluster) and try again.');
    return this.client;
  }

  /** Sends one request and waits for the session's end; QUORUM_UNAVAILABLE comes back as an error. */
  private async runSession(request: Omit<Extract<Parameters<CoordinatorClient['request']>[0], { t: 'create' }>, 't'>): Promise<Extract<ServerMessage, { t: 'session-end' }>> {
    const client = this.requireClient();
    const answer = await client.request({ t: 'create', ...request });
    if (answer.t === 'error') {
      const details = { code: answer.code };
      if (answer.code === 'QUORUM_UNAVAILABLE') fail('QUORUM_UNAVAILABLE', answer.message, details);
      fail('CLUSTER_REQUEST_REFUSED', answer.message, details);
    }
    if (answer.t !== 'created') fail('CLUSTER_REQUEST_REFUSED', 'The coordinator gave an unexpected answer.');
    return this.waitForEnd(answer.session.sessionId);
  }

  private members(): Participant[] {
    const me = this.me!;
    const peers = this.nodes().filter((n) => !n.isSelf && n.status === 'enrolled');
    return [me.nodeId, ...peers.map((p) => p.nodeId)].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
  }

  private sessionFailure(end: Extract<ServerMessage, { t: 'session-end' }>): never {
    const f = end.failure ?? { errorClass: 'transient' as const, code: 'FAILED', reason: 'The session failed.' };
    fail(f.errorClass === 'protocol-violation' ? 'MPC_PROTOCOL_VIOLATION' : f.errorClass === 'permanent' ? 'MPC_SESSION_REJECTED' : 'MPC_SESSION_FAILED', f.reason, {
      errorClass: f.errorClass,
      code: f.code,
      blamedNode: f.blamedNode ?? null,
      sessionId: end.session.sessionId,
    });
  }

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

  /** Runs a 2-of-3 key generation with this node and two enrolled peers. */
  async createKeyset(scheme: Scheme, options: { timeoutMs?: number; idempotencyKey?: string } = {}): Promise<KeysetRecord> {
    const me = await this.identity();
    const members = this.members();
    if (members.length !== 3) fail('CLUSTER_NOT_READY', `A 2-of-3 keyset needs this node and two enrolled, non-quarantined peers; ${members.length - 1} peer(s) are available.`);
    const keysetId = `ks-${randomUUID()}`;
    // The operator started this key generation here: this node accepts its own invite for it.
    this.keygenWindow.startedHere(keysetId);
    const end = await this.runSession({
      idempotencyKey: options.idempotencyKey ?? `keygen-${keysetId}`,
      protocol: `${scheme}-keygen`,
      keysetId,
      members,
      threshold: 2,
      prefer: [],
      exclude: [],
      timeoutMs: options.timeoutMs ?? (scheme === 'ecdsa' ? 240_000 : 30_000),
    });
    if (end.state !== 'completed') this.sessionFailure(end);
    const keyset = this.keyset(end.session.keysetId);
    if (!keyset) fail('MPC_SESSION_FAILED', 'The key generation finished but this node did not store its share.');
    void me;
    return keyset;
  }

  /**
   * Signs with any quorum of the keyset. A transient failure (a peer timed out, disconnected or
   * declined) is retried once per remaining quorum without that peer; the others are terminal.
   */
  async sign(keysetId: string, message: Buffer, options: { prefer?: string[]; timeoutMs?: number; operationId?: string } = {}): Promise<SignOutcome> {
    await this.identity();
    const keyset = this.keyset(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    if (keyset.scheme === 'ecdsa' && message.length !== 32) fail('MPC_SESSION_REJECTED', 'ECDSA signing takes a 32-byte digest.');
    const operationId = options.operationId ?? randomBytes(16).toString('hex');
    const exclude = new Set(this.nodes().filter((n) => n.status === 'quarantined').map((n) => n.nodeId));
    const candidates = keyset.participants.filter((p) => !exclude.has(p.nodeId)).length;
    for (let attempt = 1; attempt <= Math.max(1, candidates - keyset.threshold + 1); attempt += 1) {
      const end = await this.runSession({
        idempotencyKey: `sign-${operationId}-${attempt}`,
        protocol: `${keyset.scheme}-sign`,
        keysetId,
        members: keyset.participants,
        threshold: keyset.threshold,
        message: message.toString('hex'),
        prefer: options.prefer ?? [],
        exclude: [...exclude],
        timeoutMs: options.timeoutMs ?? (keyset.scheme === 'ecdsa' ? 60_000 : 15_000),
      });
      if (end.state === 'completed' && end.result?.signature) {
        return { signature: end.result.signature, recoveryId: end.result.recoveryId ?? null, parties: end.session.parties.map((p) => p.nodeId), sessionId: end.session.sessionId, attempts: attempt };
      }
      if (end.failure?.errorClass !== 'transient') this.sessionFailure(end);
      // A timeout names nobody: the next attempt leaves out another member of the stalled quorum.
      const suspect = end.failure.blamedNode ?? end.session.parties.find((p) => p.nodeId !== this.me?.nodeId)?.nodeId;
      if (!suspect) this.sessionFailure(end);
      exclude.add(suspect);
    }
    fail('QUORUM_UNAVAILABLE', 'Quorum unavailable: every quorum that could sign failed with a peer timeout or disconnect.', { keysetId });
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
    const exclude = this.nodes().filter((n) => n.status === 'quarantined').map((n) => n.nodeId);
    const end = await this.runSession({
      idempotencyKey: `presign-${randomBytes(16).toString('hex')}`,
      protocol: 'ecdsa-presign',
      keysetId,
      members: keyset.participants,
      threshold: keyset.threshold,
      prefer: options.prefer ?? [],
      exclude,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const id = end.result?.presignatureId;
    if (end.state !== 'completed' || !id) this.sessionFailure(end);
    this.pool.recordRequested(id, keysetId, end.session.parties);
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

  /**
   * Signs keccak256(preimage) with the ECDSA keyset. The preimage is the message itself (for an
   * Ethereum transaction, its unsigned serialization), never a digest: presignatures may only
   * sign a message they hash themselves. With a ready presignature for an available quorum, this
   * is one round (`mode: 'presigned'`); otherwise, or when that attempt fails for a reason other
   * than a protocol violation, the full protocol signs the digest (`mode: 'full'`). A
   * presignature is attempted at most once: whatever the outcome, it is spent.
   */
  async signPreimage(keysetId: string, preimage: Buffer, options: { prefer?: string[]; timeoutMs?: number; operationId?: string; presigned?: 'prefer' | 'never' } = {}): Promise<PreimageSignOutcome> {
    await this.identity();
    const keyset = this.keyset(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    if (keyset.scheme !== 'ecdsa') fail('MPC_SESSION_REJECTED', 'Preimage signing is for ECDSA keysets; sign EdDSA messages with sign().', { keysetId });
    if (preimage.length === 0 || preimage.length > 64 * 1024) fail('MPC_SESSION_REJECTED', 'The preimage must be 1 byte to 64 KiB (an unsigned transaction payload).');
    const digest = Buffer.from(keccak256(preimage).slice(2), 'hex');
    // Checked before a presignature is picked: an attempt spends it even if nothing was sent.
    this.requireClient();
    const operationId = options.operationId ?? randomBytes(16).toString('hex');
    const exclude = new Set(this.nodes().filter((n) => n.status === 'quarantined').map((n) => n.nodeId));
    const pick = options.presigned === 'never' ? null : this.pool.pick(keyset, options.prefer ?? [], exclude);
    if (pick) {
      let end: Extract<ServerMessage, { t: 'session-end' }> | null = null;
      try {
        end = await this.runSession({
          idempotencyKey: `sign-${operationId}-presigned`,
          protocol: 'ecdsa-sign-presigned',
          keysetId,
          members: pick.quorum,
          threshold: keyset.threshold,
          message: preimage.toString('hex'),
          presignatureId: pick.id,
          prefer: [],
          exclude: [],
          timeoutMs: options.timeoutMs ?? 15_000,
        });
      } catch (error) {
        // No quorum online for this presignature: the full protocol may still find one.
        if (!(error instanceof AppFailure) || error.code !== 'QUORUM_UNAVAILABLE') throw error;
      } finally {
        this.pool.drop(pick.id);
        this.pool.release(pick.id);
      }
      if (end?.state === 'completed' && end.result?.signature) {
        return { signature: end.result.signature, recoveryId: end.result.recoveryId ?? null, parties: end.session.parties.map((p) => p.nodeId), sessionId: end.session.sessionId, attempts: 1, mode: 'presigned', presignatureId: pick.id, digest: digest.toString('hex') };
      }
      if (end?.failure?.errorClass === 'protocol-violation') this.sessionFailure(end);
    }
    const full = await this.sign(keysetId, digest, { ...(options.prefer ? { prefer: options.prefer } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}), operationId });
    return { ...full, attempts: full.attempts + (pick ? 1 : 0), mode: 'full', presignatureId: null, digest: digest.toString('hex') };
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

  /** Signing key of an enrolled, non-quarantined peer; null otherwise. */
  private peerSigningKey(nodeId: string): Peer['signingKey'] | null {
    const node = this.node(nodeId);
    const card = this.card(nodeId);
    if (!node || !card || node.isSelf || node.status !== 'enrolled') return null;
    return ed25519PublicKey(Buffer.from(card.signingPublicKey, 'hex'));
  }

  /**
   * Starts a signing session with one partner over the air gap: writes the signed session request
   * and this node's first round into `outDir`. Nothing here opens a socket.
   */
  async airgapRequest(keysetId: string, message: Buffer, partner: string, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapHandle> {
    const me = await this.identity();
    const keyset = this.keyset(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    if (keyset.scheme === 'ecdsa' && message.length !== 32) fail('MPC_SESSION_REJECTED', 'ECDSA signing takes a 32-byte digest.');
    const mine = keyset.participants.find((p) => p.nodeId === me.nodeId);
    const theirs = keyset.participants.find((p) => p.nodeId === partner && p.nodeId !== me.nodeId);
    if (!mine || !theirs) fail('MPC_SESSION_REJECTED', `Node ${partner} is not another member of keyset ${keysetId}.`, { keysetId });
    if (!this.peerSigningKey(partner)) fail('MPC_SESSION_REJECTED', `Node ${partner} is not an enrolled, non-quarantined peer of this node.`, { nodeId: partner });
    const info: SessionInfo = {
      sessionId: randomBytes(32).toString('hex'),
      protocol: `${keyset.scheme}-sign`,
      clusterId: keyset.clusterId,
      keysetId,
      parties: [mine, theirs].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: keyset.threshold,
      message: message.toString('hex'),
      requester: me.nodeId,
      deadlineAt: Date.now() + (options.ttlMs ?? AIRGAP_DEFAULT_TTL_MS),
    };
    writeBundle(outDir, sealBundle(me, { kind: 'request', clusterId: info.clusterId, sid: info.sessionId, protocol: info.protocol, round: 0, to: [partner] }, { session: info, envelopes: [] }));
    return this.airgapStart(info, outDir);
  }

  /**
   * Reads every complete bundle in `inDir`: joins session requests addressed to this node (its
   * policy permitting) and hands round bundles to their running sessions. Refused bundles are
   * reported with their typed error and never reach a session.
   */
  async airgapImport(inDir: string, outDir: string = inDir): Promise<AirgapImportReport> {
    const me = await this.identity();
    const report: AirgapImportReport = { imported: 0, skipped: 0, refused: [], joined: [] };
    let files: string[];
    try {
      files = listBundles(inDir);
    } catch {
      fail('BUNDLE_MALFORMED', `Cannot read the folder ${inDir}. Check that the medium is mounted and readable.`);
    }
    for (const file of files) {
      try {
        const bundle = readBundle(file);
        if (!bundle.header.to.includes(me.nodeId)) {
          report.skipped += 1;
          continue;
        }
        if (bundle.header.kind === 'request') {
          if (this.airgap.has(bundle.header.sid) || this.sessionRow(bundle.header.sid)) {
            report.skipped += 1;
            continue;
          }
          report.joined.push(await this.airgapJoin(bundle, outDir));
          report.imported += 1;
        } else if (this.airgap.has(bundle.header.sid)) {
          if (this.airgapDeliver(bundle.header.sid, bundle)) report.imported += 1;
          else report.skipped += 1;
        } else {
          report.skipped += 1;
        }
      } catch (error) {
        // Whatever a file on the medium does to the import, it is a refusal, never a crash.
        if (error instanceof AppFailure) report.refused.push({ file, code: error.code, message: error.message });
        else report.refused.push({ file, code: 'BUNDLE_MALFORMED', message: 'This bundle could not be read or taken in; it was left untouched. Ask the sender for a fresh copy.' });
      }
    }
    return report;
  }

  /** Hands one bundle to a running air-gap session; false when it was already taken in. */
  airgapDeliver(sessionId: string, bundle: Bundle): boolean {
    const p = this.airgap.get(sessionId);
    if (!p) fail('AIRGAP_SESSION_NOT_FOUND', `No air-gap session ${sessionId.slice(0, 16)}… is running on this node (finished, expired, or never started here).`);
    verifyBundle(bundle, { me: p.me, clusterId: p.info.clusterId, session: p.info, senderKey: (id) => p.peers.get(id)?.signingKey ?? null });
    if (bundle.header.kind !== 'round') fail('BUNDLE_WRONG_ROUND', 'A session request cannot be imported into a running session.');
    if (!p.inbox.admit(bundle)) return false;
    for (const env of bundle.body.envelopes) p.runner.deliver(env);
    return true;
  }

  airgapSessions(): AirgapHandle[] {
    return [...this.airgap.values()].map((p) => p.handle);
  }

  private sessionRow(sessionId: string): boolean {
    return this.o.db.prepare('SELECT 1 FROM mpc_sessions WHERE session_id = ?').get(sessionId) !== undefined;
  }

  private async airgapJoin(bundle: Bundle, outDir: string): Promise<AirgapHandle> {
    const me = await this.identity();
    const info = bundle.body.session!;
    const keyset = this.keyset(info.keysetId);
    if (!keyset) fail('KEYSET_NOT_FOUND', `The session request is for keyset ${info.keysetId}, which this node does not hold.`, { keysetId: info.keysetId });
    verifyBundle(bundle, { me: me.nodeId, clusterId: keyset.clusterId, senderKey: (id) => this.peerSigningKey(id) });
    if (!this.policy.protocols.includes(info.protocol)) fail('MPC_SESSION_REJECTED', `This node's policy does not allow ${info.protocol}.`);
    if (Date.now() > info.deadlineAt) fail('MPC_SESSION_REJECTED', 'The session request has expired. Ask the requester for a new one.', { sessionId: info.sessionId });
    return this.airgapStart(info, outDir);
  }

  private async airgapStart(info: SessionInfo, outDir: string): Promise<AirgapHandle> {
    const me = await this.identity();
    const transport = new BundleTransport(me, info, outDir);
    const runner = await this.prepareOffline(info, transport);
    const peers = await this.peersFor(info, me);
    this.o.db.transaction(() => {
      this.o.db
        .prepare(`INSERT INTO mpc_sessions (session_id, protocol, keyset_id, requester, parties, state, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)`)
        .run(info.sessionId, info.protocol, info.keysetId, info.requester, JSON.stringify(info.parties), this.now());
      this.o.audit.append({ type: 'MPC_SIGN_STARTED', actor: info.requester, subject: info.sessionId, details: { keysetId: info.keysetId, protocol: info.protocol, parties: info.parties.map((p) => p.nodeId), transport: 'airgap' } });
    })();
    const timer = setTimeout(() => runner.abort(new ClusterError({ errorClass: 'transient', code: 'TIMEOUT', reason: 'The air-gap session passed its deadline before every bundle came back.' })), Math.max(0, info.deadlineAt - Date.now()));
    // Kept referenced: the engine works on its own thread, and nothing else may keep the process alive meanwhile.
    const result = runner.start().then(
      (r) => {
        const pub: PublicResult = { ...(r.signature ? { signature: r.signature.toString('hex') } : {}), ...(r.recoveryId !== undefined && r.recoveryId !== null ? { recoveryId: r.recoveryId } : {}) };
        this.airgapEnd(info.sessionId);
        this.finish(info, 'completed', undefined, undefined, pub);
        return { sessionId: info.sessionId, signature: pub.signature ?? '', recoveryId: pub.recoveryId ?? null, parties: info.parties.map((p) => p.nodeId) };
      },
      (error: unknown) => {
        const failure = error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' });
        this.airgapEnd(info.sessionId);
        if (failure.errorClass === 'protocol-violation' && failure.blamedNode && failure.blamedNode !== me.nodeId) this.quarantine(failure.blamedNode, failure.reason, info.sessionId);
        this.finish(info, 'failed', undefined, failure.toFailure(), undefined);
        this.sessionFailure({ t: 'session-end', session: info, state: 'failed', failure: failure.toFailure() });
      },
    );
    result.catch(() => undefined);
    const handle: AirgapHandle = { sessionId: info.sessionId, info, result };
    this.airgap.set(info.sessionId, { me: me.nodeId, info, runner, peers, inbox: new BundleInbox(), outDir, handle, timer });
    return handle;
  }

  private airgapEnd(sessionId: string): void {
    const p = this.airgap.get(sessionId);
    if (!p) return;
    clearTimeout(p.timer);
    this.airgap.delete(sessionId);
  }

  /** Prepares a participation in a session carried by another transport (air-gap bundles). */
  async prepareOffline(info: SessionInfo, transport: RunnerTransport): Promise<SessionRunner> {
    const me = await this.identity();
    const keyset = this.keyset(info.keysetId);
    const mine = info.parties.find((p) => p.nodeId === me.nodeId);
    if (!keyset || !mine || mine.partyIndex !== keyset.myPartyIndex || `${keyset.scheme}-sign` !== info.protocol) {
      fail('MPC_SESSION_REJECTED', 'This node cannot take part in that session (unknown keyset, wrong party or protocol).');
    }
    const share = this.o.vault.records.get(SHARE_RECORD.type, info.keysetId)?.plaintext;
    if (!share) fail('KEYSET_NOT_FOUND', `The share of keyset ${info.keysetId} is missing on this node.`);
    try {
      const peers = await this.peersFor(info, me);
      const runner = new SessionRunner({ me, info, peers, signer: this.signer, transport, share });
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

/** Which cluster protocols a keyset of this scheme takes part in. */
function protocolFits(scheme: Scheme, protocol: ClusterProtocol): boolean {
  if (scheme === 'ecdsa') return protocol === 'ecdsa-sign' || protocol === 'ecdsa-presign' || protocol === 'ecdsa-sign-presigned';
  return protocol === 'eddsa-sign';
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
