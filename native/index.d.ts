// Declarations for native/vaultkeeper_mpc.node (built by `npm run build:native`).
// Every Buffer the addon returns is a copy owned by V8 (never an external buffer).

export type MpcProtocol =
  | 'ecdsa-keygen'
  | 'ecdsa-sign'
  | 'ecdsa-refresh'
  | 'eddsa-keygen'
  | 'eddsa-sign'
  | 'eddsa-refresh';

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
  | 'INTERNAL';

export interface SessionOptions {
  protocol: MpcProtocol;
  /** Unique per protocol run, 16..256 bytes; bound into every message. */
  sessionId: Buffer;
  partyIndex: number;
  /** Keygen/refresh: 0..n-1 in order. Signing: the quorum's keygen indexes, ascending. */
  parties: number[];
  threshold: number;
  /** Full key share blob (sign, refresh). */
  share?: Buffer;
  /** 32-byte digest for ecdsa-sign; the message itself for eddsa-sign. */
  message?: Buffer;
  /** Output of generatePaillierPrimes() (ecdsa-keygen, ecdsa-refresh); generated in-session if absent. */
  primes?: Buffer;
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

export declare function createSession(options: SessionOptions): MpcSession;
/**
 * The four safe primes one party needs for ECDSA keygen or refresh (secret, single use); seconds
 * to a minute. The signal cancels it only while it is still queued; to stop a search part-way,
 * run the keygen/refresh session without primes and cancel that session.
 */
export declare function generatePaillierPrimes(signal?: AbortSignal | null): Promise<Buffer>;
export declare function shareInfo(share: Buffer): ShareInfo;
export declare function detachShare(share: Buffer): DetachedShare;
export declare function attachShare(publicPart: Buffer, privatePart: Buffer): Buffer;
export declare function engineInfo(): string[];
