// Owns this node's MPC sessions on the native addon (addon.ts loads it). Plain Node, no Electron:
// the same code serves the Electron main process, the headless signer node and tests.
import type * as Native from '../../native/index';
import { loadAddon, MpcError, rethrow, type NativeAddon } from './addon';

export { ADDON_OVERRIDE_ENV, DEFAULT_ADDON_PATH, declarePackagedBuild, isPackagedBuild, loadAddon, MpcError, NATIVE_DIR, resolveAddonPath } from './addon';
export { runLocal, type LocalRunOptions, type LocalRunReport } from './local-run';

export type {
  MpcProtocol,
  MpcErrorCode,
  SessionOptions,
  SessionSnapshot,
  SessionResult,
  OutgoingMessage,
  ShareInfo,
  DetachedShare,
  PresignatureInfo,
  CombinedSignature,
  AuxInfo,
} from '../../native/index';

export class MpcSessionHandle {
  readonly id: string;
  readonly protocol: Native.MpcProtocol;
  readonly partyIndex: number;
  readonly parties: readonly number[];
  private failure: MpcError | undefined;

  constructor(
    private readonly native: Native.MpcSession,
    options: Native.SessionOptions,
    private readonly onEnd: (id: string) => void,
  ) {
    this.id = options.sessionId.toString('hex');
    this.protocol = options.protocol;
    this.partyIndex = options.partyIndex;
    this.parties = [...options.parties];
  }

  /** Queues one incoming message. Throws the typed error if it was refused (the session then ends). */
  feed(from: number, bytes: Buffer): void {
    let info: Native.MpcErrorInfo | null;
    try {
      info = this.native.feed(from, bytes);
    } catch (err) {
      rethrow(err);
    }
    if (info) {
      this.failure = MpcError.fromInfo(info);
      this.onEnd(this.id);
      throw this.failure;
    }
  }

  /** Waits (off the JS thread) until the engine needs more messages or is finished. */
  async next(): Promise<Native.SessionSnapshot> {
    const snap = await this.native.next();
    if (snap.phase === 'done' || snap.phase === 'failed') this.onEnd(this.id);
    return snap;
  }

  poll(): Native.SessionSnapshot {
    return this.native.poll();
  }

  cancel(): void {
    this.native.cancel();
    this.onEnd(this.id);
  }

  get error(): MpcError | undefined {
    return this.failure;
  }
}

/** Owns this node's MPC sessions. A session id is accepted once per signer. */
export class MpcSigner {
  private readonly addon: NativeAddon;
  private readonly active = new Map<string, MpcSessionHandle>();
  private readonly used = new Set<string>();
  /** `<presignature id hex>:<party>` of every presignature this signer has issued a partial from. */
  private readonly consumedPresignatures = new Set<string>();

  constructor(options: { addonPath?: string } = {}) {
    this.addon = loadAddon(options.addonPath);
  }

  start(options: Native.SessionOptions): MpcSessionHandle {
    const id = options.sessionId.toString('hex');
    if (this.used.has(id)) throw new MpcError('INVALID_ARGUMENT', 'session id was already used');
    let native: Native.MpcSession;
    try {
      native = this.addon.createSession(options);
    } catch (err) {
      rethrow(err);
    }
    this.used.add(id);
    const handle = new MpcSessionHandle(native, options, (sid) => this.active.delete(sid));
    this.active.set(id, handle);
    return handle;
  }

  session(id: string): MpcSessionHandle | undefined {
    return this.active.get(id);
  }

  get activeSessions(): string[] {
    return [...this.active.keys()];
  }

  cancelAll(): void {
    for (const s of [...this.active.values()]) s.cancel();
  }

  /** Safe primes for one ECDSA keygen/refresh; the signal only cancels a request still queued. */
  generatePaillierPrimes(signal?: AbortSignal): Promise<Buffer> {
    return this.addon.generatePaillierPrimes(signal ?? null).catch(rethrow);
  }

  shareInfo(share: Buffer): Native.ShareInfo {
    try {
      return this.addon.shareInfo(share);
    } catch (err) {
      rethrow(err);
    }
  }

  detachShare(share: Buffer): Native.DetachedShare {
    try {
      return this.addon.detachShare(share);
    } catch (err) {
      rethrow(err);
    }
  }

  attachShare(publicPart: Buffer, privatePart: Buffer): Buffer {
    try {
      return this.addon.attachShare(publicPart, privatePart);
    } catch (err) {
      rethrow(err);
    }
  }

  /**
   * Emergency exit only: the keyset's full secret key from full shares of different parties,
   * refused unless its public key is the group key. The caller wipes `secretKey`.
   */
  reconstructSecretKey(shares: Buffer[]): Native.ReconstructedKey {
    try {
      return this.addon.reconstructSecretKey(shares);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Every party's current public share, by party index, from this node's full share. */
  groupPublicShares(share: Buffer): Buffer[] {
    try {
      return this.addon.groupPublicShares(share);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Ed25519 signature with an exported secret scalar (the Solana keypair file of an emergency exit). */
  signWithEd25519Scalar(secretScalar: Buffer, publicKey: Buffer, message: Buffer): Buffer {
    try {
      return this.addon.signWithEd25519Scalar(secretScalar, publicKey, message);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Full ECDSA share from an incomplete share (`ecdsa-dkg` without aux) and this party's aux data. */
  completeEcdsaShare(incomplete: Buffer, aux: Buffer): Buffer {
    try {
      return this.addon.completeEcdsaShare(incomplete, aux);
    } catch (err) {
      rethrow(err);
    }
  }

  /** The same ECDSA key share with other aux data of the same party and group size. */
  replaceEcdsaAux(share: Buffer, aux: Buffer): Buffer {
    try {
      return this.addon.replaceEcdsaAux(share, aux);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Party index, group size and aux id of an aux blob or of the aux data inside a full ECDSA share. */
  ecdsaAuxInfo(blob: Buffer): Native.AuxInfo {
    try {
      return this.addon.ecdsaAuxInfo(blob);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Signing precomputation (multi-exponentiation tables) on a full ECDSA share: for memory only (never sealed or backed up). */
  precomputeEcdsaShare(share: Buffer): Buffer {
    try {
      return this.addon.precomputeEcdsaShare(share);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Public facts about a presignature (from an `ecdsa-presign` session) or its public data. */
  presignatureInfo(blob: Buffer): Native.PresignatureInfo {
    try {
      return this.addon.presignatureInfo(blob);
    } catch (err) {
      rethrow(err);
    }
  }

  /** True once this signer has issued a partial signature from the presignature. */
  presignatureUsed(presignature: Buffer): boolean {
    const info = this.presignatureInfo(presignature);
    return this.consumedPresignatures.has(presignatureKey(info));
  }

  /**
   * Online step of presigned ECDSA: this party's partial signature over keccak256(preimage),
   * computed locally without messages. `preimage` is the message itself (for an Ethereum
   * transaction, its unsigned signing payload, e.g. `Transaction.unsignedSerialized`), never a
   * digest. `share`, when given, must be this party's share of the same keyset and key epoch.
   *
   * Single use: a presignature issues at most one partial signature. This signer and the addon
   * both refuse a second use (`PRESIGNATURE_USED`), but only for as long as the process lives.
   * Across restarts single use is the caller's job: delete the presignature from durable storage
   * (or mark it used there) before calling this, so a crash cannot leave it usable.
   */
  issuePartialSignature(presignature: Buffer, share: Buffer | undefined, preimage: Buffer): Buffer {
    const info = this.presignatureInfo(presignature);
    if (info.kind !== 'presignature') throw new MpcError('MALFORMED_PRESIGNATURE', 'expected a presignature, not its public data');
    const key = presignatureKey(info);
    if (this.consumedPresignatures.has(key)) {
      throw new MpcError('PRESIGNATURE_USED', 'presignature was already used', info.partyIndex ?? undefined);
    }
    let partial: Buffer;
    try {
      partial = this.addon.issuePartialSignature(presignature, share ?? null, preimage);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('VKMPC:PRESIGNATURE_USED:')) this.consumedPresignatures.add(key);
      rethrow(err);
    }
    this.consumedPresignatures.add(key);
    return partial;
  }

  /**
   * Combines one partial signature from each party of the presignature's quorum (any order) into
   * an Ethereum-compatible signature over keccak256(preimage), verified against the keyset's
   * public key before it is returned. A partial that fails the check → `BAD_PARTIAL` naming its
   * party; one of another presignature or quorum → `PRESIGNATURE_MISMATCH`.
   */
  combinePartialSignatures(partials: readonly Buffer[], preimage: Buffer, publicData: Buffer): Native.CombinedSignature {
    try {
      return this.addon.combinePartialSignatures([...partials], preimage, publicData);
    } catch (err) {
      rethrow(err);
    }
  }
}

function presignatureKey(info: Native.PresignatureInfo): string {
  return `${info.id.toString('hex')}:${info.partyIndex ?? ''}`;
}
