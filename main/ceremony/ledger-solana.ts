/**
 * The vault's Solana accounts on the Ledger. The device runs one app at a time, so this is its own
 * step after the Ethereum one: with the Solana app open, the console reads the accounts of a seed
 * made on the Ledger, or checks that a restored seed derives the recorded accounts. Only public
 * keys are read (SLIP-10 Ed25519, `m/44'/501'/i'/0'`, every level hardened as the app requires).
 */
import type { LedgerCheckView } from '../../preload/contract';
import type { LedgerDevice } from '../ledger/ledger-device';
import { solanaPath, type PlannedAddress, type PlanSize, type PublicMaterial } from './derivation-plan';
import { devicePath } from './ledger-verification';

export function solanaLabel(account: number): string {
  return account === 0 ? 'Solana vault account' : `Solana account ${account}`;
}

/** How many of the plan's Solana accounts are not in `material` yet (a Ledger seed before its Solana step). */
export function solanaAccountsMissing(plan: PlanSize, material: PublicMaterial | null): number {
  const recorded = material?.addresses.filter((a) => a.chain === 'solana').length ?? 0;
  return Math.max(0, plan.solanaAccounts - recorded);
}

export async function readDeviceSolana(ledger: LedgerDevice, plan: PlanSize): Promise<PlannedAddress[]> {
  const accounts: PlannedAddress[] = [];
  for (let account = 0; account < plan.solanaAccounts; account += 1) {
    const path = solanaPath(account);
    accounts.push({ chain: 'solana', index: account, path, label: solanaLabel(account), address: await ledger.getSolanaAddress(devicePath(path)) });
  }
  return accounts;
}

/** Each recorded Solana account against what the Solana app on the connected Ledger derives. */
export async function compareSolanaWithDevice(ledger: LedgerDevice, expected: PublicMaterial): Promise<LedgerCheckView[]> {
  const checks: LedgerCheckView[] = [];
  for (const a of expected.addresses.filter((x) => x.chain === 'solana')) {
    const found = await ledger.getSolanaAddress(devicePath(a.path));
    checks.push({ path: a.path, expected: a.address, found, matches: found === a.address });
  }
  return checks;
}

export const isSolanaCheck = (check: LedgerCheckView) => check.path.startsWith("m/44'/501'");
