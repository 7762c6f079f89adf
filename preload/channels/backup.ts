/** Channels of share backups: make, list, verify (public and full), guarded restore. */
import { z } from 'zod';
import { noArguments, passphrase } from './common';
import type { ApprovalRequestView } from './guardians';
import type { JobView } from './jobs';
import { guardedRequester, guardedTtlMinutes } from './permits';

export const BACKUP_ERROR_CODES = [
  'BACKUP_MALFORMED',
  'BACKUP_UNSUPPORTED_VERSION',
  'BACKUP_BAD_SIGNATURE',
  'BACKUP_WRONG_KEYSET',
  'BACKUP_WRONG_NODE',
  'BACKUP_KEYSET_EXISTS',
  'BACKUP_GUARDIANS_DIFFER',
  'BACKUP_GUARDIAN_UNLOCK',
  'BACKUP_DECRYPT_FAILED',
  'BACKUP_SHARE_MISMATCH',
  'BACKUP_DEAD',
  'BACKUP_RESTORE_PROOF_FAILED',
  'BACKUP_WRITE_FAILED',
  'BACKUP_NOT_FOUND',
  'BACKUP_PASSPHRASE_REFUSED',
] as const;

export const BACKUP_EVENT_TYPES = [
  'SHARE_BACKUP_CREATED',
  'SHARE_BACKUP_VERIFIED',
  'SHARE_BACKUP_VERIFY_FAILED',
  'SHARE_RESTORE_IDENTITY',
  'SHARE_RESTORED',
  'SHARE_RESTORE_FAILED',
] as const;

/**
 * current: made from the share this node holds now. dead: the keyset's share changed since (a
 * refresh), so the backup cannot restore it. keyset-missing: this node holds no share of the keyset.
 */
export type BackupStatus = 'current' | 'dead' | 'keyset-missing';

export interface BackupView {
  backupId: string;
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  address: string;
  /** Short id of the share the backup holds (hash of its public share): a refresh changes it. */
  epoch: string;
  createdAt: string;
  filePath: string;
  status: BackupStatus;
  /** The guardians (name and address) any two of whom can open it. */
  guardians: { name: string; address: string }[];
}

export interface BackupCheckView {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BackupVerification {
  backupId: string;
  keysetId: string;
  nodeId: string;
  epoch: string;
  address: string;
  /** 'public': no secret was touched. 'full': two guardians opened it, the share was derived and wiped. */
  depth: 'public' | 'full';
  ok: boolean;
  status: BackupStatus;
  checks: BackupCheckView[];
}

export interface RestoreOutcome {
  keysetId: string;
  address: string;
  epoch: string;
  /** The key-check signature the cluster made with the restored share. */
  proofSessionId: string;
  proofParties: string[];
  presignaturesDiscarded: number;
}

/** What a backup file says about itself once its signature checked out (no secret, no vault needed). */
export interface BackupInspection {
  backupId: string;
  createdAt: string;
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  address: string;
  nodeId: string;
  epoch: string;
  /** The guardians who hold a part, by the id the backup records. */
  guardians: { guardianId: string; name: string; address: string }[];
}

export interface BackupsOverview {
  backups: BackupView[];
  /** Keysets this node holds a share of, with whether a current backup exists. */
  keysets: { keysetId: string; scheme: 'ecdsa' | 'eddsa'; address: string | null; epoch: string; hasCurrentBackup: boolean }[];
  guardians: { id: string; name: string; address: string }[];
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a keyset id: a-z, 0-9, -');
const fullPath = z.string().min(1, 'Choose a path.').max(4096, 'The path is too long.').refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be a full path');
const guardianUnlock = z.strictObject({ guardianId: z.string().min(1).max(128), passphrase });
/** Exactly two guardians open a backup; the third stays a spare. */
export const guardianUnlocks = z.array(guardianUnlock).length(2, 'Two guardians open a backup, each with their own backup passphrase.');
const reason = z.string().trim().min(1, 'Say why.').max(300);
const requestId = z.string().uuid();

export const backupChannels = {
  'backup.overview': { request: noArguments, activity: true },
  /** Reads a backup file's public part and checks its signature; works before a vault exists. */
  'backup.inspect': { request: z.strictObject({ file: fullPath }), activity: true },
  /** On a machine with no vault yet: a new vault that takes the backed-up node identity (the share comes later, guarded). */
  'backup.createVaultFromBackup': { request: z.strictObject({ file: fullPath, guardians: guardianUnlocks, passphrase, confirmation: passphrase }), activity: true },
  /** Each of the three guardians types the backup passphrase that protects their part. */
  /** Writes the backup as a job (progress, and cancel until the file is written, through jobs.list / jobs.cancel). */
  'backup.create': {
    request: z.strictObject({ keysetId, folder: fullPath, guardianPassphrases: z.array(guardianUnlock).length(3, 'All three guardians set a backup passphrase.') }),
    activity: true,
  },
  'backup.verify': { request: z.strictObject({ file: fullPath }), activity: true },
  'backup.verifyFull': { request: z.strictObject({ file: fullPath, guardians: guardianUnlocks }), activity: true },
  'backup.requestRestore': { request: z.strictObject({ file: fullPath, keysetId, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  /** Restores as a job; it cannot be cancelled once the share is being written. */
  'backup.restore': { request: z.strictObject({ file: fullPath, keysetId, guardians: guardianUnlocks, requestId }), activity: true },
} as const;

export interface BackupResponses {
  'backup.overview': BackupsOverview;
  'backup.inspect': BackupInspection;
  'backup.createVaultFromBackup': { nodeId: string; keysetId: string };
  'backup.create': JobView;
  'backup.verify': BackupVerification;
  'backup.verifyFull': BackupVerification;
  'backup.requestRestore': ApprovalRequestView;
  'backup.restore': JobView;
}
