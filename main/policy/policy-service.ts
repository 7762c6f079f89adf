/**
 * Changes to this node's vault policy. Everything that widens what the node signs (policy,
 * allowlist, execution authorizations, turning the kill switch off) needs the guardian quorum
 * through the guard, consumed in the same transaction as the change; what narrows it (kill switch
 * on, revoking an authorization) needs only the operator. Every change is audited.
 */
import { randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import {
  executionAuthorizationScope, keysetPolicy, type ExecutionAuthorizationScope, type ExecutionAuthorizationView, type KeysetPolicy, type KeysetPolicyView, type PolicyOverview,
} from '../../preload/channels/policy';
import type { AuditLog } from '../audit/audit-log';
import { formatAmount } from '../chains/transaction';
import { fail } from '../errors';
import type { OperationGuard } from '../guardians/guard';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import { sameAddress } from './amounts';
import { scopeLimits, type ExecutionAuthorization, type ExecutionAuthorizations } from './execution-authorizations';
import { compilePolicy, DAY_MS, type PolicyStore } from './policy-store';
import type { RevokerVerifier } from './revoker';
import type { RequesterProof } from '../guardians/guardian-service';

export interface PolicyServiceOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  guard: OperationGuard;
  store: PolicyStore;
  authorizations: ExecutionAuthorizations;
  /** Checks who revokes an execution authorization (vault passphrase or a guardian's signature). */
  revokers: RevokerVerifier;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class PolicyService {
  constructor(private readonly options: PolicyServiceOptions) {}

  private get db(): Db {
    return this.options.db;
  }

  private now(): number {
    return this.options.clock.now();
  }

  /** Runs a write and drops cached reads whether it commits or rolls back. */
  private write<T>(work: () => T): T {
    try {
      return this.db.transaction(work)();
    } finally {
      this.options.store.invalidate();
      this.options.authorizations.invalidate();
    }
  }

  // --- views -------------------------------------------------------------------------------------

  overview(): PolicyOverview {
    const { store, authorizations } = this.options;
    const now = this.now();
    const ks = store.killSwitch();
    return {
      killSwitch: { engaged: ks.engaged, changedAt: ks.changedAt === null ? null : iso(ks.changedAt), changedBy: ks.changedBy, reason: ks.reason },
      policies: store.allPolicies().map((p): KeysetPolicyView => {
        const counters = store.cosignedSince(p.source.keysetId, now - DAY_MS);
        const cosigned: Record<string, string> = {};
        for (const [asset, amount] of counters.perAsset) {
          const rule = p.assets.get(asset);
          cosigned[asset] = rule ? `${formatAmount(amount, rule.decimals)} ${rule.symbol}` : `${amount}`;
        }
        return { ...p.source, updatedAt: iso(p.updatedAt), cosignedLast24h: cosigned, signaturesLast24h: counters.signatures };
      }),
      executionAuthorizations: authorizations.all().slice(0, 200).map((a) => this.authorizationView(a, ks.engaged, now)),
    };
  }

  private authorizationView(a: ExecutionAuthorization, frozen: boolean, now: number): ExecutionAuthorizationView {
    const state = a.revokedAt !== null ? 'revoked' : now >= a.expiresAt ? 'expired' : frozen ? 'stopped-by-kill-switch' : 'active';
    return {
      id: a.id, keysetId: a.keysetId, destinations: a.scope.destinations, assets: a.scope.assets,
      enabledAt: iso(a.enabledAt), expiresAt: iso(a.expiresAt), revokedAt: a.revokedAt === null ? null : iso(a.revokedAt), revokedBy: a.revokedBy, state,
    };
  }

  // --- keyset policy (guarded) -----------------------------------------------------------------

  /** The parameters a guardian request for this policy change must carry (bind exactly these). */
  policyParameters(input: KeysetPolicy): Record<string, unknown> {
    return JSON.parse(canonicalize(keysetPolicy.parse(input))!) as Record<string, unknown>;
  }

  changePolicy(input: KeysetPolicy, requestId: string): PolicyOverview {
    const parameters = this.policyParameters(input);
    const compiled = compilePolicy(parameters, this.now());
    const keysetId = compiled.source.keysetId;
    this.options.guard.checkApproval('policy.change', keysetId, parameters, requestId);
    this.write(() => {
      const { approvers } = this.options.guard.requireApproval('policy.change', keysetId, parameters, requestId);
      this.applyPolicy(compiled, 'operator', { requestId, approvers });
    });
    return this.overview();
  }

  private applyPolicy(compiled: ReturnType<typeof compilePolicy>, actor: string, details: Record<string, unknown>): void {
    const previous = this.options.store.policyFor(compiled.source.keysetId);
    this.options.store.write(compiled);
    this.options.audit.append({ type: 'POLICY_CHANGED', actor, subject: compiled.source.keysetId, details: { policy: compiled.source, previous: previous?.source ?? null, ...details } });
  }

  // --- kill switch -----------------------------------------------------------------------------

  /**
   * Safe direction: the operator at this console (no proof: freezing must not wait), or one
   * guardian who signs the freeze here with their own key, stops all signing at once. A guardian's
   * signed statement goes into the audit row.
   */
  async engageKillSwitch(reason: string, by?: RequesterProof): Promise<PolicyOverview> {
    const frozenBy = by ? await this.options.revokers.prove(by, 'kill-switch', reason, 'signing.freeze') : null;
    const actor = frozenBy?.actor ?? 'operator';
    this.write(() => {
      if (this.options.store.killSwitch().engaged) return;
      this.options.store.writeKillSwitch(true, this.now(), actor, reason);
      this.options.audit.append({ type: 'KILL_SWITCH_ENGAGED', actor, subject: 'signing', details: { reason, ...(frozenBy ? { proof: frozenBy.proof } : {}) } });
    });
    return this.overview();
  }

  /** Binds an unfreeze approval to one engagement, so an old approval cannot lift a later freeze. */
  releaseParameters(): Record<string, unknown> {
    const ks = this.options.store.killSwitch();
    if (!ks.engaged) fail('KILL_SWITCH_ALREADY', 'The kill switch is already off; signing is not frozen.');
    return { engagedAt: ks.changedAt, engagedBy: ks.changedBy, reason: ks.reason };
  }

  releaseKillSwitch(requestId: string): PolicyOverview {
    this.write(() => {
      const parameters = this.releaseParameters();
      const { approvers } = this.options.guard.requireApproval('signing.unfreeze', 'kill-switch', parameters, requestId);
      this.options.store.writeKillSwitch(false, this.now(), 'guardians', `released by request ${requestId}`);
      this.options.audit.append({ type: 'KILL_SWITCH_RELEASED', actor: 'operator', subject: 'signing', details: { requestId, approvers } });
    });
    return this.overview();
  }

  // --- execution authorizations ------------------------------------------------------------------

  authorizationParameters(input: ExecutionAuthorizationScope): Record<string, unknown> {
    const scope = executionAuthorizationScope.parse(input);
    this.validateScope(scope);
    return JSON.parse(canonicalize(scope)!) as Record<string, unknown>;
  }

  private validateScope(scope: ExecutionAuthorizationScope): void {
    const policy = this.options.store.policyFor(scope.keysetId);
    if (!policy) fail('POLICY_NOT_SET', `Keyset ${scope.keysetId} has no vault policy on this node; set one before authorizing unattended signing.`);
    for (const asset of Object.keys(scope.assets)) {
      if (!policy.assets.has(asset)) fail('EXECUTION_AUTHORIZATION_INVALID', `Asset ${asset} is not in the policy of keyset ${scope.keysetId}.`);
    }
    scopeLimits(scope, policy);
    for (const d of scope.destinations) {
      if (!policy.source.allowlist.some((a) => sameAddress(a, d))) {
        fail('EXECUTION_AUTHORIZATION_INVALID', `Destination ${d} is not on the allowlist of keyset ${scope.keysetId}; an authorization cannot widen the policy.`);
      }
    }
  }

  enableExecutionAuthorization(input: ExecutionAuthorizationScope, requestId: string): PolicyOverview {
    const parameters = this.authorizationParameters(input);
    const scope = executionAuthorizationScope.parse(parameters);
    this.options.guard.checkApproval('execution-authorization.enable', scope.keysetId, parameters, requestId);
    this.write(() => {
      if (this.options.store.killSwitch().engaged) fail('SIGNING_FROZEN', 'The kill switch is on; no execution authorization can be enabled until the guardians turn it off.');
      const { approvers } = this.options.guard.requireApproval('execution-authorization.enable', scope.keysetId, parameters, requestId);
      this.insertAuthorization(randomUUID(), scope, `guardians (request ${requestId})`, { requestId, approvers });
    });
    return this.overview();
  }

  private insertAuthorization(id: string, scope: ExecutionAuthorizationScope, enabledBy: string, details: Record<string, unknown>): ExecutionAuthorization {
    const now = this.now();
    const auth: ExecutionAuthorization = { id, keysetId: scope.keysetId, scope, enabledAt: now, expiresAt: now + scope.validForMinutes * 60_000, enabledBy, revokedAt: null, revokedBy: null };
    this.options.authorizations.insert(auth);
    this.options.audit.append({ type: 'EXECUTION_AUTHORIZATION_ENABLED', actor: enabledBy, subject: id, details: { scope, expiresAt: iso(auth.expiresAt), ...details } });
    return auth;
  }

  /**
   * Safe direction: the operator or one guardian revokes at once, no quorum. Who it was is proven
   * (vault passphrase, or the guardian's signature made here), recorded on the authorization and
   * audited with the proof.
   */
  async revokeExecutionAuthorization(id: string, reason: string, by: RequesterProof): Promise<PolicyOverview> {
    const existing = this.options.authorizations.get(id);
    if (!existing) fail('EXECUTION_AUTHORIZATION_NOT_FOUND', `There is no execution authorization ${id} on this node.`);
    if (existing.revokedAt !== null) return this.overview();
    const revoker = await this.options.revokers.prove(by, id, reason);
    this.write(() => {
      if (!this.options.authorizations.revoke(id, this.now(), revoker.actor, reason)) return;
      this.options.audit.append({ type: 'EXECUTION_AUTHORIZATION_REVOKED', actor: revoker.actor, subject: id, details: { keysetId: existing.keysetId, reason, proof: revoker.proof } });
    });
    return this.overview();
  }

  // --- headless node setup ---------------------------------------------------------------------

  /**
   * A headless node has no guardians: its operator sets policy and execution authorizations from
   * files at setup. Refused on a node with guardians, where only the guard may change them.
   */
  applyNodeSetup(setup: { policies: KeysetPolicy[]; authorizations: Array<{ id?: string; scope: ExecutionAuthorizationScope }> }, guardiansEnrolled: boolean, source: string): void {
    if (guardiansEnrolled) fail('NODE_SETUP_REFUSED', 'This node has guardians; its policy changes only with their approval, not from setup files.');
    const now = this.now();
    this.write(() => {
      for (const p of setup.policies) this.applyPolicy(compilePolicy(p, now), 'operator (node setup)', { source });
      for (const entry of setup.authorizations) {
        const scope = executionAuthorizationScope.parse(entry.scope);
        this.validateScope(scope);
        // A stable id keeps a restart from renewing an authorization the operator set once.
        if (entry.id && this.options.authorizations.get(entry.id)) continue;
        this.insertAuthorization(entry.id ?? randomUUID(), scope, 'operator (node setup)', { source });
      }
      this.options.audit.append({ type: 'NODE_SETUP_APPLIED', actor: 'operator (node setup)', subject: 'policy', details: { source, policies: setup.policies.length, authorizations: setup.authorizations.length } });
    });
  }
}
