/**
 * Channels of recovery drills: the runbooks rehearsed as guided drills against the lab cluster or
 * a real keyset (never moving funds), run as jobs with progress and cancel; their reports; the
 * history with time to recover per runbook; and the schedule of drills and key checks.
 */
import { z } from 'zod';
import { noArguments, passphrase } from './common';
import type { JobView } from './jobs';

export const DRILL_ERROR_CODES = [
  /** This drill stops or quarantines nodes: it runs only on a lab keyset with the lab cluster running. */
  'DRILL_NEEDS_LAB',
  /** Something the drill needs is missing (a keyset, two guardians, a backup). */
  'DRILL_NOT_READY',
  'DRILL_NOT_FOUND',
  /** A step failed (the report says which and why). */
  'DRILL_STEP_FAILED',
] as const;

export const DRILL_EVENT_TYPES = ['DRILL_PASSED', 'DRILL_FAILED', 'DRILL_SETTINGS_CHANGED'] as const;

export const RUNBOOK_IDS = ['node-died', 'share-lost', 'node-compromised', 'guardian-unavailable', 'console-lost'] as const;
export type RunbookId = (typeof RUNBOOK_IDS)[number];

export interface RunbookView {
  id: RunbookId;
  title: string;
  /** What the drill rehearses and what it does, in two or three sentences. */
  summary: string;
  /** The steps in order, in words. */
  steps: string[];
  /** True: runs only on a lab keyset with the lab cluster running (it stops or quarantines a node). */
  needsLab: boolean;
  /** True: two guardians take part (their key files or Ledger). */
  needsGuardians: boolean;
  needsKeyset: boolean;
}

export interface DrillStepView {
  id: string;
  title: string;
  /** incident: the failure is staged; recovery and check count towards the time to recover. */
  phase: 'setup' | 'incident' | 'recovery' | 'check' | 'cleanup';
  outcome: 'passed' | 'failed' | 'skipped';
  startedAt: string;
  durationMs: number;
  detail: string;
}

export interface DrillReportView {
  drillId: string;
  runbook: RunbookId;
  runbookTitle: string;
  keysetId: string | null;
  lab: boolean;
  startedAt: string;
  finishedAt: string;
  outcome: 'passed' | 'failed';
  /** From the first recovery step to the end of the final check; null when it failed before recovering. */
  timeToRecoverMs: number | null;
  /** Who took part: the operator, the nodes that signed, the guardians that signed. */
  participants: string[];
  steps: DrillStepView[];
  failureReason: string | null;
}

export interface RunbookHistoryView {
  runbook: RunbookId;
  title: string;
  lastPassedAt: string | null;
  lastRunAt: string | null;
  nextDueAt: string | null;
  /** No passing drill within the drill interval (or never). */
  overdue: boolean;
}

export interface DrillHistoryView {
  runs: DrillReportView[];
  runbooks: RunbookHistoryView[];
  settings: DrillSettings;
  now: string;
}

export interface DrillSettings {
  keyCheckIntervalDays: number;
  drillIntervalDays: number;
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/);
const id = z.string().regex(/^[0-9a-f-]{8,64}$/, 'must be an id issued by this console');
const keyFile = z.string().min(50, 'The key file is empty or truncated.').max(16_384, 'The key file is larger than a keystore file can be.');
const guardianSigner = z.discriminatedUnion('method', [z.strictObject({ method: z.literal('ledger') }), z.strictObject({ method: z.literal('software'), keyFile, passphrase })]);
const days = z.number().int().min(1, 'At least 1 day.').max(730, 'At most 730 days (two years).');

export const drillChannels = {
  'drills.runbooks': { request: noArguments, activity: false },
  'drills.history': { request: noArguments, activity: false },
  'drills.report': { request: z.strictObject({ drillId: z.string().regex(/^[0-9a-f-]{36}$/) }), activity: false },
  /** Starts a drill as a job; its report is written when it ends (nothing when it is cancelled). */
  'drills.start': {
    request: z.strictObject({
      runbook: z.enum(RUNBOOK_IDS),
      keysetId: keysetId.optional(),
      /** guardian-unavailable: the guardian treated as unavailable, and the two who sign. */
      unavailableGuardianId: id.optional(),
      guardians: z.array(z.strictObject({ guardianId: id, signer: guardianSigner, backupPassphrase: passphrase.optional() })).max(3).optional(),
      /** share-lost: the backup file of this node's share of the keyset, and the vault passphrase (the operator requests the restore). */
      backupFile: z.string().min(1).max(4096).optional(),
      vaultPassphrase: passphrase.optional(),
    }),
    activity: true,
  },
  'drills.settings': { request: noArguments, activity: false },
  'drills.updateSettings': { request: z.strictObject({ keyCheckIntervalDays: days, drillIntervalDays: days }), activity: true },
} as const;

export interface DrillResponses {
  'drills.runbooks': RunbookView[];
  'drills.history': DrillHistoryView;
  'drills.report': DrillReportView;
  'drills.start': JobView;
  'drills.settings': DrillSettings;
  'drills.updateSettings': DrillSettings;
}
