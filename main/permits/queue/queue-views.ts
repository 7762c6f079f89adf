/**
 * What the queue and review screens show of a queued permit: amounts in the asset's units with
 * the policy's symbol, destinations, guardian threshold, daily-cap headroom after this permit.
 * Built from the stored signed permit and this node's own policy; nothing here decides anything.
 */
import type { AssetAmountView, HeadroomView, QueueItemView, SigningProgressView } from '../../../preload/contract';
import { decodePayload, describeChain } from '../../chains/payload';
import { formatAmount, type DecodedTransaction } from '../../chains/transaction';
import { aboveGuardianThreshold, amountsPerAsset, describeTransaction, windowCounters } from '../../policy/policy-checks';
import type { CompiledPolicy, PolicyStore } from '../../policy/policy-store';
import type { PermitApprovals } from '../permit-approvals';
import type { SignedPermit } from '../permit-format';
import type { QueueRow } from './queue-store';

export interface ViewDeps {
  policy: PolicyStore;
  approvals: PermitApprovals;
  progress: (permitId: string) => SigningProgressView | null;
}

export function signedPermitOf(row: QueueRow): SignedPermit {
  return JSON.parse(row.signed_permit) as SignedPermit;
}

function decoded(signed: SignedPermit): DecodedTransaction | null {
  try {
    return decodePayload(signed.permit.chain, signed.permit.payload);
  } catch {
    return null;
  }
}

export function amountViews(perAsset: Map<string, bigint>, policy: CompiledPolicy | null): AssetAmountView[] {
  return [...perAsset].map(([asset, amount]) => {
    const rule = policy?.assets.get(asset);
    return rule ? { asset, symbol: rule.symbol, amount: formatAmount(amount, rule.decimals) } : { asset, symbol: `base units of ${asset}`, amount: amount.toString() };
  });
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function itemView(row: QueueRow, deps: ViewDeps): QueueItemView {
  const signed = signedPermitOf(row);
  const tx = decoded(signed);
  const policy = deps.policy.policyFor(row.keyset_id);
  const perAsset = tx ? amountsPerAsset(tx) : new Map<string, bigint>();
  return {
    permitId: row.permit_id,
    txRequestId: signed.permit.txRequestId,
    keysetId: row.keyset_id,
    chain: describeChain(signed.permit.chain),
    state: row.state,
    reason: row.reason,
    source: row.source,
    issuedAt: iso(row.issued_at)!,
    expiresAt: iso(row.expires_at)!,
    importedAt: iso(row.imported_at)!,
    approvedBy: row.approved_by,
    summary: tx ? describeTransaction(tx, policy) : 'unreadable transaction',
    amounts: amountViews(perAsset, policy),
    destinations: tx ? [...new Set(tx.transfers.map((t) => t.destination))] : [],
    guardianReasons: policy ? aboveGuardianThreshold(new Map([...perAsset].filter(([a]) => policy.assets.has(a))), policy) : [],
    guardianApproved: deps.approvals.guardianApproved(row.permit_id, row.tx_hash),
    progress: deps.progress(row.permit_id),
    signedTxHash: row.signed_tx_hash,
    exportFile: row.export_file,
  };
}

/** Daily cap per asset: co-signed in the last 24 h before this permit, after it, and what is left. */
export function headroomAfter(tx: DecodedTransaction, keysetId: string, store: PolicyStore, now: number): HeadroomView[] {
  const policy = store.policyFor(keysetId);
  if (!policy) return [];
  const counters = windowCounters(store, keysetId, now);
  return [...amountsPerAsset(tx)].flatMap(([asset, amount]) => {
    const rule = policy.assets.get(asset);
    if (!rule) return [];
    const before = counters.perAsset.get(asset) ?? 0n;
    const after = before + amount;
    const left = rule.dailyCap === null ? null : rule.dailyCap - after;
    return [{
      symbol: rule.symbol,
      dailyCap: rule.dailyCap === null ? null : formatAmount(rule.dailyCap, rule.decimals),
      usedBefore: formatAmount(before, rule.decimals),
      usedAfter: formatAmount(after, rule.decimals),
      leftAfter: left === null ? null : left < 0n ? `-${formatAmount(-left, rule.decimals)}` : formatAmount(left, rule.decimals),
    }];
  });
}

/** Sums per asset (and per destination) over a set of permits, with the policy's symbols. */
export function totalsOf(rows: QueueRow[], store: PolicyStore): { perAsset: Array<AssetAmountView & { count: number }>; perDestination: Array<AssetAmountView & { destination: string }> } {
  const assets = new Map<string, { amount: bigint; count: number; policy: CompiledPolicy | null }>();
  const destinations = new Map<string, { asset: string; destination: string; amount: bigint; policy: CompiledPolicy | null }>();
  for (const row of rows) {
    const tx = decoded(signedPermitOf(row));
    if (!tx) continue;
    const policy = store.policyFor(row.keyset_id);
    for (const t of tx.transfers) {
      // Same asset key on two keysets is the same asset only when both policies name it alike.
      const symbol = policy?.assets.get(t.asset)?.symbol ?? t.asset;
      const key = `${t.asset}|${symbol}`;
      const a = assets.get(key) ?? { amount: 0n, count: 0, policy };
      a.amount += t.amount;
      a.count += 1;
      assets.set(key, a);
      const dkey = `${key}|${t.destination}`;
      const d = destinations.get(dkey) ?? { asset: t.asset, destination: t.destination, amount: 0n, policy };
      d.amount += t.amount;
      destinations.set(dkey, d);
    }
  }
  return {
    perAsset: [...assets].map(([key, a]) => ({ ...amountViews(new Map([[key.split('|')[0]!, a.amount]]), a.policy)[0]!, count: a.count })),
    perDestination: [...destinations.values()].map((d) => ({ ...amountViews(new Map([[d.asset, d.amount]]), d.policy)[0]!, destination: d.destination })),
  };
}
