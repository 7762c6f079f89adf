/**
 * Does an active execution authorization cover this transaction? Returns the covering
 * authorization, or the sentence that says why none does (the closest one's reason), so a
 * requester can tell an operator what to fix.
 */
import type { DecodedTransaction } from '../chains/transaction';
import { formatAmount, shortAddress } from '../chains/transaction';
import { describeDuration } from '../platform/duration';
import { destinationInScope, scopeLimits, type ExecutionAuthorization, type ExecutionAuthorizations } from './execution-authorizations';
import { DAY_MS, type CompiledPolicy, type PolicyStore } from './policy-store';

export type Coverage = { covered: true; authorization: ExecutionAuthorization } | { covered: false; reasons: string[] };

function whyNot(auth: ExecutionAuthorization, tx: DecodedTransaction, perAsset: Map<string, bigint>, policy: CompiledPolicy, store: PolicyStore, now: number): string | null {
  const name = `execution authorization ${auth.id.slice(0, 8)}`;
  if (auth.revokedAt !== null) return `${name} was revoked ${describeDuration(now - auth.revokedAt)} ago by ${auth.revokedBy ?? 'someone'}`;
  if (now >= auth.expiresAt) return `${name} expired ${describeDuration(now - auth.expiresAt)} ago`;
  if (now < auth.enabledAt) return `${name} is not active yet`;
  for (const t of tx.transfers) {
    if (!destinationInScope(auth.scope, t.destination)) return `${name} does not cover destination ${shortAddress(t.destination)}`;
  }
  const limits = scopeLimits(auth.scope, policy);
  const used = store.cosignedUnderAuthorizationSince(auth.id, now - DAY_MS);
  for (const [asset, amount] of perAsset) {
    const limit = limits.get(asset);
    const rule = policy.assets.get(asset)!;
    if (!limit) return `${name} does not cover ${rule.symbol}`;
    if (amount > limit.perTxMax) return `${name} allows at most ${formatAmount(limit.perTxMax, rule.decimals)} ${rule.symbol} per transaction, this one moves ${formatAmount(amount, rule.decimals)}`;
    const already = used.get(asset) ?? 0n;
    if (already + amount > limit.dailyCap) {
      return `${name} allows ${formatAmount(limit.dailyCap, rule.decimals)} ${rule.symbol} in 24 h; ${formatAmount(already, rule.decimals)} already co-signed under it`;
    }
  }
  return null;
}

export function findCoveringAuthorization(
  authorizations: ExecutionAuthorizations,
  store: PolicyStore,
  keysetId: string,
  tx: DecodedTransaction,
  perAsset: Map<string, bigint>,
  policy: CompiledPolicy,
  now: number,
): Coverage {
  const reasons: string[] = [];
  for (const auth of authorizations.forKeyset(keysetId)) {
    if (auth.keysetId !== keysetId) continue;
    const reason = whyNot(auth, tx, perAsset, policy, store, now);
    if (reason === null) return { covered: true, authorization: auth };
    reasons.push(reason);
  }
  return { covered: false, reasons };
}
