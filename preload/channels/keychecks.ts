/**
 * Channels of key checks (share health): each share this node holds signs a key-check message
 * with the cluster, each guardian key signs a fresh challenge, each backup passes the verify-only
 * check, on a schedule (every 90 days by default). The overview lists every subject with its last
 * check, next due date and whether it is overdue.
 */
import { z } from 'zod';
import { noArguments, passphrase } from './common';

export const KEY_CHECK_ERROR_CODES = [
  /** The share, backup or guardian named is not (or no longer) on this console. */
  'KEY_CHECK_SUBJECT_NOT_FOUND',
  'GUARDIAN_CHALLENGE_NOT_FOUND',
  'GUARDIAN_CHALLENGE_EXPIRED',
  'GUARDIAN_CHALLENGE_USED',
  /** The answer is not a signature of this challenge by the guardian's registered key. */
  'GUARDIAN_CHALLENGE_BAD_SIGNATURE',
] as const;

export const KEY_CHECK_EVENT_TYPES = ['KEY_CHECK_PASSED', 'KEY_CHECK_FAILED', 'GUARDIAN_CHALLENGE_ISSUED', 'GUARDIAN_CHALLENGE_REFUSED'] as const;

export type KeyCheckSubjectKind = 'share' | 'guardian' | 'backup';

/** One thing that must prove itself on schedule, with its state. */
export interface KeyCheckSubjectView {
  kind: KeyCheckSubjectKind;
  /** Keyset id, guardian id or backup id. */
  id: string;
  /** In words: "Solana keyset 7xK… (share of this node)", "Guardian Lena (Ledger)". */
  label: string;
  lastCheckedAt: string | null;
  lastOutcome: 'passed' | 'failed' | null;
  /** Why the last check passed or failed, in a sentence. */
  lastDetail: string | null;
  nextDueAt: string;
  overdue: boolean;
  /** Days late (overdue) or left (not yet due), rounded down; for the screen's words. */
  days: number;
}

export interface KeyCheckOverview {
  subjects: KeyCheckSubjectView[];
  intervalDays: number;
  overdueCount: number;
  now: string;
}

export interface KeyCheckResultView {
  subject: KeyCheckSubjectView;
  outcome: 'passed' | 'failed';
  detail: string;
}

/** What a guardian's key signs (EIP-712, the console's approval domain), and until when. */
export interface GuardianChallengeView {
  challengeId: string;
  guardianId: string;
  guardianName: string;
  guardianAddress: string;
  expiresAt: string;
  /** eth_signTypedData_v4 input, for a guardian who signs on their own machine. */
  typedData: { domain: Record<string, unknown>; types: Record<string, Array<{ name: string; type: string }>>; primaryType: 'GuardianKeyCheck'; message: Record<string, unknown> };
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/);
const id = z.string().regex(/^[0-9a-f-]{8,64}$/, 'must be an id issued by this console');
const keyFile = z.string().min(50, 'The key file is empty or truncated.').max(16_384, 'The key file is larger than a keystore file can be.');
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature in hex (0x…)');

export const keyCheckChannels = {
  'keyChecks.overview': { request: noArguments, activity: false },
  /** This node's share of the keyset signs a key-check message with the cluster. */
  'keyChecks.checkShare': { request: z.strictObject({ keysetId }), activity: true },
  /** The backup file passes the verify-only check (no secret is opened). */
  'keyChecks.checkBackup': { request: z.strictObject({ backupId: id }), activity: true },
  /** A fresh challenge for one guardian key (single use, 15 minutes). */
  'keyChecks.guardianChallenge': { request: z.strictObject({ guardianId: id }), activity: true },
  /** The guardian signs the challenge here: on the Ledger, or with the key file for this one signature. */
  'keyChecks.guardianSign': {
    request: z.strictObject({
      challengeId: id,
      signer: z.discriminatedUnion('method', [z.strictObject({ method: z.literal('ledger') }), z.strictObject({ method: z.literal('software'), keyFile, passphrase })]),
    }),
    activity: true,
  },
  /** The signature a guardian made on their own machine over the challenge's typed data. */
  'keyChecks.guardianAnswer': { request: z.strictObject({ challengeId: id, signature }), activity: true },
} as const;

export interface KeyCheckResponses {
  'keyChecks.overview': KeyCheckOverview;
  'keyChecks.checkShare': KeyCheckResultView;
  'keyChecks.checkBackup': KeyCheckResultView;
  'keyChecks.guardianChallenge': GuardianChallengeView;
  'keyChecks.guardianSign': KeyCheckResultView;
  'keyChecks.guardianAnswer': KeyCheckResultView;
}
