/** Channels of the permit queue: import, review, approve or reject, sign through the cluster, export. */
import { z } from 'zod';
import type { ApprovalRequestView } from './guardians';
import type { JobView } from './jobs';

export const QUEUE_STATES = ['pending', 'approved', 'signing', 'signed', 'exported', 'rejected', 'expired', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export const QUEUE_ERROR_CODES = [
  'QUEUE_PERMIT_REFUSED',
  'QUEUE_DUPLICATE',
  'QUEUE_WRONG_STATE',
  'QUEUE_KEYSET_UNKNOWN',
  'QUEUE_SIGNING_INTERRUPTED',
  'QUEUE_EXPORT_FAILED',
] as const;

export const QUEUE_EVENT_TYPES = [
  'PERMIT_QUEUE_IMPORTED',
  'PERMIT_QUEUE_REJECTED',
  'PERMIT_APPROVAL_WITHDRAWN',
  'PERMIT_QUEUE_EXPIRED',
  'PERMIT_QUEUE_SIGNING',
  'PERMIT_QUEUE_SIGNED',
  'PERMIT_QUEUE_FAILED',
  'PERMIT_QUEUE_EXPORTED',
] as const;

/** One of the checks a permit passes before this node co-signs it, in the authorizer's order. */
export type PermitCheckId = 'format' | 'issuer' | 'time' | 'keyset' | 'payload' | 'controls' | 'single-use' | 'kill-switch' | 'policy' | 'guardians' | 'approval';

export interface PermitCheckView {
  id: PermitCheckId;
  label: string;
  status: 'pass' | 'fail' | 'not-checked';
  /** What was found, in words ("expires in 42 s", "destination 0xab…cd is not on the allowlist"). */
  detail: string;
  code: string | null;
}

/** An amount of one asset, in its units ("1.5") with its symbol. */
export interface AssetAmountView {
  asset: string;
  symbol: string;
  amount: string;
}

export interface TransferView extends AssetAmountView {
  destination: string;
  /** How the keyset's allowlist knows the destination: "on the allowlist" or null when it is not. */
  allowlistLabel: string | null;
  /** The name the keyset's allowlist gives the destination ("Treasury cold wallet"), or null. */
  allowlistName: string | null;
}

/** The transaction in words, for a person who must not misread it. */
export interface TransactionReviewView {
  chain: string;
  from: string;
  transfers: TransferView[];
  feeCap: string | null;
  nonce: string | null;
  /** "none", "ERC-20 transfer of …", "contract call, 4-byte selector 0x…, N bytes", Solana instructions. */
  data: string;
  instructions: string[];
  warnings: string[];
}

export interface HeadroomView {
  symbol: string;
  dailyCap: string | null;
  usedBefore: string;
  usedAfter: string;
  leftAfter: string | null;
}

export type SigningPhase = 'waiting-for-peers' | 'signing' | 'done' | 'failed';

export interface SigningProgressView {
  phase: SigningPhase;
  detail: string;
  /** While this node's engine runs the session: the round in progress and how many there are. */
  round: number | null;
  rounds: number | null;
}

export interface QueueItemView {
  permitId: string;
  txRequestId: string;
  keysetId: string;
  chain: string;
  state: QueueState;
  reason: string | null;
  source: string;
  issuedAt: string;
  expiresAt: string;
  importedAt: string;
  approvedBy: string | null;
  summary: string;
  amounts: AssetAmountView[];
  destinations: string[];
  /** The amounts above the keyset's guardian threshold (empty: no guardian approval needed). */
  guardianReasons: string[];
  guardianApproved: boolean;
  progress: SigningProgressView | null;
  signedTxHash: string | null;
  exportFile: string | null;
}

export interface QueueOverviewView {
  items: QueueItemView[];
  counts: Record<QueueState, number>;
  /** Totals per asset of what is waiting (pending and approved). */
  totals: Array<AssetAmountView & { count: number }>;
}

export interface PermitReviewView {
  item: QueueItemView;
  transaction: TransactionReviewView;
  checks: PermitCheckView[];
  issuer: { name: string; fingerprint: string } | null;
  upstream: { kyt: string; policy: string; approvedBy: string[]; count: number; required: number; txRequestId: string; walletId: string };
  headroom: HeadroomView[];
}

export interface QueueRefusal {
  source: string;
  permitId: string | null;
  code: string;
  message: string;
}

export interface QueueImportReport {
  imported: number;
  importedIds: string[];
  /** Bundles refused whole (malformed, oversize, duplicate ids, unknown version). */
  refusedBundles: QueueRefusal[];
  /** Permits of good bundles that were refused, each with its reason. */
  refusedPermits: QueueRefusal[];
}

export interface BulkSummaryView {
  count: number;
  permitIds: string[];
  perAsset: AssetAmountView[];
  perDestination: Array<AssetAmountView & { destination: string }>;
  /** Selected permits that cannot be approved in bulk, each with why. */
  excluded: Array<{ permitId: string; reason: string }>;
}

export interface SignedResultView {
  permitId: string;
  chain: string;
  encoding: 'hex' | 'base64';
  signedTx: string;
  signedTxHash: string;
  signedAt: string;
  exportedAt: string | null;
  exportFile: string | null;
  /** QR modules of the result file's entry for this permit, row by row (true = dark). */
  qr: boolean[][];
}

export interface QueueExportView {
  files: string[];
  items: QueueItemView[];
}

const permitId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const permitIds = z.array(permitId).min(1, 'Select at least one permit.').max(1000);
const absolutePath = z.string().min(1).max(1024).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');
const reason = z.string().trim().min(3, 'Say why, in a few words.').max(300);

export function permitQueueChannels<R extends z.ZodTypeAny, T extends z.ZodTypeAny>(requester: R, ttlMinutes: T) {
  return {
    'permits.queue': { request: z.strictObject({}), activity: false },
    'permits.queueImport': {
      request: z.discriminatedUnion('from', [
        z.strictObject({ from: z.literal('file'), path: absolutePath }),
        z.strictObject({ from: z.literal('folder'), path: absolutePath }),
        z.strictObject({ from: z.literal('paste'), text: z.string().min(1, 'Paste a permit bundle.').max(60_000) }),
      ]),
      activity: true,
    },
    'permits.review': { request: z.strictObject({ permitId }), activity: true },
    'permits.queueApprove': { request: z.strictObject({ permitId }), activity: true },
    'permits.queueReject': { request: z.strictObject({ permitId, reason }), activity: true },
    'permits.bulkSummary': { request: z.strictObject({ permitIds }), activity: true },
    'permits.bulkApprove': { request: z.strictObject({ permitIds }), activity: true },
    /** Starts signing the selected approved permits as a job (progress and cancel through jobs.list / jobs.cancel). */
    'permits.sign': { request: z.strictObject({ permitIds }), activity: true },
    'permits.signedResult': { request: z.strictObject({ permitId }), activity: true },
    'permits.export': { request: z.strictObject({ permitIds, folder: absolutePath, perPermit: z.boolean() }), activity: true },
    'permits.requestGuardianApproval': { request: z.strictObject({ permitId, reason, requester, ttlMinutes }), activity: true },
    'permits.recordGuardianApproval': { request: z.strictObject({ permitId, requestId: z.string().uuid() }), activity: true },
  } as const;
}

export interface PermitQueueResponses {
  'permits.queue': QueueOverviewView;
  'permits.queueImport': QueueImportReport;
  'permits.review': PermitReviewView;
  'permits.queueApprove': QueueItemView;
  'permits.queueReject': QueueItemView;
  'permits.bulkSummary': BulkSummaryView;
  'permits.bulkApprove': BulkSummaryView;
  'permits.sign': JobView;
  'permits.signedResult': SignedResultView;
  'permits.export': QueueExportView;
  'permits.requestGuardianApproval': ApprovalRequestView;
  'permits.recordGuardianApproval': QueueItemView;
}
