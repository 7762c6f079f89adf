/**
 * The vault-policy checks a transaction must pass before this node co-signs it, in the order
 * the authorizer runs them. Each throws an AppFailure whose sentence says what to change.
 */
import type { DecodedTransaction } from '../chains/transaction';
import { describeTransfer, formatAmount, shortAddress } from '../chains/transaction';
import { fail } from '../errors';
import { describeDuration } from '../platform/duration';
import { sameAddress } from './amounts';
import { DAY_MS, type CompiledPolicy, type KillSwitchState, type PolicyStore } from './policy-store';

/** Sum per asset of what the transaction moves, in base units. */
export function amountsPerAsset(tx: DecodedTransaction): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const t of tx.transfers) sums.set(t.asset, (sums.get(t.asset) ?? 0n) + t.amount);
  return sums;
}

export function checkKillSwitch(state: KillSwitchState, now: number): void {
  if (!state.engaged) return;
  const since = state.changedAt !== null ? ` ${describeDuration(now - state.changedAt)} ago` : '';
  fail('SIGNING_FROZEN', `The kill switch is on: all signing on this node was frozen${since} by ${state.changedBy ?? 'the operator'} ("${state.reason ?? ''}"). Turning it off needs the guardian quorum.`);
}

export function requirePolicy(policy: CompiledPolicy | null, keysetId: string): CompiledPolicy {
  if (!policy) fail('POLICY_NOT_SET', `Keyset ${keysetId} has no vault policy on this node, so this node co-signs nothing for it. Set its policy (allowlist and limits) first.`);
  return policy;
}

/** Every transferred asset must be named in the policy, with decimals matching what the transaction states. */
export function checkAssetsKnown(tx: DecodedTransaction, policy: CompiledPolicy): void {
  for (const t of tx.transfers) {
    const rule = policy.assets.get(t.asset);
    if (!rule) fail('POLICY_ASSET_UNKNOWN', `Asset ${t.asset} is not in the policy of keyset ${policy.source.keysetId}; this node does not co-sign transfers of assets its policy does not name.`);
    if (t.decimals !== null && t.decimals !== rule.decimals) {
      fail('POLICY_ASSET_UNKNOWN', `The transaction states ${t.decimals} decimals for ${rule.symbol}, the policy of keyset ${policy.source.keysetId} says ${rule.decimals}: refusing an amount that would be misread.`);
    }
  }
}

export function checkAllowlist(tx: DecodedTransaction, policy: CompiledPolicy): void {
  for (const t of tx.transfers) {
    if (!policy.source.allowlist.some((a) => sameAddress(a, t.destination))) {
      fail('POLICY_DESTINATION_NOT_ALLOWED', `Destination ${shortAddress(t.destination)} (${t.destination}) is not on the allowlist of keyset ${policy.source.keysetId}.`, { destination: t.destination });
    }
  }
}

export function checkPerTxMax(perAsset: Map<string, bigint>, policy: CompiledPolicy): void {
  for (const [asset, amount] of perAsset) {
    const rule = policy.assets.get(asset)!;
    if (rule.perTxMax !== null && amount > rule.perTxMax) {
      fail('POLICY_PER_TX_MAX', `This transaction moves ${formatAmount(amount, rule.decimals)} ${rule.symbol}; the per-transaction maximum of keyset ${policy.source.keysetId} is ${formatAmount(rule.perTxMax, rule.decimals)} ${rule.symbol}.`);
    }
  }
}

export interface WindowCounters {
  perAsset: Map<string, bigint>;
  signatures: number;
}

export function windowCounters(store: PolicyStore, keysetId: string, now: number): WindowCounters {
  return store.cosignedSince(keysetId, now - DAY_MS);
}

export function checkDailyCap(perAsset: Map<string, bigint>, policy: CompiledPolicy, counters: WindowCounters): void {
  for (const [asset, amount] of perAsset) {
    const rule = policy.assets.get(asset)!;
    if (rule.dailyCap === null) continue;
    const already = counters.perAsset.get(asset) ?? 0n;
    if (already + amount > rule.dailyCap) {
      fail(
        'POLICY_DAILY_CAP',
        `Daily cap ${formatAmount(rule.dailyCap, rule.decimals)} ${rule.symbol}: ${formatAmount(already, rule.decimals)} already co-signed in the last 24 h, and this transaction adds ${formatAmount(amount, rule.decimals)} (keyset ${policy.source.keysetId}).`,
      );
    }
  }
}

export function checkDailyCount(policy: CompiledPolicy, counters: WindowCounters): void {
  const limit = policy.source.dailyCountLimit;
  if (limit !== null && counters.signatures + 1 > limit) {
    fail('POLICY_DAILY_COUNT', `Keyset ${policy.source.keysetId} allows ${limit} signature${limit === 1 ? '' : 's'} in 24 h; this node already co-signed ${counters.signatures} in the last 24 h.`);
  }
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** Signing hours are a UTC window [start, end); a window whose end is before its start spans midnight. */
export function insideSigningHours(hours: { start: string; end: string }, now: number): boolean {
  const date = new Date(now);
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes();
  const start = minutesOf(hours.start);
  const end = minutesOf(hours.end);
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

export function checkSigningHours(policy: CompiledPolicy, now: number): void {
  const hours = policy.source.signingHours;
  if (hours && !insideSigningHours(hours, now)) {
    const at = new Date(now).toISOString().slice(11, 16);
    fail('POLICY_OUTSIDE_SIGNING_HOURS', `Keyset ${policy.source.keysetId} signs only between ${hours.start} and ${hours.end} UTC; it is ${at} UTC now.`);
  }
}

/** The assets whose amount in this transaction is above the keyset's guardian-approval threshold. */
export function aboveGuardianThreshold(perAsset: Map<string, bigint>, policy: CompiledPolicy): string[] {
  const above: string[] = [];
  for (const [asset, amount] of perAsset) {
    const rule = policy.assets.get(asset)!;
    if (rule.guardianApprovalAbove !== null && amount > rule.guardianApprovalAbove) {
      above.push(`${formatAmount(amount, rule.decimals)} ${rule.symbol} is above the guardian threshold of ${formatAmount(rule.guardianApprovalAbove, rule.decimals)} ${rule.symbol}`);
    }
  }
  return above;
}

/** "send 1.5 ETH to 0xab12…cd34; send …": the transaction in words, with the policy's asset names. */
export function describeTransaction(tx: DecodedTransaction, policy: CompiledPolicy | null): string {
  return tx.transfers.map((t) => describeTransfer(t, policy?.assets.get(t.asset))).join('; ');
}
