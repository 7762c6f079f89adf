/** Amounts in an asset's units as decimal strings, converted exactly to base units (no floats). */
import { parseUnits } from 'ethers';
import { fail } from '../errors';

export function toBaseUnits(amount: string, decimals: number, what: string): bigint {
  if (!/^\d{1,30}(\.\d{1,36})?$/.test(amount)) fail('POLICY_INVALID', `${what}: "${amount}" is not a decimal amount such as 1.5.`);
  const fraction = amount.split('.')[1] ?? '';
  if (fraction.length > decimals) fail('POLICY_INVALID', `${what}: ${amount} has ${fraction.length} decimal places; the asset has only ${decimals}.`);
  return parseUnits(amount, decimals);
}

/** EVM addresses compare without case (checksums differ only in case); everything else exactly. */
export function sameAddress(a: string, b: string): boolean {
  if (/^0x[0-9a-fA-F]{40}$/.test(a) && /^0x[0-9a-fA-F]{40}$/.test(b)) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}
