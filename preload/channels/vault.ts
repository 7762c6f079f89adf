/** Channels of the vault: create, unlock, lock, status. */
import { z } from 'zod';
import { noArguments, passphrase } from './common';

export const VAULT_ERROR_CODES = [
  'VAULT_ALREADY_EXISTS',
  'VAULT_NOT_CREATED',
  'VAULT_LOCKED',
  'WEAK_PASSPHRASE',
  'PASSPHRASE_MISMATCH',
  'WRONG_PASSPHRASE',
  'UNLOCK_THROTTLED',
  'VAULT_CORRUPT',
  'RECORD_NOT_EXPORTABLE',
] as const;

export const VAULT_EVENT_TYPES = ['VAULT_CREATED', 'VAULT_UNLOCKED', 'VAULT_UNLOCK_FAILED', 'VAULT_LOCKED'] as const;

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

export const vaultChannels = {
  /** Status polling is not operator activity, so it does not postpone the idle lock. */
  'vault.status': { request: noArguments, activity: false },
  'vault.create': { request: z.strictObject({ passphrase, confirmation: passphrase }), activity: true },
  'vault.unlock': { request: z.strictObject({ passphrase }), activity: true },
  'vault.lock': { request: noArguments, activity: true },
  /** Sent by the renderer on keyboard and pointer input only: the one request that postpones the idle lock. */
  'vault.heartbeat': { request: noArguments, activity: true },
} as const;

export interface VaultResponses {
  'vault.status': VaultStatus;
  'vault.create': VaultStatus;
  'vault.unlock': VaultStatus;
  'vault.lock': VaultStatus;
  'vault.heartbeat': VaultStatus;
}
