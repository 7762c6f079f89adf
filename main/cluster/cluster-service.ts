/**
 * This node's part in the signer cluster, as one facade over its parts: membership (identity,
 * peers, quarantine), keysets, sessions (requested here, or joined on invite), signing,
 * presignatures, key generation, and the air gap. Each part lives in its own module; this class
 * wires them and keeps the public API in one place.
 */
import { MpcSigner } from '../mpc/index';
import type { Bundle } from './airgap';
import type { AirgapGroupSessions } from './airgap-group';
import type { AirgapGroupStatus } from './airgap-types';
import { AirgapSessions, type AirgapHandle, type AirgapImportOptions, type AirgapImportReport, type AirgapRequestFacts } from './airgap-sessions';
import type { SessionInfo } from '../coordinator/protocol';
import { fail } from '../errors';
import { AuxGroups, type AuxGroupRecord } from './aux-groups';
import { wireCluster, type ClusterServiceOptions } from './cluster-components';
import { ClusterError } from './errors';
import type { LocalIdentity, NodeCard } from './identity';
import { parseInbound } from './inbound-messages';
import type { ParticipationPolicy } from './invites';
import type { KeyCheckPurpose } from './key-check';
import { KeygenCeremonies, type CreateKeysetOptions } from './keygen';
import { Keysets, type KeysetRecord, type Scheme } from './keysets';
import { Membership, type NodeRecord } from './membership';
import { Participations } from './participation';
import { PeerRoster } from './peer-roster';
import { PresignRequests } from './presign-requests';
import { PresignaturePool, type PresignatureRecord } from './presignatures';
import { PrimePool, type PrimePoolStatus } from './prime-pool';
import { PresignatureRefill, type PresignaturePoolLevel } from './presignature-refill';
import type { KeygenWindow, RefusalAudit } from './session-limits';
import { SessionRecords, type SessionRecord } from './session-records';
import type { SessionRequests } from './session-requests';
import { Signing, type KeyCheckOutcome, type SignOptions, type SignOutcome } from './signing';
import { KeysetRefreshes } from './keyset-refresh';
import { RefreshRequests } from './refresh-requests';
import type { ShareRepairs } from './share-repair';
import type { RepairRequests } from './repair-requests';

export { DEFAULT_POLICY, type ParticipationPolicy } from './invites';
export { PRESIGNATURE_RECORD, type PresignatureRecord } from './presignatures';
export { AIRGAP_DEFAULT_TTL_MS, type AirgapHandle, type AirgapImportReport, type AirgapOutcome } from './airgap-sessions';
export { keyRef, SHARE_RECORD, type KeysetRecord, type Scheme } from './keysets';
export type { NodeRecord } from './membership';
export type { SessionRecord } from './session-records';
export type { KeyCheckOutcome, SignOptions, SignOutcome } from './signing';
export type { AuxGroupRecord } from './aux-groups';
export type { ClusterServiceOptions } from './cluster-components';
export type { CreateKeysetOptions } from './keygen';
export type { PrimePoolStatus } from './prime-pool';
export type { PresignaturePoolLevel } from './presignature-refill';

export class ClusterService {
  private signerValue: MpcSigner | null;
  private linkClosing: Promise<void> = Promise.resolve();
  private readonly membership: Membership;
  private readonly keysetStore: Keysets;
  private readonly records: SessionRecords;
  private readonly requests: SessionRequests;
  private readonly participations: Participations;
  private readonly signing: Signing;
  private readonly presignRequests: PresignRequests;
  private readonly keygen: KeygenCeremonies;
  private readonly airgap: AirgapSessions;
  private readonly auxGroupStore: AuxGroups;
  readonly primePool: PrimePool;
  readonly presignatureRefill: PresignatureRefill;
  readonly policy: ParticipationPolicy;
  readonly pool: PresignaturePool;
  readonly keygenWindow: KeygenWindow;
  readonly refusals: RefusalAudit;
  /** Enrolment from card files, removal and replacement of peers (guardian quorum). */
  readonly roster: PeerRoster;
  /** Keyset refreshes at this node: pending shares, the switch, interrupted refreshes. */
  readonly keysetRefreshes: KeysetRefreshes;
  readonly refreshRequests: RefreshRequests;
  /** Replacing a lost node's EdDSA share (share repair): the checks at this node, and the requests. */
  readonly shareRepairs: ShareRepairs;
  readonly repairRequests: RepairRequests;
  /** Key generation, presign and presigned signing by file bundles among the parties (air gap). */
  readonly airgapGroup: AirgapGroupSessions;

  /** 'lab' while the embedded lab cluster serves this console. */
  mode: 'none' | 'lab' | 'configured' = 'none';

  constructor(private readonly o: ClusterServiceOptions) {
    this.signerValue = o.signer ?? null;
    const c = wireCluster(o, { signer: () => this.signer, labMode: () => this.mode === 'lab', identity: () => this.identity() });
    this.policy = c.policy;
    this.pool = c.pool;
    this.keygenWindow = c.keygenWindow;
    this.refusals = c.refusals;
    this.membership = c.membership;
    this.roster = c.roster;
    this.keysetStore = c.keysetStore;
    this.auxGroupStore = c.auxGroupStore;
    this.primePool = c.primePool;
    this.records = c.records;
    this.requests = c.requests;
    this.keysetRefreshes = c.keysetRefreshes;
    this.participations = c.participations;
    this.signing = c.signing;
    this.presignRequests = c.presignRequests;
    this.presignatureRefill = c.presignatureRefill;
    this.keygen = c.keygen;
    this.refreshRequests = c.refreshRequests;
    this.airgap = c.airgap;
    this.shareRepairs = c.shareRepairs;
    this.repairRequests = c.repairRequests;
    this.airgapGroup = c.airgapGroup;
    // Before anything else can run on an unlocked vault: a rolled-back pool is discarded.
    o.vault.onUnlock(() => {
      void this.pool.verifyAfterUnlock();
      this.presignatureRefill.resume();
    });
    o.vault.onLock((reason) => this.stop(reason === 'shutdown' ? undefined : 'The vault of this node was locked.'));
    // Expired presignatures leave the pool (and their secrets the database) without waiting for a use.
    const sweeper = setInterval(() => {
      if (!o.vault.unlocked) return;
      try {
        this.pool.sweep();
        void this.presignatureRefill.refill().catch(() => undefined);
      } catch {
        // The database is closing.
      }
    }, 60_000);
    sweeper.unref();
    this.records.recoverInterrupted();
  }

  private get signer(): MpcSigner {
    return (this.signerValue ??= new MpcSigner());
  }

  // --- membership -----------------------------------------------------------------------------

  identity(): Promise<LocalIdentity> {
    return this.membership.identity();
  }

  /** Enrols a peer after the operator compared its fingerprint words with the peer's own screen. */
  enrolPeer(card: NodeCard, confirmedFingerprint: string): NodeRecord {
    return this.membership.enrolPeer(card, confirmedFingerprint);
  }

  node(nodeId: string): NodeRecord | null {
    return this.membership.node(nodeId);
  }

  nodes(): NodeRecord[] {
    return this.membership.nodes();
  }

  quarantine(nodeId: string, reason: string, sessionId: string): void {
    this.membership.quarantine(nodeId, reason, sessionId);
  }

  release(nodeId: string): NodeRecord {
    return this.membership.release(nodeId);
  }

  // --- coordinator ----------------------------------------------------------------------------

  /** Connects to a coordinator; `certSha256` pins its TLS certificate, `clusterId` refuses one serving another cluster. */
  async connect(url: string, options: { certSha256?: string | null; clusterId?: string | null } = {}): Promise<void> {
    const me = await this.identity();
    await this.requests.connect(url, me, { onMessage: (m) => void this.handleNetworkMessage(m), onClose: () => this.onDisconnected() }, options);
  }

  /** Drops the coordinator connection (leaving the lab, going air-gapped); running sessions end as failed. */
  disconnect(): void {
    this.linkClosing = this.requests.close();
    this.onDisconnected();
  }

  /** Settles once the coordinator link closed after stop() or disconnect(). */
  linkClosed(): Promise<void> {
    return this.linkClosing;
  }

  /** Which of `nodeIds` the coordinator says are connected (this node always is, when connected). */
  presence(nodeIds: string[]): Promise<string[]> {
    return this.requests.requireClient().presence(nodeIds);
  }

  get coordinatorUrl(): string | null {
    return this.requests.url;
  }

  get clusterId(): string | null {
    return this.requests.clusterId;
  }

  get connected(): boolean {
    return this.requests.connected;
  }

  /**
   * Ends every running participation. On a vault lock (`lockReason`) each ends failed here with
   * that reason and the peers are told before the connection closes; on shutdown the engines
   * stop and the rows are closed as NODE_RESTARTED on the next start.
   */
  stop(lockReason?: string): void {
    if (lockReason) this.participations.endAll(new ClusterError({ errorClass: 'transient', code: 'VAULT_LOCKED', reason: lockReason }));
    this.participations.abortAll(new ClusterError({ errorClass: 'transient', code: 'NODE_STOPPED', reason: 'This node stopped.' }));
    this.linkClosing = this.requests.close();
    this.primePool.stop();
    this.presignatureRefill.stop();
    this.airgap.stopAll();
    this.participations.releaseAll();
    this.refusals.flush();
    this.membership.forget();
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
    await this.participations.handle(m);
  }

  private onDisconnected(): void {
    this.participations.abortAll(new ClusterError({ errorClass: 'transient', code: 'COORDINATOR_DISCONNECTED', reason: 'The connection to the coordinator was lost.' }));
  }

  // --- signing --------------------------------------------------------------------------------

  /** Signs a transaction under a SigningPermit (see Signing.signWithPermit). */
  async signWithPermit(keysetId: string, permit: unknown, message: Buffer, options: SignOptions = {}): Promise<SignOutcome> {
    try {
      return await this.signing.signWithPermit(keysetId, permit, message, options);
    } finally {
      // A presignature may have been used: top the pool up in the background.
      if (this.presignatureRefill.target(keysetId) > 0) setImmediate(() => void this.presignatureRefill.refill().catch(() => undefined));
    }
  }

  /** Signs a key-check message built here to show the keyset still signs. */
  keyCheck(keysetId: string, purpose: KeyCheckPurpose = 'key-check', options: Omit<SignOptions, 'presigned'> = {}): Promise<KeyCheckOutcome> {
    return this.signing.keyCheck(keysetId, purpose, options);
  }

  // --- presignatures (ECDSA) ------------------------------------------------------------------

  /** Runs one presign session for the keyset with a quorum (the preferred members when online). */
  presign(keysetId: string, options: { prefer?: string[]; timeoutMs?: number } = {}): Promise<PresignatureRecord> {
    return this.presignRequests.presign(keysetId, options);
  }

  presignatures(keysetId: string): PresignatureRecord[] {
    return this.pool.list(keysetId);
  }

  /** Drops every presignature of the keyset (its shares were refreshed, or the operator asked). */
  discardPresignatures(keysetId: string, reason: string): number {
    return this.pool.discard(keysetId, reason);
  }

  /** Ready presignatures this node keeps for the keyset (0 turns refilling off; at most the cap). */
  setPresignatureTarget(keysetId: string, target: number): void {
    this.presignatureRefill.setTarget(keysetId, target);
    if (target > 0) setImmediate(() => void this.presignatureRefill.refill().catch(() => undefined));
  }

  /** The pool of the keyset as the Keysets screen shows it: target, level, oldest, next expiry. */
  presignaturePoolLevel(keysetId: string): PresignaturePoolLevel {
    return this.presignatureRefill.level(keysetId);
  }

  /** Tops up every ECDSA keyset's presignature pool to its target now (normally in the background). */
  refillPresignatures(): Promise<number> {
    return this.presignatureRefill.refill();
  }

  /** Sets how long the keyset's new presignatures stay usable (default one hour). */
  setPresignatureTtl(keysetId: string, ttlMs: number): void {
    this.o.vault.keyRing();
    if (!this.keyset(keysetId)) fail('KEYSET_NOT_FOUND', `No keyset ${keysetId} on this node.`, { keysetId });
    this.pool.setTtl(keysetId, ttlMs);
  }

  // --- keysets and key generation -------------------------------------------------------------

  keyset(keysetId: string): KeysetRecord | null {
    return this.keysetStore.get(keysetId);
  }

  keysets(): KeysetRecord[] {
    return this.keysetStore.list();
  }

  sessions(limit = 100): SessionRecord[] {
    return this.records.list(limit);
  }

  /** The operator accepts key generation requested by peers for `minutes` (1 minute to 24 h). */
  openKeygenWindow(minutes: number, actor: 'operator' = 'operator'): { openUntil: string } {
    return this.keygen.openWindow(minutes, actor);
  }

  closeKeygenWindow(): void {
    this.keygen.closeWindow();
  }

  /**
   * Runs a 2-of-3 key generation with this node and two enrolled peers. ECDSA reuses the group's
   * auxiliary data when it has some (only the distributed key generation runs).
   */
  createKeyset(scheme: Scheme, options: CreateKeysetOptions = {}): Promise<KeysetRecord> {
    return this.keygen.createKeyset(scheme, options);
  }

  // --- ECDSA auxiliary data and the prime pool -------------------------------------------------

  /** Generates the group's ECDSA auxiliary data once (again after a suspected compromise). */
  prepareAuxData(options: { timeoutMs?: number; idempotencyKey?: string } = {}): Promise<AuxGroupRecord> {
    return this.keygen.prepareAux(options);
  }

  auxGroups(): AuxGroupRecord[] {
    return this.auxGroupStore.list();
  }

  /** Sessions running at this node, with the engine's progress. */
  runningSessions(): ReturnType<Participations['running']> {
    return this.participations.running();
  }

  /** Cancels a session running at this node, through the coordinator (the others are told) or by files; false if none. */
  cancelSession(sessionId: string): boolean {
    this.o.vault.keyRing();
    return this.participations.cancel(sessionId) || this.airgap.cancel(sessionId);
  }

  /** Ends this node's running sessions that `matches` as failed with `reason` (job cancelled, vault locking); the peers are told. */
  abortSessions(matches: (session: SessionInfo) => boolean, code: string, reason: string): string[] {
    return this.participations.abortMatching(matches, code, reason);
  }

  primePoolStatus(): PrimePoolStatus {
    return this.primePool.status();
  }

  /** Fills the prime pool to its target in the background, while this node is idle. */
  fillPrimePool(): Promise<number> {
    return this.primePool.fill();
  }

  // --- air gap --------------------------------------------------------------------------------

  /**
   * Starts a signing session with one partner over the air gap: writes the signed session request
   * and this node's first round into `outDir`. What is signed is a transaction under a permit, or
   * a key check built here.
   */
  airgapRequest(keysetId: string, what: { permit: unknown; message: Buffer } | { purpose: KeyCheckPurpose }, partner: string, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapHandle> {
    return this.airgap.request(keysetId, what, partner, outDir, options);
  }

  /** Reads every complete bundle in `inDir`: joins requests addressed to this node, feeds rounds. */
  airgapImport(inDir: string, outDir: string = inDir, options: AirgapImportOptions = {}): Promise<AirgapImportReport> {
    return this.airgap.import(inDir, outDir, options);
  }

  /** Session requests on the medium waiting for this node's operator (read and checked, not joined). */
  airgapPending(inDir: string): Promise<AirgapRequestFacts[]> {
    return this.airgap.pending(inDir);
  }

  /** The operator refuses one reviewed session request with a reason: a signed refusal goes to `outDir`; it stays refused. */
  airgapRefuse(inDir: string, sessionId: string, reason: string, outDir: string = inDir): Promise<void> {
    return this.airgap.refuse(inDir, sessionId, reason, outDir);
  }

  airgapDeliver(sessionId: string, bundle: Bundle): boolean {
    return this.airgap.deliver(sessionId, bundle);
  }

  airgapSessions(): AirgapHandle[] {
    return this.airgap.handles();
  }

  /** Where each air-gap session running here stands: round written, whose bundle it waits for. */
  airgapStatus(): AirgapGroupStatus[] {
    return this.airgap.status();
  }
}
