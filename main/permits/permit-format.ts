/**
 * SigningPermit (seed 004): what the online side attests about one transaction, signed by its
 * issuing service's Ed25519 key. The signed bytes are a domain label and the RFC 8785 canonical
 * JSON of the permit, so any re-serialization of the same permit verifies and any change does not.
 *
 * Times are epoch milliseconds (UTC). `txHash` is "0x" + 64 lower-case hex: keccak256 of the
 * unsigned serialized EVM transaction, or sha256 of the Solana message bytes (main/chains/solana.ts).
 * `payload` is the unsigned serialized EVM transaction as 0x-hex, or the Solana message as base64.
 */
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { permitId } from '../../preload/channels/permits';
import { SOLANA_CLUSTERS } from '../chains/transaction';

export const PERMIT_VERSION = 1;
export const PERMIT_SIGNATURE_LABEL = 'vaultkeeper/signing-permit/v1\n';
/** Largest permit accepted, serialized: a Solana packet or a large EVM call fits comfortably. */
export const MAX_PERMIT_BYTES = 24 * 1024;

const identifier = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const hash32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'must be 0x and 64 lower-case hex digits');
const epochMs = z.number().int().min(0).max(8_640_000_000_000_000);

export const chainRef = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('evm'), chainId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
  z.strictObject({ kind: z.literal('solana'), cluster: z.enum(SOLANA_CLUSTERS) }),
]);

export const controlsSnapshot = z.strictObject({
  kyt: z.enum(['pass', 'fail', 'review']),
  policy: z.enum(['pass', 'fail']),
  approvals: z.strictObject({
    who: z.array(z.string().min(1).max(128)).max(32),
    count: z.number().int().min(0).max(32),
    required: z.number().int().min(0).max(32),
  }),
});

export const permitSchema = z.strictObject({
  version: z.literal(PERMIT_VERSION),
  permitId,
  txRequestId: identifier,
  walletId: identifier,
  keysetId: identifier,
  chain: chainRef,
  payload: z.string().min(2).max(16 * 1024 * 2 + 2),
  txHash: hash32,
  controls: controlsSnapshot,
  auditAnchorHash: z.string().regex(/^(0x)?[0-9a-f]{64}$/, 'must be a 32-byte hash in lower-case hex'),
  issuedAt: epochMs,
  expiresAt: epochMs,
});
export type Permit = z.infer<typeof permitSchema>;

/** A permit with its issuer's public key and signature: the unit carried in session requests and bundles. */
export const signedPermitSchema = z.strictObject({
  permit: permitSchema,
  issuerKey: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 32-byte Ed25519 public key in lower-case hex'),
  signature: z.string().regex(/^[0-9a-f]{128}$/, 'must be a 64-byte Ed25519 signature in lower-case hex'),
});
export type SignedPermit = z.infer<typeof signedPermitSchema>;

export function canonicalPermit(permit: Permit): string {
  const text = canonicalize(permit);
  if (text === undefined) throw new TypeError('a permit must be JSON-serializable');
  return text;
}

/** The exact bytes the issuer signs. */
export function permitSigningBytes(permit: Permit): Buffer {
  return Buffer.from(PERMIT_SIGNATURE_LABEL + canonicalPermit(permit), 'utf8');
}
