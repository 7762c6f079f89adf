/** Channels of keyset share refresh: guardian request, run (as a job), interrupted refresh, schedule. */
import { z } from 'zod';
import type { ApprovalRequestView } from './guardians';
import type { JobView } from './jobs';
import { noArguments } from './common';
import { guardedRequester, guardedTtlMinutes } from './permits';

export const REFRESH_ERROR_CODES = [
  'SHARE_EPOCH_MISMATCH',
  'REFRESH_APPROVAL_MISSING',
  'REFRESH_APPROVAL_INVALID',
  'REFRESH_APPROVAL_QUORUM',
  'REFRESH_APPROVAL_EXPIRED',
  'REFRESH_APPROVAL_REPLAYED',
  'REFRESH_NEEDS_ALL_NODES',
  'REFRESH_KEY_CHANGED',
  'REFRESH_INTERRUPTED',
  'REFRESH_NOT_INTERRUPTED',
  'REFRESH_UNRESOLVED',
  'REFRESH_INTERVAL_INVALID',
  'BACKUP_BEFORE_REFRESH',
] as const;

export const REFRESH_EVENT_TYPES = [
  'MPC_REFRESH_STARTED',
  'MPC_REFRESH_COMPLETED',
  'MPC_REFRESH_FAILED',
  'KEYSET_REFRESH_REQUESTED',
  'KEYSET_REFRESH_STARTED',
  'KEYSET_REFRESH_PENDING',
  'KEYSET_REFRESHED',
  'KEYSET_REFRESH_FAILED',
  'KEYSET_REFRESH_RESOLVED',
  'KEYSET_REFRESH_INTERVAL_SET',
] as const;

/** Seed 003: shares are rotated every 30 days, with a warning 7 days before. */
export const DEFAULT_REFRESH_INTERVAL_DAYS = 30;
export const REFRESH_WARNING_DAYS = 7;

export interface RefreshOutcome {
  keysetId: string;
  /** Unchanged by the refresh (checked at every node before it switched). */
  address: string;
  publicKey: string;
  fromEpoch: number;
  toEpoch: number;
  refreshedAt: string;
  newAux: boolean;
  presignaturesDiscarded: number;
  approvers: string[];
}

export interface InterruptedRefreshOutcome {
  keysetId: string;
  /** 'new': the sealed new share signed with the peers and is now the keyset's; 'old': the old one did, the new one was dropped. */
  kept: 'new' | 'old';
  epoch: number;
  proofSessionId: string;
  proofParties: string[];
}

/** ok; due-soon: within the warning window; overdue: past the due date. */
export type RefreshDueState = 'ok' | 'due-soon' | 'overdue';

export interface KeysetRefreshView {
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  address: string | null;
  shareEpoch: number;
  refreshedAt: string | null;
  intervalDays: number;
  /** True when the interval is the default (no setting for this keyset). */
  intervalIsDefault: boolean;
  dueAt: string;
  state: RefreshDueState;
  /** Whole days until due (negative: overdue by that many). */
  daysLeft: number;
  /** A refresh whose new share waits sealed here, unconfirmed: "Finish interrupted refresh". */
  interrupted: { toEpoch: number; sessionId: string; startedAt: string } | null;
  backups: { current: number; dead: number };
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a keyset id: a-z, 0-9, -');
const reason = z.string().trim().min(1, 'Say why.').max(300);
const requestId = z.string().uuid();

export const refreshChannels = {
  'refresh.list': { request: noArguments, activity: false },
  'refresh.requestApproval': { request: z.strictObject({ keysetId, newAux: z.boolean().default(false), reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  /** Starts the approved refresh as a job (progress and cancel through jobs.list / jobs.cancel). */
  'refresh.start': { request: z.strictObject({ keysetId, requestId, newAux: z.boolean().default(false) }), activity: true },
  'refresh.finishInterrupted': { request: z.strictObject({ keysetId }), activity: true },
  'refresh.setInterval': { request: z.strictObject({ keysetId, days: z.number().int().min(1, 'At least 1 day.').max(3650, 'At most 3650 days.').nullable() }), activity: true },
} as const;

export interface RefreshResponses {
  'refresh.list': KeysetRefreshView[];
  'refresh.requestApproval': ApprovalRequestView;
  'refresh.start': JobView;
  'refresh.finishInterrupted': InterruptedRefreshOutcome;
  'refresh.setInterval': KeysetRefreshView;
}
