/**
 * The Ledger side of a ceremony: reading the public material a Ledger derives (for a seed made on
 * the device) and checking that a Ledger derives exactly the recorded addresses and xpub (for a
 * seed restored onto it, or a replacement device after a recovery). Only public keys are read.
 */
import { getBytes, SigningKey } from 'ethers';
import type { LedgerCheckView, PlannedAddressView } from '../../preload/contract';
import { fail } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import { EVM_ACCOUNT_PATH, evmLabel, evmPath, planIndices, xpubFromDevice, type PlanSize, type PublicMaterial } from './derivation-plan';

/** hw-app-eth takes paths without the leading "m/". */
export const devicePath = (path: string) => path.replace(/^m\//, '');

const compressed = (uncompressedHex: string) => getBytes(SigningKey.computePublicKey(`0x${uncompressedHex.replace(/^0x/, '')}`, true));

export async function readDeviceXpub(ledger: LedgerDevice): Promise<string> {
  const parent = await ledger.getPublicKey(devicePath("m/44'/60'"));
  const account = await ledger.getPublicKey(devicePath(EVM_ACCOUNT_PATH), { chainCode: true });
  if (!account.chainCode) fail('LEDGER_ERROR', 'The Ledger did not return the chain code of the account key. Update the Ethereum app, then try again.');
  return xpubFromDevice(compressed(parent.publicKey), compressed(account.publicKey), getBytes(`0x${account.chainCode}`));
}

/** The EVM public material of the seed on the device (its Solana keys need the Solana app and are not read). */
export async function readDeviceMaterial(ledger: LedgerDevice, size: PlanSize): Promise<PublicMaterial> {
  const addresses: PlannedAddressView[] = [];
  for (const index of planIndices(size)) {
    const path = evmPath(index);
    addresses.push({ chain: 'evm', index, path, label: evmLabel(index), address: (await ledger.getPublicKey(devicePath(path))).address });
  }
  return { evmAccountXpub: await readDeviceXpub(ledger), addresses };
}

/**
 * Compares every recorded EVM address and the account xpub with what the connected Ledger
 * derives. Returns the checks; the caller refuses on any mismatch.
 */
export async function compareWithDevice(ledger: LedgerDevice, expected: PublicMaterial): Promise<LedgerCheckView[]> {
  const checks: LedgerCheckView[] = [];
  for (const a of expected.addresses.filter((x) => x.chain === 'evm')) {
    const found = (await ledger.getPublicKey(devicePath(a.path))).address;
    checks.push({ path: a.path, expected: a.address, found, matches: found === a.address });
  }
  const xpub = await readDeviceXpub(ledger);
  checks.push({ path: `${EVM_ACCOUNT_PATH} (xpub)`, expected: expected.evmAccountXpub, found: xpub, matches: xpub === expected.evmAccountXpub });
  return checks;
}

export function refuseMismatch(checks: LedgerCheckView[]): void {
  const bad = checks.filter((c) => !c.matches);
  if (bad.length > 0) {
    fail('LEDGER_SEED_MISMATCH', `This Ledger holds a different seed: at ${bad[0]!.path} it derives ${bad[0]!.found}, the ceremony expects ${bad[0]!.expected} (${bad.length} of ${checks.length} checks differ). Restore the ceremony's words onto the device, or connect the right Ledger, then verify again.`, { mismatches: bad.length, checks: checks.length });
  }
}
