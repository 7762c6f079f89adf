/** Channels of replacing a lost node's share of an EdDSA keyset (share repair by the other nodes). */
import { z } from 'zod';
import type { ApprovalRequestView } from './guardians';
import type { JobView } from './jobs';
import { noArguments } from './common';
import { guardedRequester, guardedTtlMinutes } from './permits';

export const REPAIR_ERROR_CODES = [
  'REPAIR_NOT_FOR_ECDSA',
  'REPAIR_NOT_REPLACEMENT',
  'REPAIR_WRONG_NODE',
  'REPAIR_KEYSET_EXISTS',
  'REPAIR_APPROVAL_INVALID',
  'REPAIR_APPROVAL_QUORUM',
  'REPAIR_APPROVAL_EXPIRED',
  'REPAIR_SHARE_MISMATCH',
] as const;

export const REPAIR_EVENT_TYPES = ['KEYSET_REPAIR_REQUESTED', 'KEYSET_REPAIR_STARTED', 'KEYSET_REPAIR_FAILED', 'KEYSET_SHARE_REPAIRED', 'KEYSET_SHARE_REPAIR_REFUSED'] as const;

/** A keyset one of whose share holders was replaced on this node by a new machine. */
export interface RepairCandidateView {
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  address: string | null;
  partyIndex: number;
  lostNode: { nodeId: string; name: string };
  newNode: { nodeId: string; name: string };
  /** Null when the other nodes can rebuild the share; otherwise why not and what to do instead. */
  refusal: string | null;
}

export interface RepairOutcome {
  keysetId: string;
  /** Unchanged: the new node's share belongs to the same group key. */
  address: string;
  publicKey: string;
  partyIndex: number;
  lostNode: string;
  newNode: string;
  sessionId: string;
  approvers: string[];
}

const keysetId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a keyset id: a-z, 0-9, -');
const nodeId = z.string().regex(/^[0-9a-f]{32}$/, 'a node id: 32 hex characters');
const reason = z.string().trim().min(1, 'Say why.').max(300);

export const repairChannels = {
  'repair.candidates': { request: noArguments, activity: false },
  'repair.requestApproval': { request: z.strictObject({ keysetId, newNodeId: nodeId, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  /** Starts the approved repair as a job (progress and cancel through jobs.list / jobs.cancel). */
  'repair.start': { request: z.strictObject({ keysetId, newNodeId: nodeId, requestId: z.string().uuid() }), activity: true },
} as const;

export interface RepairResponses {
  'repair.candidates': RepairCandidateView[];
  'repair.requestApproval': ApprovalRequestView;
  'repair.start': JobView;
}
