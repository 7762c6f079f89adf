/** Channels of the vault policy: per-keyset limits, the kill switch, execution authorizations. */
import { z } from 'zod';
import { noArguments } from './common';
import type { ApprovalRequestView } from './guardians';
import { guardedRequester, guardedTtlMinutes } from './permits';

export const POLICY_ERROR_CODES = [
  /** A guardian's revocation statement does not recover to that guardian's registered key. */
  'REVOCATION_SIGNATURE_INVALID',
  'POLICY_NOT_SET',
  'POLICY_INVALID',
  'POLICY_ASSET_UNKNOWN',
  'POLICY_DESTINATION_NOT_ALLOWED',
  'POLICY_PER_TX_MAX',
  'POLICY_DAILY_CAP',
  'POLICY_DAILY_COUNT',
  'POLICY_OUTSIDE_SIGNING_HOURS',
  'SIGNING_FROZEN',
  'KILL_SWITCH_ALREADY',
  'EXECUTION_AUTHORIZATION_INVALID',
  'EXECUTION_AUTHORIZATION_NOT_FOUND',
  'NODE_SETUP_REFUSED',
] as const;

export const POLICY_EVENT_TYPES = [
  'POLICY_CHANGED',
  'KILL_SWITCH_ENGAGED',
  'KILL_SWITCH_RELEASED',
  'EXECUTION_AUTHORIZATION_ENABLED',
  'EXECUTION_AUTHORIZATION_REVOKED',
  'NODE_SETUP_APPLIED',
] as const;

/** One asset a keyset may move, with its limits in the asset's own units (decimal strings). */
export interface AssetLimitsView {
  symbol: string;
  decimals: number;
  perTxMax: string | null;
  dailyCap: string | null;
  guardianApprovalAbove: string | null;
}

export interface KeysetPolicyView {
  keysetId: string;
  allowlist: string[];
  allowlistLabels?: Record<string, string>;
  assets: Record<string, AssetLimitsView>;
  dailyCountLimit: number | null;
  signingHours: { start: string; end: string } | null;
  permitTtlSeconds: number;
  updatedAt: string;
  /** What this node co-signed in the last 24 h, per asset, in the asset's units. */
  cosignedLast24h: Record<string, string>;
  signaturesLast24h: number;
}

export interface ExecutionAuthorizationView {
  id: string;
  keysetId: string;
  destinations: string[];
  assets: Record<string, { perTxMax: string; dailyCap: string }>;
  enabledAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  state: 'active' | 'expired' | 'revoked' | 'stopped-by-kill-switch';
}

export interface KillSwitchView {
  engaged: boolean;
  changedAt: string | null;
  changedBy: string | null;
  reason: string | null;
}

export interface PolicyOverview {
  killSwitch: KillSwitchView;
  policies: KeysetPolicyView[];
  executionAuthorizations: ExecutionAuthorizationView[];
}

const decimal = z.string().regex(/^\d{1,30}(\.\d{1,30})?$/, 'must be a decimal number such as 1.5 (no signs, no exponent)');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM in UTC');
const keysetId = z.string().min(1).max(128);
const requestId = z.string().uuid();
const reason = z.string().min(1, 'Give a reason.').max(500);

export const assetLimits = z.strictObject({
  symbol: z.string().min(1).max(16),
  decimals: z.number().int().min(0).max(36),
  perTxMax: decimal.nullable().default(null),
  dailyCap: decimal.nullable().default(null),
  guardianApprovalAbove: decimal.nullable().default(null),
});

/** An asset key: "native", "erc20:0x<40 hex>" or "spl:<base58 mint>". */
export const assetKey = z.string().regex(/^(native|erc20:0x[0-9a-f]{40}|spl:[1-9A-HJ-NP-Za-km-z]{32,44})$/, 'must be "native", "erc20:0x<contract, lower case>" or "spl:<mint>"');

/**
 * A person's name for an allowlisted destination ("Treasury cold wallet"). Shown beside the
 * address, never instead of it, so it must not read as an address itself.
 */
export const allowlistLabel = z
  .string()
  .trim()
  .min(1)
  .max(48)
  // Control and invisible or direction-changing characters could make it read as something else.
  .regex(/^[^\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]*$/, 'must not contain control, invisible or direction-changing characters')
  .refine((label) => !/0x[0-9a-f]{4,}/i.test(label) && !/[1-9A-HJ-NP-Za-km-z]{24,}/.test(label), 'must not look like an address (it is shown beside one)');

export const keysetPolicy = z.strictObject({
  keysetId,
  allowlist: z.array(z.string().min(1).max(64)).max(1000),
  /** Allowlisted address → its label; every labelled address must be on the allowlist. */
  allowlistLabels: z.record(z.string().min(1).max(64), allowlistLabel).optional(),
  assets: z.record(assetKey, assetLimits),
  dailyCountLimit: z.number().int().min(0).max(1_000_000).nullable().default(null),
  signingHours: z.strictObject({ start: hhmm, end: hhmm }).nullable().default(null),
  permitTtlSeconds: z.number().int().min(5).max(24 * 3600).default(60),
});
export type KeysetPolicy = z.output<typeof keysetPolicy>;

export const executionAuthorizationScope = z.strictObject({
  keysetId,
  destinations: z.array(z.string().min(1).max(64)).min(1).max(1000),
  assets: z.record(assetKey, z.strictObject({ perTxMax: decimal, dailyCap: decimal })),
  /** How long it stays active once enabled: default 1 h, at most 24 h. */
  validForMinutes: z.number().int().min(1).max(24 * 60).default(60),
});
export type ExecutionAuthorizationScope = z.output<typeof executionAuthorizationScope>;

export const policyChannels = {
  'policy.overview': { request: noArguments, activity: true },
  'policy.requestChange': { request: z.strictObject({ policy: keysetPolicy, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  'policy.change': { request: z.strictObject({ policy: keysetPolicy, requestId }), activity: true },
  'policy.engageKillSwitch': { request: z.strictObject({ reason, by: guardedRequester.optional() }), activity: true },
  'policy.requestKillSwitchRelease': { request: z.strictObject({ reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  'policy.releaseKillSwitch': { request: z.strictObject({ requestId }), activity: true },
  'policy.requestExecutionAuthorization': {
    request: z.strictObject({ scope: executionAuthorizationScope, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }),
    activity: true,
  },
  'policy.enableExecutionAuthorization': { request: z.strictObject({ scope: executionAuthorizationScope, requestId }), activity: true },
  /** `by`: the operator (vault passphrase) or one guardian (signing here with their Ledger or key file). */
  'policy.revokeExecutionAuthorization': { request: z.strictObject({ id: z.string().uuid(), reason, by: guardedRequester }), activity: true },
} as const;

export interface PolicyResponses {
  'policy.overview': PolicyOverview;
  'policy.requestChange': ApprovalRequestView;
  'policy.change': PolicyOverview;
  'policy.engageKillSwitch': PolicyOverview;
  'policy.requestKillSwitchRelease': ApprovalRequestView;
  'policy.releaseKillSwitch': PolicyOverview;
  'policy.requestExecutionAuthorization': ApprovalRequestView;
  'policy.enableExecutionAuthorization': PolicyOverview;
  'policy.revokeExecutionAuthorization': PolicyOverview;
}
