/**
 * Execution authorizations (seed 002): the guardian quorum lets this node co-sign unattended,
 * within a scope (keyset, destinations, per-transaction maximum and daily cap per asset), for a
 * limited time (default 1 h, at most 24 h). The operator or one guardian revokes one at once;
 * the kill switch stops them all.
 */
import canonicalize from 'canonicalize';
import { executionAuthorizationScope, type ExecutionAuthorizationScope } from '../../preload/channels/policy';
import type { Db } from '../store/database';
import { sameAddress, toBaseUnits } from './amounts';
import type { CompiledPolicy } from './policy-store';

export const DEFAULT_AUTHORIZATION_MINUTES = 60;
export const MAX_AUTHORIZATION_MINUTES = 24 * 60;

export interface ExecutionAuthorization {
  id: string;
  keysetId: string;
  scope: ExecutionAuthorizationScope;
  enabledAt: number;
  expiresAt: number;
  enabledBy: string;
  revokedAt: number | null;
  revokedBy: string | null;
}

interface Row {
  id: string;
  keyset_id: string;
  scope: string;
  enabled_at: number;
  expires_at: number;
  enabled_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
}

function fromRow(r: Row): ExecutionAuthorization {
  return { id: r.id, keysetId: r.keyset_id, scope: executionAuthorizationScope.parse(JSON.parse(r.scope)), enabledAt: r.enabled_at, expiresAt: r.expires_at, enabledBy: r.enabled_by, revokedAt: r.revoked_at, revokedBy: r.revoked_by };
}

type ScopeLimits = Map<string, { perTxMax: bigint; dailyCap: bigint }>;
/**
 * Converted limits of one scope under one compiled policy. Both objects are replaced (never
 * mutated) when either changes, so identity is a sound cache key.
 */
const limitsCache = new WeakMap<ExecutionAuthorizationScope, { policy: CompiledPolicy; limits: ScopeLimits }>();

/** Scope limits in base units, using the asset decimals of the keyset's policy. */
export function scopeLimits(scope: ExecutionAuthorizationScope, policy: CompiledPolicy): ScopeLimits {
  const cached = limitsCache.get(scope);
  if (cached && cached.policy === policy) return cached.limits;
  const limits = convertLimits(scope, policy);
  limitsCache.set(scope, { policy, limits });
  return limits;
}

function convertLimits(scope: ExecutionAuthorizationScope, policy: CompiledPolicy): ScopeLimits {
  const limits = new Map<string, { perTxMax: bigint; dailyCap: bigint }>();
  for (const [asset, l] of Object.entries(scope.assets)) {
    const rule = policy.assets.get(asset);
    // An asset the keyset policy does not name can never be in scope.
    if (!rule) continue;
    limits.set(asset, { perTxMax: toBaseUnits(l.perTxMax, rule.decimals, `authorization ${asset} per-tx maximum`), dailyCap: toBaseUnits(l.dailyCap, rule.decimals, `authorization ${asset} daily cap`) });
  }
  return limits;
}

export function destinationInScope(scope: ExecutionAuthorizationScope, destination: string): boolean {
  return scope.destinations.some((d) => sameAddress(d, destination));
}

export class ExecutionAuthorizations {
  /** Keyset → its authorizations, parsed once; dropped on every write (PolicyService.write). */
  private readonly cache = new Map<string, ExecutionAuthorization[]>();

  constructor(private readonly db: Db) {}

  invalidate(): void {
    this.cache.clear();
  }

  /** The keyset's authorizations that could still matter: the most recent 20 (each lasts 24 h at most). */
  forKeyset(keysetId: string): ExecutionAuthorization[] {
    let list = this.cache.get(keysetId);
    if (!list) {
      list = (this.db.prepare('SELECT * FROM execution_authorizations WHERE keyset_id = ? ORDER BY enabled_at DESC LIMIT 20').all(keysetId) as Row[]).map(fromRow);
      this.cache.set(keysetId, list);
    }
    return list;
  }

  all(): ExecutionAuthorization[] {
    return (this.db.prepare('SELECT * FROM execution_authorizations ORDER BY enabled_at DESC').all() as Row[]).map(fromRow);
  }

  get(id: string): ExecutionAuthorization | null {
    const row = this.db.prepare('SELECT * FROM execution_authorizations WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  insert(auth: ExecutionAuthorization): void {
    this.db
      .prepare('INSERT INTO execution_authorizations (id, keyset_id, scope, enabled_at, expires_at, enabled_by) VALUES (?, ?, ?, ?, ?, ?)')
      .run(auth.id, auth.keysetId, canonicalize(auth.scope), auth.enabledAt, auth.expiresAt, auth.enabledBy);
    this.cache.clear();
  }

  revoke(id: string, at: number, by: string, reason: string): boolean {
    this.cache.clear();
    return this.db.prepare('UPDATE execution_authorizations SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL').run(at, by, reason, id).changes === 1;
  }
}
