/**
 * Channels of long operations that main owns: the renderer starts one (here, or through its
 * domain's channel: refresh.start, repair.start, backup.create, backup.restore, permits.sign,
 * drills.start), reads its progress by polling `jobs.list`, and may cancel it. Jobs live in main,
 * so a screen left and re-opened, or a reloaded page, finds them where they are.
 */
import { z } from 'zod';
import { noArguments } from './common';

export const JOB_ERROR_CODES = [
  /** A job of the same group (e.g. another key generation) is still running. */
  'JOB_CONFLICT',
  'JOB_NOT_FOUND',
  /** The job has already ended; there is nothing to cancel. */
  'JOB_FINISHED',
  /** The job is at a step that cannot be stopped safely (a restore writing the share). */
  'JOB_NOT_CANCELLABLE',
  /** The console stopped while the job ran; it is listed as failed after the restart. */
  'JOB_INTERRUPTED',
  /** The job was cancelled (or the vault locked) before it wrote anything. */
  'JOB_CANCELLED',
] as const;

export const JOB_EVENT_TYPES = ['JOB_CANCELLED', 'JOB_INTERRUPTED'] as const;

export const JOB_KINDS = ['keygen', 'aux', 'presign', 'refresh', 'drill', 'repair', 'bulk-sign', 'backup', 'restore'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The group of jobs that change or copy a keyset's shares (refresh, repair, backup, restore): one at a time per keyset. */
export const keysetJobGroup = (keysetId: string) => `keyset:${keysetId}`;

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobView {
  id: string;
  kind: JobKind;
  /** What runs, in words: "ECDSA key generation (Ethereum)". */
  label: string;
  /** Jobs of one group exclude each other: the renderer disables the buttons that would start one. */
  group: string;
  state: JobState;
  /** The step it is in, in words. */
  phase: string;
  /** 0–100 where the engine reports progress; null where it does not (then show elapsed time). */
  percent: number | null;
  startedAt: string;
  finishedAt: string | null;
  /** Main's clock when the view was built, so elapsed time is not the renderer's guess. */
  now: string;
  /** Why it failed or was cancelled, as a sentence with its code. */
  error: { code: string; message: string } | null;
  /** What it produced, in words, and the keyset it concerns. */
  result: { summary: string; keysetId: string | null } | null;
  /** While running: why it cannot be cancelled at this step (then Cancel is not offered); else null. */
  cancelBlocked: string | null;
}

export interface JobList {
  /** Running first, then the most recent ended ones (bounded). */
  jobs: JobView[];
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/);
const jobId = z.string().regex(/^[0-9a-f-]{36}$/, 'must be a job id issued by this console');

export const jobChannels = {
  'jobs.list': { request: noArguments, activity: false },
  'jobs.startKeygen': { request: z.strictObject({ scheme: z.enum(['ecdsa', 'eddsa']) }), activity: true },
  'jobs.startPresign': { request: z.strictObject({ keysetId }), activity: true },
  /** The group's ECDSA auxiliary data (once; again after a suspected compromise). */
  'jobs.startAux': { request: noArguments, activity: true },
  'jobs.cancel': { request: z.strictObject({ jobId }), activity: true },
} as const;

export interface JobResponses {
  'jobs.list': JobList;
  'jobs.startKeygen': JobView;
  'jobs.startPresign': JobView;
  'jobs.startAux': JobView;
  'jobs.cancel': JobView;
}
