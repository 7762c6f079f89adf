// Declarations for native/vaultkeeper_mpc.node (built by `npm run build:native`).
// Every Buffer the addon returns is a copy owned by V8 (never an external buffer).

export type MpcProtocol =
  | 'ecdsa-keygen'
  | 'ecdsa-sign'
  | 'ecdsa-refresh'
  | 'ecdsa-presign'
  /** Auxiliary data (Paillier keys, ring-Pedersen parameters, proofs) for a group of signers, once. */
  | 'ecdsa-aux'
  /** Distributed key generation only; with `aux` the result is a full share, else an incomplete one. */
  | 'ecdsa-dkg'
  /** Share refresh (same key) keeping this party's aux data, or swapping in `aux`. */
  | 'ecdsa-refresh-shares'
  | 'eddsa-keygen'
  | 'eddsa-sign'
  | 'eddsa-refresh'
  /**
   * A lost party's share rebuilt by at least threshold helpers (FROST repairable threshold scheme):
   * same group key, same index. Helpers pass `share` and `repairFor`; the repaired party passes
   * `repairFor` (its own index), `expectedPublicKey` and `expectedPublicShare`, and gets its full share.
   */
  | 'eddsa-repair';

export type MpcErrorCode =
  | 'INVALID_ARGUMENT'
  | 'MALFORMED_MESSAGE'
  | 'TAMPERED_MESSAGE'
  | 'WRONG_SESSION'
  | 'WRONG_ROUND'
  | 'WRONG_SENDER'
  | 'WRONG_RECIPIENT'
  | 'REPLAYED_MESSAGE'
  | 'PROTOCOL_ABORT'
  | 'SHARE_MISMATCH'
  | 'UNSUPPORTED_SHARE'
  | 'CANCELLED'
  | 'SESSION_FINISHED'
  | 'INTERNAL'
  /** The presignature already issued a partial signature. */
  | 'PRESIGNATURE_USED'
  /** Presignature, partial or share of another presignature, keyset, key epoch, party or quorum. */
  | 'PRESIGNATURE_MISMATCH'
  /** A presignature blob or its public data is corrupted or in an unknown format. */
  | 'MALFORMED_PRESIGNATURE'
  /** A partial signature fails the check against the presignature's public data (party named). */
  | 'BAD_PARTIAL';

export interface SessionOptions {
  protocol: MpcProtocol;
  /** Unique per protocol run, 16..256 bytes; bound into every message. */
  sessionId: Buffer;
  partyIndex: number;
  /** Keygen/refresh: 0..n-1 in order. Signing and presigning: the quorum's keygen indexes, ascending. */
  parties: number[];
  threshold: number;
  /** Full key share blob (sign, refresh, presign). */
  share?: Buffer;
  /** 32-byte digest for ecdsa-sign; the message itself for eddsa-sign; none for ecdsa-presign. */
  message?: Buffer;
  /** Output of generatePaillierPrimes() (ecdsa-keygen, ecdsa-refresh, ecdsa-aux); generated in-session if absent. */
  primes?: Buffer;
  /** This party's stored aux data (ecdsa-dkg: completes the share; ecdsa-refresh-shares: replaces the share's). */
  aux?: Buffer;
  /** eddsa-repair: the party index whose lost share is rebuilt (the others are helpers). */
  repairFor?: number;
  /** eddsa-repair, repaired party: the 32-byte group public key its share must belong to (else SHARE_MISMATCH). */
  expectedPublicKey?: Buffer;
  /** eddsa-repair, repaired party: the public (verifying) share of its index the repaired share must match. */
  expectedPublicShare?: Buffer;
}

export interface MpcErrorInfo {
  code: MpcErrorCode;
  /** Index of the party whose message caused the error, when known. */
  party?: number;
  message: string;
}

export interface OutgoingMessage {
  /** Recipient party index; undefined/null for a broadcast to every other party. */
  to?: number | null;
  bytes: Buffer;
}

export interface SessionProgress {
  step: number;
  total: number;
  label: string;
}

export interface SessionResult {
  /** Full key share blob (keygen, refresh). Secret: store encrypted only. */
  share?: Buffer;
  /** Compressed SEC1 (33 bytes) for ECDSA, 32 bytes for Ed25519. */
  publicKey?: Buffer;
  publicShare?: Buffer;
  /** EIP-55 Ethereum address or Solana base58 address. */
  address?: string;
  /** ECDSA: r||s (64 bytes, low-s). EdDSA: R||S (64 bytes). */
  signature?: Buffer;
  /** ECDSA recovery id (0 or 1); v = 27 + recoveryId. */
  recoveryId?: number;
  /**
   * ecdsa-presign: this party's presignature. Secret and single use: issuing two partial
   * signatures from it (for different messages) reveals the key. Store encrypted; delete it
   * when it is used.
   */
  presignature?: Buffer;
  /** ecdsa-presign: public data for combinePartialSignatures (the same at every party). */
  presignaturePublic?: Buffer;
  /** ecdsa-presign: 32-byte id, the same at every party of the quorum. */
  presignatureId?: Buffer;
  /** ecdsa-presign: the quorum (keygen indexes) the presignature is bound to. */
  parties?: number[];
  /** ecdsa-aux: this party's aux data. Secret (holds its Paillier primes): store encrypted only. */
  aux?: Buffer;
  /** ecdsa-aux: 32-byte hash of the group's public aux data, the same at every party of the group. */
  auxId?: Buffer;
}

export interface SessionSnapshot {
  phase: 'running' | 'awaiting-messages' | 'done' | 'failed';
  outgoing: OutgoingMessage[];
  progress: SessionProgress;
  error?: MpcErrorInfo | null;
  /** Present once, in the first snapshot after the session is done. */
  result?: SessionResult | null;
  /** Time this party's engine spent computing so far. */
  computeMs: number;
  /** Bytes this party sent (a broadcast counts once per recipient). */
  bytesSent: number;
  messagesSent: number;
}

export declare class MpcSession {
  private constructor();
  /** null when accepted; otherwise the typed error that ended the session. */
  feed(from: number, message: Buffer): MpcErrorInfo | null;
  /** Resolves once queued messages are used (or the session ended); drains outgoing messages. */
  next(): Promise<SessionSnapshot>;
  /** Current state without waiting; drains outgoing messages too. */
  poll(): SessionSnapshot;
  cancel(): void;
}

export interface ShareInfo {
  engine: 'cggmp24-secp256k1' | 'frost-ed25519';
  partyIndex: number;
  threshold: number;
  parties: number;
  publicKey: Buffer;
  publicShare: Buffer;
  address: string;
}

export interface DetachedShare {
  publicPart: Buffer;
  privatePart: Buffer;
}

export interface PresignatureInfo {
  kind: 'presignature' | 'public-data';
  id: Buffer;
  /** The party holding the presignature (absent for public data). */
  partyIndex?: number | null;
  parties: number[];
  /** Keyset public key, compressed SEC1 (33 bytes). */
  publicKey: Buffer;
  /** EIP-55 Ethereum address of the keyset. */
  address: string;
}

export interface CombinedSignature {
  /** r || s (64 bytes, low-s). */
  signature: Buffer;
  /** 0 or 1: yParity of a typed transaction; v = 27 + recoveryId for a legacy one. */
  recoveryId: number;
  /** keccak256(preimage): the digest that was signed. */
  digest: Buffer;
  publicKey: Buffer;
  address: string;
}

export declare function createSession(options: SessionOptions): MpcSession;
/** Public facts about a presignature or its public data (nothing secret). */
export declare function presignatureInfo(blob: Buffer): PresignatureInfo;
/**
 * Online step of presigned ECDSA, local and non-interactive: this party's partial signature over
 * keccak256(preimage). The preimage is the message itself (for Ethereum, the unsigned transaction's
 * signing payload), never a digest. The presignature is consumed; the addon refuses it a second
 * time in this process (PRESIGNATURE_USED). With `share`, the presignature must belong to that
 * share's party, keyset and key epoch (PRESIGNATURE_MISMATCH otherwise).
 */
export declare function issuePartialSignature(presignature: Buffer, share: Buffer | null | undefined, preimage: Buffer): Buffer;
/** One partial per quorum party → a verified ECDSA signature over keccak256(preimage). */
export declare function combinePartialSignatures(partials: Buffer[], preimage: Buffer, publicData: Buffer): CombinedSignature;
/**
 * The four safe primes one party needs for ECDSA keygen or refresh (secret, single use); seconds
 * to a minute. The signal cancels it only while it is still queued; to stop a search part-way,
 * run the keygen/refresh session without primes and cancel that session.
 */
export declare function generatePaillierPrimes(signal?: AbortSignal | null): Promise<Buffer>;
export declare function shareInfo(share: Buffer): ShareInfo;
export declare function detachShare(share: Buffer): DetachedShare;
export declare function attachShare(publicPart: Buffer, privatePart: Buffer): Buffer;
export interface AuxInfo {
  partyIndex: number;
  parties: number;
  /** Hash of the group's public aux data: equal at every party that holds the same group's aux data. */
  auxId: Buffer;
}

/** Full share from an incomplete share (ecdsa-dkg without aux) and this party's aux data (SHARE_MISMATCH if they do not fit). */
export declare function completeEcdsaShare(incomplete: Buffer, auxData: Buffer): Buffer;
/** The same key share with other aux data of the same party and group size. */
export declare function replaceEcdsaAux(share: Buffer, auxData: Buffer): Buffer;
/** Public facts about an aux blob, or about the aux data inside a full ECDSA share. */
export declare function ecdsaAuxInfo(blob: Buffer): AuxInfo;
/** Signing precomputation (multi-exponentiation tables): a larger full share for memory only. */
export declare function precomputeEcdsaShare(share: Buffer): Buffer;
export interface ReconstructedKey {
  engine: 'cggmp24-secp256k1' | 'frost-ed25519';
  /**
   * SECRET. secp256k1: the 32-byte big-endian private key (an ordinary Ethereum key). Ed25519: the
   * 32-byte little-endian secret scalar, not a seed (a key made by DKG has no seed). Wipe after use.
   */
  secretKey: Buffer;
  /** Group public key: compressed SEC1 (33 bytes) or Ed25519 (32 bytes). */
  publicKey: Buffer;
  address: string;
}
/**
 * Emergency exit: rebuilds a keyset's full secret key from full shares of at least its threshold
 * of different parties (frost-core `keys::reconstruct`; ECDSA shares mapped onto frost-secp256k1
 * at the same evaluation points). SHARE_MISMATCH unless the rebuilt key's public key is the group
 * key, the shares are of different parties and of the same key.
 */
export declare function reconstructSecretKey(shares: Buffer[]): ReconstructedKey;
/** Every party's current public share, by party index, from a full share (same encoding as ShareInfo.publicShare). */
export declare function groupPublicShares(share: Buffer): Buffer[];
/** Ed25519 signature (64 bytes) with an exported secret scalar; SHARE_MISMATCH if its public key is not `publicKey`. */
export declare function signWithEd25519Scalar(secretScalar: Buffer, publicKey: Buffer, message: Buffer): Buffer;
export declare function engineInfo(): string[];
