/**
 * The stateless permit checks for a chunk of an imported bundle, as run on an import worker (or on
 * the main thread when no worker can take it). Everything a worker needs comes in the job: this
 * node's trusted issuers and permit TTLs, the keyset each permit names, and the import's clock
 * reading; the verification itself is the authorizer's own (permit-verification.ts).
 */
import type { DecodedTransaction } from '../../chains/transaction';
import { isAppFailure } from '../../errors';
import { issuerPublicKeyObject } from '../issuer-keys';
import type { SignedPermit } from '../permit-format';
import { verifyPermitStateless, type VerificationContext } from '../permit-verification';
import type { TrustedIssuer } from '../trusted-issuers';
import { queueFacts, type QueueKeyset } from './permit-checker';

export interface IssuerRecord {
  fingerprint: string;
  publicKey: string;
  name: string;
  lab: boolean;
  enrolledAt: number;
}

export interface VerificationSnapshot {
  now: number;
  issuers: IssuerRecord[];
  /** Permit TTL (seconds) per keyset id named in the job. */
  ttlSeconds: Record<string, number>;
}

export interface VerifyItem {
  signed: SignedPermit;
  keyset: QueueKeyset;
}

/**
 * `internal`: the check threw something that is not one of our refusals; the main thread runs
 * that permit again itself, so such an error surfaces exactly as it would without workers.
 */
export type VerifyOutcome = { ok: true; tx: DecodedTransaction } | { ok: false; code: string; message: string } | { ok: false; internal: true };

export function snapshotContext(snapshot: VerificationSnapshot): VerificationContext {
  const issuers = new Map<string, TrustedIssuer>(
    snapshot.issuers.map((i) => [i.publicKey, { ...i, key: issuerPublicKeyObject(Buffer.from(i.publicKey, 'hex')) }]),
  );
  return {
    issuer: (publicKeyHex) => issuers.get(publicKeyHex),
    permitTtlSeconds: (keysetId) => {
      const ttl = snapshot.ttlSeconds[keysetId];
      // The main thread lists every keyset of the job; a missing one is a bug, never a default.
      if (ttl === undefined) throw new Error(`no permit TTL for keyset ${keysetId} in the verification job`);
      return ttl;
    },
  };
}

export function verifyChunk(items: VerifyItem[], snapshot: VerificationSnapshot, context: VerificationContext = snapshotContext(snapshot)): VerifyOutcome[] {
  return items.map(({ signed, keyset }) => {
    try {
      return { ok: true, tx: verifyPermitStateless(queueFacts(signed, keyset), snapshot.now, context).tx };
    } catch (error) {
      return isAppFailure(error) ? { ok: false, code: error.code, message: error.message } : { ok: false, internal: true };
    }
  });
}
