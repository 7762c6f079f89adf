/**
 * PermitAuthorizer: this node's yes or no to contributing a share to one signature. It trusts
 * nothing the request says that it cannot check itself: the permit's issuer signature, its time
 * window against this node's clock, the transaction decoded from the permit's own payload, the
 * bytes the engine is about to sign, this node's single-use ledger, vault policy and approvals.
 * Checks run in a fixed order, each with its own code and sentence; the first failure is the
 * refusal, audited as SIGN_PERMIT_REJECTED. Nothing is written on the way to a yes: `commit()`
 * re-checks the stateful part and records single use, counters and SIGN_PERMIT_ACCEPTED in one
 * transaction.
 */
import type { AuditLog } from '../audit/audit-log';
import { decodePayload, describeChain, schemeForChain } from '../chains/payload';
import type { DecodedTransaction } from '../chains/transaction';
import type { SignAuthorizer, SignDecision, SignRequestFacts } from '../cluster/sign-authorization';
import { fail, isAppFailure } from '../errors';
import type { Clock } from '../platform/clock';
import { describeDuration } from '../platform/duration';
import { findCoveringAuthorization } from '../policy/authorization-coverage';
import type { ExecutionAuthorizations } from '../policy/execution-authorizations';
import {
  aboveGuardianThreshold, amountsPerAsset, checkAllowlist, checkAssetsKnown, checkDailyCap, checkDailyCount, checkKillSwitch, checkPerTxMax,
  checkSigningHours, describeTransaction, requirePolicy, windowCounters,
} from '../policy/policy-checks';
import { DEFAULT_PERMIT_TTL_SECONDS, type CompiledPolicy, type PolicyStore } from '../policy/policy-store';
import type { Db } from '../store/database';
import { issuerFingerprint, verifyPermitSignature } from './issuer-keys';
import { looksLikeKeyCheck, parseKeyCheck } from '../cluster/key-check';
import type { PermitApprovals } from './permit-approvals';
import { inspectPermit, type PermitInspection } from './permit-inspection';
import { MAX_PERMIT_BYTES, signedPermitSchema, type SignedPermit } from './permit-format';
import type { SpentPermits } from './spent-permits';
import type { TrustedIssuer, TrustedIssuers } from './trusted-issuers';

/** Clocks of the issuer and this node may differ by this much before a permit counts as future-dated. */
export const ISSUED_AT_SKEW_MS = 5_000;

export interface PermitAuthorizerOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  issuers: TrustedIssuers;
  policy: PolicyStore;
  authorizations: ExecutionAuthorizations;
  spent: SpentPermits;
  approvals: PermitApprovals;
}

/** Everything verified about one permit, carried from authorize() to commit(). */
interface VerifiedPermit {
  facts: SignRequestFacts;
  signed: SignedPermit;
  issuer: TrustedIssuer;
  tx: DecodedTransaction;
}

interface StatefulVerdict {
  policy: CompiledPolicy;
  perAsset: Map<string, bigint>;
  /** null when a person at this node approved the permit. */
  authorizationId: string | null;
}

export class PermitAuthorizer implements SignAuthorizer {
  constructor(private readonly options: PermitAuthorizerOptions) {}

  authorize(facts: SignRequestFacts): SignDecision {
    const now = this.options.clock.now();
    let permitId: string | null = null;
    try {
      if (looksLikeKeyCheck(facts.message)) return this.keyCheck(facts);
      const verified = this.verify(facts, now);
      permitId = verified.signed.permit.permitId;
      this.checkStateful(verified, now);
      let committed = false;
      return {
        ok: true,
        kind: 'permit',
        permitId,
        commit: () => {
          if (committed) fail('PERMIT_ALREADY_USED', `Permit ${verified.signed.permit.permitId} was already committed for session ${facts.sessionId}.`);
          this.commit(verified);
          committed = true;
        },
      };
    } catch (error) {
      return this.refuse(facts, permitId ?? permitIdOf(facts.permit), error);
    }
  }

  /**
   * Every check with its verdict for the permit queue: nothing written, nothing audited, single
   * use not consumed. The same verification as authorize(), so what the screen says passed is
   * what the cluster will accept.
   */
  inspect(facts: SignRequestFacts, scope: 'all' | 'import' = 'all'): PermitInspection {
    return inspectPermit(this.options, (f, now) => this.verify(f, now), facts, this.options.clock.now(), scope);
  }

  // --- key checks ------------------------------------------------------------------------------

  private keyCheck(facts: SignRequestFacts): SignDecision {
    const parsed = parseKeyCheck(facts.message);
    if (!parsed) fail('PERMIT_MALFORMED', `The message of session ${facts.sessionId} starts like a key check but is not a well-formed one; this node signs nothing else without a permit.`);
    if (parsed.keysetId !== facts.keysetId) {
      fail('KEY_CHECK_KEYSET_MISMATCH', `The key-check message names keyset ${parsed.keysetId}, but session ${facts.sessionId} signs with keyset ${facts.keysetId}.`);
    }
    // Key checks move no funds: allowed under the kill switch, without a permit, and audited.
    return {
      ok: true,
      kind: 'key-check',
      permitId: null,
      commit: () => {
        this.options.audit.append({
          type: 'SIGN_KEY_CHECK_ACCEPTED',
          actor: facts.requester,
          subject: facts.keysetId,
          details: { sessionId: facts.sessionId, purpose: parsed.purpose, nonce: parsed.nonce.toString('hex'), requestedHere: facts.requestedHere, parties: facts.parties },
        });
      },
    };
  }

  // --- stateless checks: the permit and the transaction it names --------------------------------

  private verify(facts: SignRequestFacts, now: number): VerifiedPermit {
    const { issuers, policy } = this.options;
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
    const issuer = issuers.byPublicKey(signed.issuerKey);
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
    this.checkTime(signed, now, policy.policyFor(facts.keysetId));

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

  private checkTime(signed: SignedPermit, now: number, policy: CompiledPolicy | null): void {
    const permit = signed.permit;
    if (now >= permit.expiresAt) fail('PERMIT_EXPIRED', `Permit ${permit.permitId} expired ${describeDuration(now - permit.expiresAt)} ago; ask the issuer for a new one.`, { permitId: permit.permitId });
    if (permit.issuedAt > now + ISSUED_AT_SKEW_MS) {
      fail('PERMIT_NOT_YET_VALID', `Permit ${permit.permitId} is dated ${describeDuration(permit.issuedAt - now)} in the future by this node's clock; check the issuer's and this node's clocks.`, { permitId: permit.permitId });
    }
    const ttlSeconds = policy?.source.permitTtlSeconds ?? DEFAULT_PERMIT_TTL_SECONDS;
    if (permit.expiresAt - permit.issuedAt > ttlSeconds * 1000) {
      fail('PERMIT_TTL_TOO_LONG', `Permit ${permit.permitId} is valid for ${describeDuration(permit.expiresAt - permit.issuedAt)}; keyset ${permit.keysetId} accepts permits valid for at most ${describeDuration(ttlSeconds * 1000)}.`);
    }
  }

  // --- stateful checks: single use, vault policy, approvals -------------------------------------

  private checkStateful(v: VerifiedPermit, now: number): StatefulVerdict {
    const { spent, policy: store, approvals, authorizations } = this.options;
    const { permit } = v.signed;
    const keysetId = v.facts.keysetId;
    // 9. single use
    spent.checkUnused(permit.permitId, permit.txHash, (at) => `${describeDuration(now - at)} ago`);
    // 10. kill switch
    checkKillSwitch(store.killSwitch(), now);
    const policy = requirePolicy(store.policyFor(keysetId), keysetId);
    checkAssetsKnown(v.tx, policy);
    const perAsset = amountsPerAsset(v.tx);
    // 11–15. allowlist, per-tx maximum, daily cap, daily count, signing hours
    checkAllowlist(v.tx, policy);
    checkPerTxMax(perAsset, policy);
    const counters = windowCounters(store, keysetId, now);
    checkDailyCap(perAsset, policy, counters);
    checkDailyCount(policy, counters);
    checkSigningHours(policy, now);
    // 16. guardian approval above the keyset's threshold
    const above = aboveGuardianThreshold(perAsset, policy);
    if (above.length > 0 && !approvals.guardianApproved(permit.permitId, permit.txHash)) {
      fail('PERMIT_GUARDIAN_APPROVAL_REQUIRED', `Permit ${permit.permitId} needs the guardians' approval on this node: ${above.join('; ')}. Ask two guardians to approve this withdrawal.`);
    }
    // 17. a person here said yes, or an execution authorization covers it
    if (approvals.approvedHere(permit.permitId)) return { policy, perAsset, authorizationId: null };
    const coverage = findCoveringAuthorization(authorizations, store, keysetId, v.tx, perAsset, policy, now);
    if (coverage.covered) return { policy, perAsset, authorizationId: coverage.authorization.id };
    const why = coverage.reasons.length > 0 ? ` (${coverage.reasons.join('; ')})` : '';
    fail('SIGNING_NOT_APPROVED_HERE', `No one at this node approved permit ${permit.permitId} (${describeTransaction(v.tx, policy)}), and no execution authorization is active for keyset ${keysetId}${why}.`);
  }

  private commit(v: VerifiedPermit): void {
    const { db, spent, policy: store, audit, clock } = this.options;
    const { permit } = v.signed;
    db.transaction(() => {
      const now = clock.now();
      // State may have changed since authorize(): another session, the kill switch, a revocation.
      this.checkTime(v.signed, now, store.policyFor(v.facts.keysetId));
      const verdict = this.checkStateful(v, now);
      spent.record({ permitId: permit.permitId, txHash: permit.txHash, keysetId: v.facts.keysetId, sessionId: v.facts.sessionId, issuerFingerprint: v.issuer.fingerprint, spentAt: now });
      store.recordCosigned(v.facts.keysetId, permit.permitId, verdict.perAsset, verdict.authorizationId, now);
      audit.append({
        type: 'SIGN_PERMIT_ACCEPTED',
        actor: v.facts.requester,
        subject: permit.permitId,
        details: {
          sessionId: v.facts.sessionId,
          keysetId: v.facts.keysetId,
          txHash: permit.txHash,
          txRequestId: permit.txRequestId,
          walletId: permit.walletId,
          chain: describeChain(permit.chain),
          transaction: describeTransaction(v.tx, verdict.policy),
          issuer: v.issuer.fingerprint,
          auditAnchorHash: permit.auditAnchorHash,
          approvedBy: verdict.authorizationId === null ? 'a person at this node' : `execution authorization ${verdict.authorizationId}`,
          requestedHere: v.facts.requestedHere,
        },
      });
    })();
  }

  // --- refusals --------------------------------------------------------------------------------

  private refuse(facts: SignRequestFacts, permitId: string | null, error: unknown): SignDecision {
    const code = isAppFailure(error) ? error.code : 'INTERNAL';
    // Foreign exception text may quote inputs; only our own sentences are shown and recorded.
    const message = isAppFailure(error) ? error.message : `The signing request for session ${facts.sessionId} could not be checked; this node refuses it.`;
    try {
      this.options.audit.append({
        type: 'SIGN_PERMIT_REJECTED',
        actor: facts.requester,
        subject: permitId ?? facts.sessionId,
        details: { code, reason: message, sessionId: facts.sessionId, keysetId: facts.keysetId, protocol: facts.protocol, requestedHere: facts.requestedHere, permitId },
      });
    } catch {
      // The refusal stands even if it cannot be recorded: refusing is the safe outcome.
    }
    return { ok: false, code, message };
  }
}

function permitIdOf(permit: unknown): string | null {
  const inner = (permit as { permit?: { permitId?: unknown } } | null | undefined)?.permit;
  const id = inner?.permitId;
  return typeof id === 'string' && id.length <= 128 ? id : null;
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
