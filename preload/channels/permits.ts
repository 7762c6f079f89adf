/** Channels of SigningPermits: trusted issuers, this node's approvals of permits, decoding. */
import { z } from 'zod';
import { noArguments } from './common';

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
] as const;

export const PERMIT_EVENT_TYPES = [
  'SIGN_PERMIT_ACCEPTED',
  'SIGN_PERMIT_REJECTED',
  'SIGN_KEY_CHECK_ACCEPTED',
  'PERMIT_APPROVED_HERE',
  'PERMIT_GUARDIAN_APPROVED',
  'PERMIT_ISSUER_ENROLLED',
  'PERMIT_ISSUER_REMOVED',
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
const fingerprint = z.string().min(11).max(120).regex(/^[a-z]+(-[a-z]+){5}$/, 'must be six words joined by hyphens');
const requestId = z.string().uuid();
export const permitId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

export const permitChannels = {
  'permits.issuers': { request: noArguments, activity: true },
  'permits.issuerEnrolParameters': {
    request: z.strictObject({ publicKey: hexKey, fingerprint, name: z.string().min(1).max(80), lab: z.boolean().default(false) }),
    activity: true,
  },
  'permits.enrolIssuer': {
    request: z.strictObject({ publicKey: hexKey, fingerprint, name: z.string().min(1).max(80), lab: z.boolean().default(false), requestId }),
    activity: true,
  },
  'permits.removeIssuer': { request: z.strictObject({ fingerprint, requestId }), activity: true },
  'permits.approve': { request: z.strictObject({ permitId }), activity: true },
  'permits.approvals': { request: noArguments, activity: true },
} as const;

export interface PermitResponses {
  'permits.issuers': TrustedIssuerView[];
  'permits.issuerEnrolParameters': Record<string, string | boolean>;
  'permits.enrolIssuer': TrustedIssuerView[];
  'permits.removeIssuer': TrustedIssuerView[];
  'permits.approve': PermitApprovalView;
  'permits.approvals': PermitApprovalView[];
}
