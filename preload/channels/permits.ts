/** Channels of SigningPermits: trusted issuers, this node's approvals of permits, decoding. */
import { z } from 'zod';
import { requesterProof } from './guardians';
import { noArguments } from './common';
import type { ApprovalRequestView } from './guardians';
import { permitQueueChannels, QUEUE_ERROR_CODES, QUEUE_EVENT_TYPES, type PermitQueueResponses } from './permit-queue';

export type * from './permit-queue';

/** Every refusal code of the signing authorization, one per check (see main/permits/authorizer.ts). */
export const PERMIT_ERROR_CODES = [
  'PERMIT_MISSING',
  'PERMIT_MALFORMED',
  'PERMIT_ISSUER_UNKNOWN',
  'PERMIT_SIGNATURE_INVALID',
  'PERMIT_LAB_MISMATCH',
  'PERMIT_EXPIRED',
  'PERMIT_NOT_YET_VALID',
  'PERMIT_TTL_TOO_LONG',
  'PERMIT_KEYSET_MISMATCH',
  'PERMIT_CHAIN_MISMATCH',
  'PERMIT_PAYLOAD_INVALID',
  'PERMIT_TX_HASH_MISMATCH',
  'PERMIT_MESSAGE_MISMATCH',
  'PERMIT_SOURCE_MISMATCH',
  'PERMIT_CONTROLS_FAILED',
  'PERMIT_ALREADY_USED',
  'PERMIT_TX_ALREADY_SIGNED',
  'PERMIT_GUARDIAN_APPROVAL_REQUIRED',
  'SIGNING_NOT_APPROVED_HERE',
  'KEY_CHECK_KEYSET_MISMATCH',
  'ISSUER_KEY_INVALID',
  'ISSUER_FINGERPRINT_MISMATCH',
  'ISSUER_ALREADY_TRUSTED',
  'ISSUER_NOT_FOUND',
  'PERMIT_BUNDLE_MALFORMED',
  'PERMIT_BUNDLE_TOO_LARGE',
  'PERMIT_NOT_FOUND',
  ...QUEUE_ERROR_CODES,
] as const;

export const PERMIT_EVENT_TYPES = [
  'SIGN_PERMIT_ACCEPTED',
  'SIGN_PERMIT_REJECTED',
  'SIGN_KEY_CHECK_ACCEPTED',
  'PERMIT_APPROVED_HERE',
  'PERMIT_GUARDIAN_APPROVED',
  'PERMIT_ISSUER_ENROLLED',
  'PERMIT_ISSUER_REMOVED',
  ...QUEUE_EVENT_TYPES,
] as const;

export interface TrustedIssuerView {
  fingerprint: string;
  publicKey: string;
  name: string;
  lab: boolean;
  enrolledAt: string;
}

export interface PermitApprovalView {
  permitId: string;
  approvedBy: string;
  approvedAt: string;
}

const hexKey = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a 32-byte Ed25519 public key in hex');
const fingerprint = z.string().trim().toLowerCase().pipe(z.string().regex(/^[a-z]+(-[a-z]+){5}$/, 'must be the six fingerprint words joined by hyphens'));
const requestId = z.string().uuid();
const issuerName = z.string().trim().min(1, 'Name the issuer.').max(80);
const reason = z.string().trim().min(1, 'Say why.').max(300);
/** Same shapes as the guardian channels: who asks (a guardian id or null for the operator), how long the request lives. */
/** Who asks the guardians, with proof (the operator's passphrase or the guardian's own key). */
export const guardedRequester = requesterProof;
export const guardedTtlMinutes = z.number().int().min(5, 'A request lives at least 5 minutes.').max(7 * 24 * 60, 'A request lives at most 7 days.').default(60);
export const permitId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

const issuerEnrolment = { publicKey: hexKey, fingerprint, name: issuerName, lab: z.boolean().default(false) };

export const permitChannels = {
  'permits.issuers': { request: noArguments, activity: true },
  'permits.requestIssuerEnrolment': {
    request: z.strictObject({ ...issuerEnrolment, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }),
    activity: true,
  },
  'permits.enrolIssuer': { request: z.strictObject({ ...issuerEnrolment, requestId }), activity: true },
  'permits.requestIssuerRemoval': { request: z.strictObject({ fingerprint, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  'permits.removeIssuer': { request: z.strictObject({ fingerprint, requestId }), activity: true },
  'permits.approvals': { request: noArguments, activity: true },
  ...permitQueueChannels(guardedRequester, guardedTtlMinutes),
} as const;

export interface PermitResponses extends PermitQueueResponses {
  'permits.issuers': TrustedIssuerView[];
  'permits.requestIssuerEnrolment': ApprovalRequestView;
  'permits.enrolIssuer': TrustedIssuerView[];
  'permits.requestIssuerRemoval': ApprovalRequestView;
  'permits.removeIssuer': TrustedIssuerView[];
  'permits.approvals': PermitApprovalView[];
}
