/**
 * The one contract between the renderer and the main process.
 *
 * Every operation the renderer may ask for is a named channel here, with the schema main
 * validates its request against and the type of its answer. The preload bridges (Electron and
 * headless host) build the renderer's API from this list; main's router refuses anything else.
 * Runtime: shared (bundled into main, the preload script and, as types only, the renderer).
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Errors as values

export const ERROR_CODES = [
  'UNKNOWN_CHANNEL',
  'FORBIDDEN_SENDER',
  'PAYLOAD_TOO_LARGE',
  'VALIDATION_FAILED',
  'VAULT_ALREADY_EXISTS',
  'VAULT_NOT_CREATED',
  'VAULT_LOCKED',
  'VAULT_UNLOCKED',
  'WEAK_PASSPHRASE',
  'PASSPHRASE_MISMATCH',
  'WRONG_PASSPHRASE',
  'UNLOCK_THROTTLED',
  'VAULT_CORRUPT',
  'AUDIT_UNAVAILABLE',
  'EXPORT_FAILED',
  'BRIDGE_UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  code: ErrorCode;
  /** A sentence an operator can act on. Never contains secret material. */
  message: string;
  /** Machine-readable facts behind the message (field paths, retry times...). */
  details?: Record<string, string | number | boolean | null>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

// ---------------------------------------------------------------------------------------------
// Shared shapes

/** Passphrases are bounded so a pasted file cannot stall the KDF. */
const passphrase = z.string().min(1, 'Enter the passphrase.').max(1024, 'The passphrase is longer than 1024 characters.');

export type VaultState = 'uninitialized' | 'locked' | 'unlocked';

export interface VaultStatus {
  state: VaultState;
  /** Node identity of this console (hex of a hash of its Ed25519 public key), once created. */
  nodeId: string | null;
  /** Human-comparable fingerprint of the node identity. */
  nodeFingerprint: string | null;
  failedAttempts: number;
  /** Epoch ms until which unlock attempts are refused, if throttled. */
  unlockBlockedUntil: number | null;
  idleTimeoutSeconds: number;
  dataDirectory: string;
}

export const AUDIT_EVENT_TYPES = [
  'VAULT_CREATED',
  'VAULT_UNLOCKED',
  'VAULT_UNLOCK_FAILED',
  'VAULT_LOCKED',
  'AUDIT_EXPORTED',
  'AUDIT_VERIFIED',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEntry {
  seq: number;
  at: string;
  type: string;
  actor: string;
  subject: string;
  details: Record<string, unknown>;
  hash: string;
}

export type ChainVerification =
  | { intact: true; rows: number; headHash: string; checkedAt: string }
  | { intact: false; rows: number; firstBrokenSeq: number; reason: string; checkedAt: string };

export interface AuditPage {
  entries: AuditEntry[];
  total: number;
}

export interface AuditExport {
  path: string;
  rows: number;
  headHash: string;
}

// ---------------------------------------------------------------------------------------------
// Channels: request schema (validated in main) and response type

export const channels = {
  'vault.status': {
    request: z.strictObject({}),
    /** Status polling is not operator activity, so it does not postpone the idle lock. */
    activity: false,
  },
  'vault.create': {
    request: z.strictObject({ passphrase, confirmation: passphrase }),
    activity: true,
  },
  'vault.unlock': {
    request: z.strictObject({ passphrase }),
    activity: true,
  },
  'vault.lock': {
    request: z.strictObject({}),
    activity: true,
  },
  'vault.heartbeat': {
    request: z.strictObject({}),
    activity: true,
  },
  'audit.list': {
    request: z.strictObject({
      type: z.enum(AUDIT_EVENT_TYPES).optional(),
      text: z.string().max(200).optional(),
      offset: z.number().int().min(0).max(1_000_000_000).default(0),
      limit: z.number().int().min(1).max(500).default(100),
    }),
    activity: true,
  },
  'audit.verify': {
    request: z.strictObject({}),
    activity: true,
  },
  'audit.export': {
    request: z.strictObject({}),
    activity: true,
  },
} as const;

export interface Responses {
  'vault.status': VaultStatus;
  'vault.create': VaultStatus;
  'vault.unlock': VaultStatus;
  'vault.lock': VaultStatus;
  'vault.heartbeat': VaultStatus;
  'audit.list': AuditPage;
  'audit.verify': ChainVerification;
  'audit.export': AuditExport;
}

export type Channel = keyof typeof channels;
export const CHANNEL_NAMES = Object.keys(channels) as Channel[];

export type RequestOf<C extends Channel> = z.input<(typeof channels)[C]['request']>;
export type ParsedRequestOf<C extends Channel> = z.output<(typeof channels)[C]['request']>;
export type ResponseOf<C extends Channel> = Responses[C];

/** Largest serialized request main accepts on any channel. */
export const MAX_REQUEST_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// The API object the renderer sees: window.vaultkeeper.<namespace>.<method>(request)

type NamespaceOf<C> = C extends `${infer N}.${string}` ? N : never;
type Namespaces = NamespaceOf<Channel>;

export type VaultkeeperApi = {
  [N in Namespaces]: {
    [C in Channel as C extends `${N}.${infer M}` ? M : never]: (
      request: RequestOf<C>,
    ) => Promise<Result<ResponseOf<C>>>;
  };
};

/** How a bridge delivers one request; it must resolve to a Result, never throw. */
export type SendRequest = (channel: Channel, request: unknown) => Promise<Result<unknown>>;

/**
 * Builds the named-method API over a transport. Only the channels above get a method, so the
 * renderer has no way to name an arbitrary channel.
 */
export function buildApi(send: SendRequest): VaultkeeperApi {
  const api: Record<string, Record<string, (request: unknown) => Promise<Result<unknown>>>> = {};
  for (const channel of CHANNEL_NAMES) {
    const [namespace, method] = channel.split('.') as [string, string];
    const group = (api[namespace] ??= {});
    group[method] = (request: unknown) => send(channel, request ?? {});
  }
  for (const group of Object.values(api)) Object.freeze(group);
  return Object.freeze(api) as unknown as VaultkeeperApi;
}

/** The global name under which both bridges expose the API. */
export const API_GLOBAL = 'vaultkeeper';
