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
import { describeChain } from '../chains/payload';
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
import { looksLikeKeyCheck, parseKeyCheck } from '../cluster/key-check';
import type { PermitApprovals } from './permit-approvals';
import { inspectPermit, type PermitInspection } from './permit-inspection';
import type { SignedPermit } from './permit-format';
import type { DecodedTransaction } from '../chains/transaction';
import type { ErrorCode } from '../../preload/contract';
import { checkPermitTime, verifyPermitStateless, type VerificationContext, type VerifiedPermit } from './permit-verification';
import type { SpentPermits } from './spent-permits';
import type { TrustedIssuers } from './trusted-issuers';

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

interface StatefulVerdict {
  policy: CompiledPolicy;
  perAsset: Map<string, bigint>;
  /** null when a person at this node approved the permit. */
  authorizationId: string | null;
}

/** The stateless checks' result for one permit, computed elsewhere (an import worker). */
export type VerifiedOutcome = { ok: true; tx: DecodedTransaction } | { ok: false; code: string; message: string };

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

  /**
   * inspect() with the stateless checks already done elsewhere (an import worker ran
   * verifyPermitStateless on the same permit): their outcome is taken as given, the rest runs here.
   */
  inspectVerified(facts: SignRequestFacts, outcome: VerifiedOutcome, scope: 'all' | 'import' = 'all'): PermitInspection {
    const verify = (f: SignRequestFacts): VerifiedPermit => {
      if (!outcome.ok) fail(outcome.code as ErrorCode, outcome.message);
      const signed = f.permit as SignedPermit;
      const issuer = this.options.issuers.byPublicKey(signed.issuerKey);
      // The issuer was removed since the snapshot the worker had: verify here, as without workers.
      if (!issuer) return this.verify(f, this.options.clock.now());
      return { facts: f, signed, issuer, tx: outcome.tx };
    };
    return inspectPermit(this.options, verify, facts, this.options.clock.now(), scope);
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

  // --- stateless checks: the permit and the transaction it names (permit-verification.ts) -------

  private verify(facts: SignRequestFacts, now: number): VerifiedPermit {
    return verifyPermitStateless(facts, now, this.verificationContext());
  }

  /** Issuers and permit TTLs as this node holds them now; the import workers get a copy of the same. */
  verificationContext(): VerificationContext {
    const { issuers, policy } = this.options;
    return {
      issuer: (publicKeyHex) => issuers.byPublicKey(publicKeyHex),
      permitTtlSeconds: (keysetId) => policy.policyFor(keysetId)?.source.permitTtlSeconds ?? DEFAULT_PERMIT_TTL_SECONDS,
    };
  }

  private checkTime(signed: SignedPermit, now: number, policy: CompiledPolicy | null): void {
    checkPermitTime(signed, now, policy?.source.permitTtlSeconds ?? DEFAULT_PERMIT_TTL_SECONDS);
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
