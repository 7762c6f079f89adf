/**
 * This node's vault policy, kill switch and co-signing counters, as stored. Reads are cached and
 * invalidated on every write, because the authorizer consults them for every signature.
 * Writes happen only through PolicyService (guarded) or node setup; both audit every change.
 */
import canonicalize from 'canonicalize';
import { keysetPolicy, type KeysetPolicy } from '../../preload/channels/policy';
import type { Db } from '../store/database';
import { fail } from '../errors';
import { sameAddress, toBaseUnits } from './amounts';

export const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_PERMIT_TTL_SECONDS = 60;

export interface AssetRule {
  symbol: string;
  decimals: number;
  perTxMax: bigint | null;
  dailyCap: bigint | null;
  guardianApprovalAbove: bigint | null;
}

/** A policy with its amounts converted to base units once, when stored or loaded. */
export interface CompiledPolicy {
  source: KeysetPolicy;
  assets: Map<string, AssetRule>;
  updatedAt: number;
}

export interface KillSwitchState {
  engaged: boolean;
  changedAt: number | null;
  changedBy: string | null;
  reason: string | null;
}

export function compilePolicy(input: unknown, updatedAt: number): CompiledPolicy {
  const source = keysetPolicy.parse(input);
  for (const address of Object.keys(source.allowlistLabels ?? {})) {
    if (!source.allowlist.some((a) => sameAddress(a, address))) {
      fail('POLICY_INVALID', `The allowlist label for ${address} names an address that is not on the allowlist of keyset ${source.keysetId}; add the address to the allowlist or remove its label.`);
    }
  }
  const assets = new Map<string, AssetRule>();
  for (const [key, limits] of Object.entries(source.assets)) {
    const what = `${limits.symbol} (${key})`;
    const convert = (value: string | null, label: string) => (value === null ? null : toBaseUnits(value, limits.decimals, `${what} ${label}`));
    assets.set(key, {
      symbol: limits.symbol,
      decimals: limits.decimals,
      perTxMax: convert(limits.perTxMax, 'per-transaction maximum'),
      dailyCap: convert(limits.dailyCap, 'daily cap'),
      guardianApprovalAbove: convert(limits.guardianApprovalAbove, 'guardian approval threshold'),
    });
  }
  return { source, assets, updatedAt };
}

export class PolicyStore {
  private policies = new Map<string, CompiledPolicy | null>();
  private killSwitchCache: KillSwitchState | null = null;

  constructor(private readonly db: Db) {}

  /** Drops cached reads; PolicyService calls it after every write, committed or rolled back. */
  invalidate(): void {
    this.policies.clear();
    this.killSwitchCache = null;
  }

  policyFor(keysetId: string): CompiledPolicy | null {
    if (this.policies.has(keysetId)) return this.policies.get(keysetId)!;
    const row = this.db.prepare('SELECT policy, updated_at FROM vault_policies WHERE keyset_id = ?').get(keysetId) as { policy: string; updated_at: number } | undefined;
    const compiled = row ? compilePolicy(JSON.parse(row.policy), row.updated_at) : null;
    this.policies.set(keysetId, compiled);
    return compiled;
  }

  allPolicies(): CompiledPolicy[] {
    const rows = this.db.prepare('SELECT keyset_id FROM vault_policies ORDER BY keyset_id').all() as Array<{ keyset_id: string }>;
    return rows.map((r) => this.policyFor(r.keyset_id)!).filter(Boolean);
  }

  /** Replaces a keyset's policy. Call inside the transaction that audits the change. */
  write(policy: CompiledPolicy): void {
    this.db
      .prepare('INSERT INTO vault_policies (keyset_id, policy, updated_at) VALUES (?, ?, ?) ON CONFLICT(keyset_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at')
      .run(policy.source.keysetId, canonicalize(policy.source), policy.updatedAt);
    this.policies.delete(policy.source.keysetId);
  }

  killSwitch(): KillSwitchState {
    if (this.killSwitchCache) return this.killSwitchCache;
    const row = this.db.prepare('SELECT engaged, changed_at, changed_by, reason FROM signing_kill_switch WHERE id = 1').get() as
      | { engaged: number; changed_at: number; changed_by: string; reason: string }
      | undefined;
    this.killSwitchCache = row
      ? { engaged: row.engaged === 1, changedAt: row.changed_at, changedBy: row.changed_by, reason: row.reason }
      : { engaged: false, changedAt: null, changedBy: null, reason: null };
    return this.killSwitchCache;
  }

  writeKillSwitch(engaged: boolean, at: number, by: string, reason: string): void {
    this.db
      .prepare('INSERT INTO signing_kill_switch (id, engaged, changed_at, changed_by, reason) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET engaged = excluded.engaged, changed_at = excluded.changed_at, changed_by = excluded.changed_by, reason = excluded.reason')
      .run(engaged ? 1 : 0, at, by, reason);
    this.killSwitchCache = null;
  }

  /** Statements of the per-permit path, compiled once (compiling costs more than running them). */
  private statements: ReturnType<PolicyStore['prepareStatements']> | null = null;

  private prepareStatements() {
    return {
      cosignedByKeyset: this.db.prepare('SELECT asset, amount, permit_id FROM cosigned_amounts WHERE keyset_id = ? AND signed_at > ?'),
      cosignedByAuthorization: this.db.prepare('SELECT asset, amount, permit_id FROM cosigned_amounts WHERE execution_authorization_id = ? AND signed_at > ?'),
      insertCosigned: this.db.prepare('INSERT INTO cosigned_amounts (keyset_id, asset, amount, permit_id, execution_authorization_id, signed_at) VALUES (?, ?, ?, ?, ?, ?)'),
    };
  }

  private get sql() {
    this.statements ??= this.prepareStatements();
    return this.statements;
  }

  /** Base units per asset and number of signatures this node co-signed for a keyset since `since`. */
  cosignedSince(keysetId: string, since: number): { perAsset: Map<string, bigint>; signatures: number } {
    const rows = this.sql.cosignedByKeyset.all(keysetId, since) as Array<{ asset: string; amount: string; permit_id: string }>;
    return summarize(rows);
  }

  cosignedUnderAuthorizationSince(authorizationId: string, since: number): Map<string, bigint> {
    const rows = this.sql.cosignedByAuthorization.all(authorizationId, since) as Array<{ asset: string; amount: string; permit_id: string }>;
    return summarize(rows).perAsset;
  }

  recordCosigned(keysetId: string, permitId: string, perAsset: Map<string, bigint>, authorizationId: string | null, at: number): void {
    const insert = this.sql.insertCosigned;
    for (const [asset, amount] of perAsset) insert.run(keysetId, asset, amount.toString(), permitId, authorizationId, at);
  }
}

function summarize(rows: Array<{ asset: string; amount: string; permit_id: string }>): { perAsset: Map<string, bigint>; signatures: number } {
  const perAsset = new Map<string, bigint>();
  const permits = new Set<string>();
  for (const row of rows) {
    perAsset.set(row.asset, (perAsset.get(row.asset) ?? 0n) + BigInt(row.amount));
    permits.add(row.permit_id);
  }
  return { perAsset, signatures: permits.size };
}
