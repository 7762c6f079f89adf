/** Channels of the emergency exit: check two backups, ask the guardians, export the key as a keystore. */
import { z } from 'zod';
import { noArguments, passphrase } from './common';
import type { ApprovalRequestView } from './guardians';
import { guardianUnlocks } from './backup';
import { guardedRequester, guardedTtlMinutes } from './permits';

export const EXIT_ERROR_CODES = ['EXIT_BACKUPS_REQUIRED', 'EXIT_SAME_NODE', 'EXIT_PASSPHRASE_MISMATCH', 'EXIT_PASSPHRASE_REFUSED', 'EXIT_RATE_LIMITED', 'EXIT_WRITE_FAILED'] as const;

export const EXIT_EVENT_TYPES = ['KEYSET_EXPORTED', 'KEYSET_EXPORT_FAILED'] as const;

export type ExitOutputFormat = 'ethereum-keystore' | 'solana-keystore';

/** What the screen shows before the guardians are asked: no secret was touched. */
export interface ExitPrecheck {
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  address: string;
  backups: { file: string; nodeId: string; partyIndex: number; epoch: string; createdAt: string }[];
  output: ExitOutputFormat;
  /** The plain warning shown before the export. */
  warning: string;
  /** Exports still allowed in the current hour (3 per hour). */
  attemptsLeft: number;
}

export interface ExitOutcome {
  keysetId: string;
  address: string;
  scheme: 'ecdsa' | 'eddsa';
  filePath: string;
  format: ExitOutputFormat;
  exportedAt: string;
  /** The plain warning shown after the export. */
  warning: string;
}

export interface ExitOverview {
  exports: { exportId: string; keysetId: string; address: string; fileName: string; exportedAt: string }[];
  attemptsLeft: number;
  warning: string;
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a keyset id: a-z, 0-9, -');
const fullPath = z.string().min(1, 'Choose a path.').max(4096, 'The path is too long.').refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be a full path');
const twoFiles = z.array(fullPath).length(2, 'Choose two backups, of two different nodes.');
const reason = z.string().trim().min(1, 'Say why.').max(300);

export const exitChannels = {
  'exit.overview': { request: noArguments, activity: true },
  'exit.check': { request: z.strictObject({ keysetId, files: twoFiles }), activity: true },
  'exit.request': { request: z.strictObject({ keysetId, files: twoFiles, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  /** Each backup is opened by two guardians; the passphrase protects the written keystore. */
  'exit.export': {
    request: z.strictObject({
      keysetId,
      backups: z.array(z.strictObject({ file: fullPath, guardians: guardianUnlocks })).length(2, 'Two backups, of two different nodes.'),
      passphrase,
      confirmation: passphrase,
      folder: fullPath,
      requestId: z.string().uuid(),
    }),
    activity: true,
  },
} as const;

export interface ExitResponses {
  'exit.overview': ExitOverview;
  'exit.check': ExitPrecheck;
  'exit.request': ApprovalRequestView;
  'exit.export': ExitOutcome;
}
