/**
 * The authorizer's checks as a list a person reads: each with pass or fail and what was found.
 * Runs the very functions the authorizer runs before it co-signs, in the same order, but writes
 * nothing and audits nothing, and does not consume single use: the queue calls it on import,
 * on review and right before it asks the cluster to sign.
 */
import type { PermitCheckId, PermitCheckView } from '../../preload/contract';
import type { SignRequestFacts } from '../cluster/sign-authorization';
import { isAppFailure } from '../errors';
import { describeDuration } from '../platform/duration';
import { findCoveringAuthorization } from '../policy/authorization-coverage';
import type { ExecutionAuthorizations } from '../policy/execution-authorizations';
import {
  aboveGuardianThreshold, amountsPerAsset, checkAllowlist, checkAssetsKnown, checkDailyCap, checkDailyCount, checkKillSwitch, checkPerTxMax,
  checkSigningHours, requirePolicy, windowCounters,
} from '../policy/policy-checks';
import type { PolicyStore } from '../policy/policy-store';
import type { DecodedTransaction } from '../chains/transaction';
import type { PermitApprovals } from './permit-approvals';
import type { SignedPermit } from './permit-format';
import type { SpentPermits } from './spent-permits';
import type { TrustedIssuer } from './trusted-issuers';

export const CHECK_LABELS: Record<PermitCheckId, string> = {
  format: 'Permit is well-formed',
  issuer: 'Signed by a trusted issuer',
  time: 'Within its validity window',
  keyset: 'For this keyset and chain',
  payload: 'Tx hash matches the transaction',
  controls: 'Upstream controls passed (KYT, policy, approvals)',
  'single-use': 'Never signed before (permit and tx hash)',
  'kill-switch': 'Signing not frozen (kill switch off)',
  policy: 'Within vault policy (allowlist, limits, hours)',
  guardians: 'Guardian approval (large withdrawal)',
  approval: 'Approved at this node',
};

const ORDER: PermitCheckId[] = ['format', 'issuer', 'time', 'keyset', 'payload', 'controls', 'single-use', 'kill-switch', 'policy', 'guardians', 'approval'];

/** Which check a refusal code of the stateless verification belongs to. */
const STATELESS_CHECK_OF: Record<string, PermitCheckId> = {
  PERMIT_MISSING: 'format',
  PERMIT_MALFORMED: 'format',
  PERMIT_ISSUER_UNKNOWN: 'issuer',
  PERMIT_SIGNATURE_INVALID: 'issuer',
  PERMIT_LAB_MISMATCH: 'issuer',
  PERMIT_EXPIRED: 'time',
  PERMIT_NOT_YET_VALID: 'time',
  PERMIT_TTL_TOO_LONG: 'time',
  PERMIT_KEYSET_MISMATCH: 'keyset',
  PERMIT_CHAIN_MISMATCH: 'keyset',
  PERMIT_PAYLOAD_INVALID: 'payload',
  PERMIT_TX_HASH_MISMATCH: 'payload',
  PERMIT_MESSAGE_MISMATCH: 'payload',
  PERMIT_SOURCE_MISMATCH: 'payload',
  PERMIT_CONTROLS_FAILED: 'controls',
};

/** Checks whose failure refuses a permit at import; the others (kill switch, approvals) can still change. */
export const IMPORT_BLOCKING: ReadonlySet<PermitCheckId> = new Set(['format', 'issuer', 'time', 'keyset', 'payload', 'controls', 'single-use', 'policy']);

export interface InspectionDeps {
  policy: PolicyStore;
  authorizations: ExecutionAuthorizations;
  spent: SpentPermits;
  approvals: PermitApprovals;
}

export interface VerifiedForInspection {
  signed: SignedPermit;
  issuer: TrustedIssuer;
  tx: DecodedTransaction;
}

export interface PermitInspection {
  checks: PermitCheckView[];
  /** Set when the stateless checks passed. */
  verified: VerifiedForInspection | null;
}

function view(id: PermitCheckId, status: PermitCheckView['status'], detail: string, code: string | null = null): PermitCheckView {
  return { id, label: CHECK_LABELS[id], status, detail, code };
}

/** Runs `check`; a thrown AppFailure becomes a failed check, anything else is not ours to swallow. */
function attempt(id: PermitCheckId, passDetail: string, check: () => void): PermitCheckView {
  try {
    check();
    return view(id, 'pass', passDetail);
  } catch (error) {
    if (!isAppFailure(error)) throw error;
    return view(id, 'fail', error.message, error.code);
  }
}

export function inspectPermit(deps: InspectionDeps, verify: (facts: SignRequestFacts, now: number) => VerifiedForInspection, facts: SignRequestFacts, now: number, scope: 'all' | 'import' = 'all'): PermitInspection {
  let verified: VerifiedForInspection;
  try {
    verified = verify(facts, now);
  } catch (error) {
    if (!isAppFailure(error)) throw error;
    const failed = STATELESS_CHECK_OF[error.code] ?? 'format';
    const at = ORDER.indexOf(failed);
    const checks = ORDER.map((id, i) =>
      i < at ? view(id, 'pass', 'Passed.') : i === at ? view(id, 'fail', error.message, error.code) : view(id, 'not-checked', 'Not checked: an earlier check failed.'),
    );
    return { checks, verified: null };
  }
  const { signed, issuer, tx } = verified;
  const permit = signed.permit;
  const keysetId = facts.keysetId;
  const checks: PermitCheckView[] = [
    view('format', 'pass', `Permit ${permit.permitId}, version ${permit.version}.`),
    view('issuer', 'pass', `Issuer "${issuer.name}" (${issuer.fingerprint}); signature verifies.`),
    view('time', 'pass', `Issued ${describeDuration(Math.max(0, now - permit.issuedAt))} ago; expires in ${describeDuration(permit.expiresAt - now)}.`),
    view('keyset', 'pass', `Keyset ${keysetId}, signed with ${facts.scheme.toUpperCase()}.`),
    view('payload', 'pass', `Recomputed ${permit.txHash} from the payload; it is exactly what will be signed.`),
    view('controls', 'pass', `KYT ${permit.controls.kyt}, policy ${permit.controls.policy}, ${permit.controls.approvals.count} of ${permit.controls.approvals.required} approvals.`),
  ];
  checks.push(attempt('single-use', 'This node never signed this permit or this transaction.', () => deps.spent.checkUnused(permit.permitId, permit.txHash, (at) => `${describeDuration(now - at)} ago`)));
  checks.push(attempt('kill-switch', 'The kill switch is off.', () => checkKillSwitch(deps.policy.killSwitch(), now)));
  const policy = deps.policy.policyFor(keysetId);
  const perAsset = amountsPerAsset(tx);
  checks.push(
    attempt('policy', 'Destination allowlisted; within the per-transaction maximum, daily cap, daily count and signing hours.', () => {
      const p = requirePolicy(policy, keysetId);
      checkAssetsKnown(tx, p);
      checkAllowlist(tx, p);
      checkPerTxMax(perAsset, p);
      const counters = windowCounters(deps.policy, keysetId, now);
      checkDailyCap(perAsset, p, counters);
      checkDailyCount(p, counters);
      checkSigningHours(p, now);
    }),
  );
  const policyPassed = checks.at(-1)!.status === 'pass';
  if (scope === 'import') return { checks, verified };
  if (!policyPassed || !policy) {
    checks.push(view('guardians', 'not-checked', 'Not checked: the permit is outside vault policy.'));
    checks.push(view('approval', 'not-checked', 'Not checked: the permit is outside vault policy.'));
    return { checks, verified };
  }
  const above = aboveGuardianThreshold(perAsset, policy);
  if (above.length === 0) checks.push(view('guardians', 'pass', 'Not needed: below the guardian threshold.'));
  else if (deps.approvals.guardianApproved(permit.permitId, permit.txHash)) checks.push(view('guardians', 'pass', `Guardians approved: ${above.join('; ')}.`));
  else checks.push(view('guardians', 'fail', `Needs the guardians' approval: ${above.join('; ')}.`, 'PERMIT_GUARDIAN_APPROVAL_REQUIRED'));
  if (deps.approvals.approvedHere(permit.permitId)) {
    checks.push(view('approval', 'pass', 'A person at this console approved it.'));
  } else {
    const coverage = findCoveringAuthorization(deps.authorizations, deps.policy, keysetId, tx, perAsset, policy, now);
    checks.push(
      coverage.covered
        ? view('approval', 'pass', `Covered by execution authorization ${coverage.authorization.id}.`)
        : view('approval', 'fail', 'Not approved yet: review it and approve, or reject it with a reason.', 'SIGNING_NOT_APPROVED_HERE'),
    );
  }
  return { checks, verified };
}
