// Loads the native MPC signer addon and owns its sessions. Plain Node, no Electron:
// the same code serves the Electron main process, the headless signer node and tests.
import { lstatSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Native from '../../native/index';
import { fail } from '../errors';

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

type NativeAddon = typeof Native;

export const NATIVE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');
export const DEFAULT_ADDON_PATH = join(NATIVE_DIR, 'vaultkeeper_mpc.node');
export const ADDON_OVERRIDE_ENV = 'VAULTKEEPER_MPC_ADDON';

/** Defined as true by the release build of the Electron bundle (scripts/build-electron.mjs --release). */
declare const __VAULTKEEPER_PACKAGED__: boolean | undefined;
let packagedBuild = typeof __VAULTKEEPER_PACKAGED__ !== 'undefined' && __VAULTKEEPER_PACKAGED__ === true;

/**
 * The Electron shell reports `app.isPackaged` here before any service starts. It can only turn
 * the packaged rules on: nothing at run time can turn a release build back into a dev build.
 */
export function declarePackagedBuild(packaged: boolean): void {
  if (packaged) packagedBuild = true;
}

export function isPackagedBuild(): boolean {
  return packagedBuild;
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * Which addon file may be loaded. Loading a native library runs its code with the process's
 * rights (every share in an unlocked vault), so an environment variable must not pick one:
 * a packaged build loads only the bundled addon; a development checkout also accepts another
 * `.node` file inside this project's native/ folder (a rebuilt or debug addon), judged by its
 * real path so a symlink there cannot point outside.
 */
export function resolveAddonPath(requested: string | undefined, options: { packaged?: boolean } = {}): string {
  const packaged = options.packaged ?? packagedBuild;
  if (requested === undefined || requested === '') return DEFAULT_ADDON_PATH;
  if (packaged) {
    // Compared as given: inside an asar archive real paths are not what they seem.
    if (requested === DEFAULT_ADDON_PATH) return DEFAULT_ADDON_PATH;
    fail('ADDON_PATH_REFUSED', `This Vaultkeeper build loads only its bundled MPC addon; ${ADDON_OVERRIDE_ENV} (${requested}) is refused. Unset it and start Vaultkeeper again.`, { requested });
  }
  const real = realOrNull(requested);
  if (real !== null && real === realOrNull(DEFAULT_ADDON_PATH)) return DEFAULT_ADDON_PATH;
  const nativeDir = realOrNull(NATIVE_DIR);
  if (real === null || nativeDir === null || !real.startsWith(nativeDir + sep) || !real.endsWith('.node') || !lstatSync(real).isFile()) {
    fail('ADDON_PATH_REFUSED', `${ADDON_OVERRIDE_ENV} may name only a .node file inside this project's native/ folder (${NATIVE_DIR}); ${requested} is not one. Put the addon there or unset the variable.`, { requested });
  }
  return real;
}

export class MpcError extends Error {
  readonly code: Native.MpcErrorCode;
  /** Party whose message caused the error, when known. */
  readonly party: number | undefined;

  constructor(code: Native.MpcErrorCode, message: string, party?: number) {
    super(party === undefined ? `${code}: ${message}` : `${code}: ${message} (party ${party})`);
    this.name = 'MpcError';
    this.code = code;
    this.party = party;
  }

  static fromInfo(info: Native.MpcErrorInfo): MpcError {
    return new MpcError(info.code, info.message, info.party ?? undefined);
  }
}

/** Addon functions throw `VKMPC:<code>:<party>:<message>`; turn that into an MpcError. */
function rethrow(err: unknown): never {
  const text = err instanceof Error ? err.message : String(err);
  const match = /^VKMPC:([A-Z_]+):(\d*):(.*)$/s.exec(text);
  const [, code, party, detail] = match ?? [];
  if (code !== undefined && party !== undefined && detail !== undefined) {
    throw new MpcError(code as Native.MpcErrorCode, detail, party === '' ? undefined : Number(party));
  }
  throw new MpcError('INTERNAL', text);
}

let cachedAddon: { path: string; addon: NativeAddon } | undefined;

/** Loads the addon once per process, from a path resolveAddonPath allows. */
export function loadAddon(requested: string | undefined = process.env[ADDON_OVERRIDE_ENV]): NativeAddon {
  const path = resolveAddonPath(requested);
  if (cachedAddon) {
    if (cachedAddon.path !== path) fail('ADDON_PATH_REFUSED', `The MPC addon was already loaded from ${cachedAddon.path}; a second addon (${path}) is refused in the same process.`, { requested: path });
    return cachedAddon.addon;
  }
  const require = createRequire(import.meta.url);
  try {
    cachedAddon = { path, addon: require(path) as NativeAddon };
  } catch (err) {
    throw new MpcError('INTERNAL', `cannot load the MPC addon at ${path}; run \`npm run build:native\` (${(err as Error).message})`);
  }
  return cachedAddon.addon;
}

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

export interface LocalRunOptions {
  /** Lets tests alter or drop a message in flight; return null to drop it. */
  intercept?: (from: number, to: number, bytes: Buffer, round: number) => Buffer | null;
  /** Holds a message back for one routing round, to model a slow link (out-of-order arrival). */
  delay?: (from: number, to: number, round: number) => boolean;
}

export interface LocalRunReport {
  results: Map<number, Native.SessionResult>;
  computeMs: Map<number, number>;
  bytesSent: Map<number, number>;
}

/**
 * Runs sessions of several parties in this process, routing messages in memory.
 * Used by tests and the benchmark; a real node routes through the cluster transport.
 */
export async function runLocal(sessions: MpcSessionHandle[], options: LocalRunOptions = {}): Promise<LocalRunReport> {
  const byParty = new Map(sessions.map((s) => [s.partyIndex, s]));
  const results = new Map<number, Native.SessionResult>();
  const computeMs = new Map<number, number>();
  const bytesSent = new Map<number, number>();
  const finished = new Set<number>();
  let round = 0;
  let held: { from: number; to: number; bytes: Buffer }[] = [];
  const deliver = (from: number, to: number, bytes: Buffer) => {
    try {
      byParty.get(to)?.feed(from, bytes);
    } catch (err) {
      for (const s of sessions) s.cancel();
      throw err;
    }
  };
  while (finished.size < sessions.length) {
    round += 1;
    const late = held;
    held = [];
    const snaps = await Promise.all(sessions.map((s) => (finished.has(s.partyIndex) ? null : s.next())));
    let progressed = false;
    for (const [k, snap] of snaps.entries()) {
      const session = sessions[k];
      if (!snap || !session) continue;
      const party = session.partyIndex;
      computeMs.set(party, snap.computeMs);
      bytesSent.set(party, snap.bytesSent);
      if (snap.phase === 'failed') {
        for (const s of sessions) s.cancel();
        throw MpcError.fromInfo(snap.error ?? { code: 'INTERNAL', message: 'session failed' });
      }
      for (const out of snap.outgoing) {
        progressed = true;
        const targets = out.to === undefined || out.to === null ? [...byParty.keys()].filter((p) => p !== party) : [out.to];
        for (const to of targets) {
          const bytes = options.intercept ? options.intercept(party, to, out.bytes, round) : out.bytes;
          if (!bytes) continue;
          if (options.delay?.(party, to, round)) held.push({ from: party, to, bytes });
          else deliver(party, to, bytes);
        }
      }
      if (snap.phase === 'done') {
        finished.add(party);
        progressed = true;
        if (snap.result) results.set(party, snap.result);
      }
    }
    for (const m of late) {
      progressed = true;
      deliver(m.from, m.to, m.bytes);
    }
    if (!progressed && held.length === 0) {
      for (const s of sessions) s.cancel();
      throw new MpcError('PROTOCOL_ABORT', 'no party can make progress (a message is missing)');
    }
  }
  return { results, computeMs, bytesSent };
}
