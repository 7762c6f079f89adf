/**
 * The stateless half of a permit's verification: its shape, its issuer's signature, its time
 * window on this node's clock, keyset and chain, the tx hash recomputed from the payload, the bytes
 * the engine would sign, and the upstream controls. It reads no database, so the same function runs
 * in the authorizer before every co-signature and on the import workers (permit-verify-worker.ts).
 * Checks run in a fixed order, each with its own code and sentence; the first failure throws.
 */
import { decodePayload, describeChain, schemeForChain } from '../chains/payload';
import type { DecodedTransaction } from '../chains/transaction';
import type { SignRequestFacts } from '../cluster/sign-authorization';
import { fail } from '../errors';
import { describeDuration } from '../platform/duration';
import { issuerFingerprint, verifyPermitSignature } from './issuer-keys';
import { MAX_PERMIT_BYTES, signedPermitSchema, type SignedPermit } from './permit-format';
import type { TrustedIssuer } from './trusted-issuers';

/** Clocks of the issuer and this node may differ by this much before a permit counts as future-dated. */
export const ISSUED_AT_SKEW_MS = 5_000;

/** What the stateless checks read of this node's state: trusted issuers and each keyset's permit TTL. */
export interface VerificationContext {
  issuer(publicKeyHex: string): TrustedIssuer | undefined;
  permitTtlSeconds(keysetId: string): number;
}

/** Everything verified about one permit without touching state. */
export interface VerifiedPermit {
  facts: SignRequestFacts;
  signed: SignedPermit;
  issuer: TrustedIssuer;
  tx: DecodedTransaction;
}

export function verifyPermitStateless(facts: SignRequestFacts, now: number, context: VerificationContext): VerifiedPermit {
  // 1. present and well-formed
  if (facts.permit === undefined || facts.permit === null) {
    fail('PERMIT_MISSING', `Session ${facts.sessionId} asks this node to sign with keyset ${facts.keysetId} without a SigningPermit; this node signs transactions only under a permit it verified.`);
  }
  const size = approximateSize(facts.permit);
  if (size > MAX_PERMIT_BYTES) fail('PERMIT_MALFORMED', `The permit is ${size} bytes, more than the ${MAX_PERMIT_BYTES} a permit may have.`);
  const parsed = signedPermitSchema.safeParse(facts.permit);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail('PERMIT_MALFORMED', `The permit is not well-formed: ${issue ? `${issue.path.join('.') || 'permit'}: ${issue.message}` : 'unknown shape'}.`);
  }
  const signed = parsed.data;
  const permit = signed.permit;
  if (permit.expiresAt <= permit.issuedAt) fail('PERMIT_MALFORMED', `Permit ${permit.permitId} expires before it is issued.`);

  // 2. issuer known, signature genuine (two different codes: an unknown key is not a forgery)
  const issuer = context.issuer(signed.issuerKey);
  if (!issuer) {
    fail('PERMIT_ISSUER_UNKNOWN', `Permit ${permit.permitId} was issued by a key that is not a trusted issuer on this node (fingerprint ${fingerprintOf(signed.issuerKey)}). Enrol the issuer first if it is yours.`);
  }
  if (!verifyPermitSignature(signed, issuer.key)) {
    fail('PERMIT_SIGNATURE_INVALID', `The signature on permit ${permit.permitId} does not verify for issuer "${issuer.name}" (${issuer.fingerprint}): the permit was forged or changed after it was issued.`);
  }

  // 3. lab keysets and lab issuers never mix
  if (issuer.lab !== facts.keysetLab) {
    fail('PERMIT_LAB_MISMATCH', issuer.lab
      ? `Permit ${permit.permitId} comes from lab issuer "${issuer.name}", which may sign for lab keysets only; keyset ${facts.keysetId} is not a lab keyset.`
      : `Keyset ${facts.keysetId} belongs to the lab cluster and accepts only lab issuers; "${issuer.name}" is a production issuer.`);
  }

  // 4. time window, on this node's clock
  checkPermitTime(signed, now, context.permitTtlSeconds(facts.keysetId));

  // 5. keyset and chain
  if (permit.keysetId !== facts.keysetId) {
    fail('PERMIT_KEYSET_MISMATCH', `Permit ${permit.permitId} is for keyset ${permit.keysetId}, but session ${facts.sessionId} signs with keyset ${facts.keysetId}.`);
  }
  const scheme = schemeForChain(permit.chain);
  if (scheme !== facts.scheme) {
    fail('PERMIT_CHAIN_MISMATCH', `Permit ${permit.permitId} is for ${describeChain(permit.chain)}, which is signed with ${scheme.toUpperCase()}, but keyset ${facts.keysetId} signs with ${facts.scheme.toUpperCase()}.`);
  }

  // 6. tx hash recomputed from the payload
  const tx = decodePayload(permit.chain, permit.payload);
  if (tx.txHash !== permit.txHash) {
    fail('PERMIT_TX_HASH_MISMATCH', `The tx hash in permit ${permit.permitId} (${permit.txHash}) does not match its payload (${tx.txHash}): the payload or the hash was altered.`);
  }
  if (permit.chain.kind === 'evm' && tx.evmChainId !== permit.chain.chainId) {
    fail('PERMIT_CHAIN_MISMATCH', `The transaction in permit ${permit.permitId} is for EVM chain ${tx.evmChainId}, but the permit names chain ${permit.chain.chainId}.`);
  }

  // 7. the bytes the engine signs are exactly that payload's signing preimage
  if (!facts.message.equals(tx.signingPreimage)) {
    fail('PERMIT_MESSAGE_MISMATCH', `Session ${facts.sessionId} would sign bytes that are not the transaction in permit ${permit.permitId}; this node signs exactly the permitted transaction or nothing.`);
  }
  for (const t of tx.transfers) {
    if (t.source !== null && t.source !== facts.keysetAddress) {
      fail('PERMIT_SOURCE_MISMATCH', `The transaction in permit ${permit.permitId} moves funds of ${t.source}, not of keyset ${facts.keysetId} (${facts.keysetAddress ?? 'no address'}).`);
    }
  }

  // 8. upstream controls
  const c = permit.controls;
  if (c.kyt !== 'pass') fail('PERMIT_CONTROLS_FAILED', `Permit ${permit.permitId} records KYT result "${c.kyt}"; this node co-signs only after KYT passed.`);
  if (c.policy !== 'pass') fail('PERMIT_CONTROLS_FAILED', `Permit ${permit.permitId} records policy result "${c.policy}"; this node co-signs only after the upstream policy passed.`);
  if (c.approvals.who.length !== c.approvals.count || new Set(c.approvals.who).size !== c.approvals.who.length) {
    fail('PERMIT_CONTROLS_FAILED', `Permit ${permit.permitId} claims ${c.approvals.count} approvals but names ${new Set(c.approvals.who).size} distinct approvers.`);
  }
  if (c.approvals.count < c.approvals.required) {
    fail('PERMIT_CONTROLS_FAILED', `Permit ${permit.permitId} has ${c.approvals.count} of ${c.approvals.required} required approvals.`);
  }
  return { facts, signed, issuer, tx };
}

export function checkPermitTime(signed: SignedPermit, now: number, ttlSeconds: number): void {
  const permit = signed.permit;
  if (now >= permit.expiresAt) fail('PERMIT_EXPIRED', `Permit ${permit.permitId} expired ${describeDuration(now - permit.expiresAt)} ago; ask the issuer for a new one.`, { permitId: permit.permitId });
  if (permit.issuedAt > now + ISSUED_AT_SKEW_MS) {
    fail('PERMIT_NOT_YET_VALID', `Permit ${permit.permitId} is dated ${describeDuration(permit.issuedAt - now)} in the future by this node's clock; check the issuer's and this node's clocks.`, { permitId: permit.permitId });
  }
  if (permit.expiresAt - permit.issuedAt > ttlSeconds * 1000) {
    fail('PERMIT_TTL_TOO_LONG', `Permit ${permit.permitId} is valid for ${describeDuration(permit.expiresAt - permit.issuedAt)}; keyset ${permit.keysetId} accepts permits valid for at most ${describeDuration(ttlSeconds * 1000)}.`);
  }
}

function fingerprintOf(issuerKeyHex: string): string {
  return issuerFingerprint(Buffer.from(issuerKeyHex, 'hex'));
}

/** Serialized size of an untrusted value, bounded: refuses deep or huge structures early. */
function approximateSize(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
