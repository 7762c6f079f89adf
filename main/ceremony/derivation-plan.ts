/**
 * The vault's derivation plan (seed 001 for EVM, seed 002 for Solana) and the public material it
 * yields from a BIP39 seed. Only public values leave this module: addresses and the account xpub.
 *
 *   EVM    m/44'/60'/0'/0/i   i = 0 master wallet, 1–254 user wallets, 255 signing wallet
 *   Solana m/44'/501'/i'/0'   SLIP-10 Ed25519 (all levels hardened), i = 0 the vault account
 */
import { HDKey } from '@scure/bip32';
import { HDKey as Slip10Key } from 'micro-key-producer/slip10.js';
import { base58 } from '@scure/base';
import { computeAddress, hexlify } from 'ethers';

export const MASTER_WALLET_INDEX = 0;
export const FIRST_USER_INDEX = 1;
export const LAST_USER_INDEX = 254;
export const SIGNING_WALLET_INDEX = 255;
/** The account whose xpub the ceremony records: m/44'/60'/0' (parent of every EVM path). */
export const EVM_ACCOUNT_PATH = "m/44'/60'/0'";

export type EvmRole = 'master' | 'user' | 'signing';

export function evmPath(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > SIGNING_WALLET_INDEX) throw new RangeError(`EVM wallet index ${index} is outside 0–255`);
  return `m/44'/60'/0'/0/${index}`;
}

export function solanaPath(account: number): string {
  if (!Number.isInteger(account) || account < 0 || account >= 2 ** 31) throw new RangeError(`Solana account ${account} is outside 0–2^31`);
  return `m/44'/501'/${account}'/0'`;
}

export function evmRole(index: number): EvmRole {
  if (index === MASTER_WALLET_INDEX) return 'master';
  if (index === SIGNING_WALLET_INDEX) return 'signing';
  return 'user';
}

export function evmLabel(index: number): string {
  const role = evmRole(index);
  if (role === 'master') return 'Master wallet (cold storage)';
  if (role === 'signing') return 'Signing wallet (service)';
  return `User wallet ${index}`;
}

export interface PlannedAddress {
  chain: 'evm' | 'solana';
  index: number;
  path: string;
  label: string;
  address: string;
}

export interface PublicMaterial {
  /** xpub of m/44'/60'/0' (standard BIP32 serialization, mainnet version bytes). */
  evmAccountXpub: string;
  addresses: PlannedAddress[];
}

/** Which addresses a ceremony records: the master and signing wallets, and the first user wallets. */
export interface PlanSize {
  userWallets: number;
  solanaAccounts: number;
}

export const DEFAULT_PLAN: PlanSize = { userWallets: 3, solanaAccounts: 1 };

export function planIndices(size: PlanSize): number[] {
  const users = Array.from({ length: Math.min(size.userWallets, LAST_USER_INDEX) }, (_, i) => FIRST_USER_INDEX + i);
  return [MASTER_WALLET_INDEX, ...users, SIGNING_WALLET_INDEX];
}

export function evmAddress(root: HDKey, index: number): string {
  const node = root.derive(evmPath(index));
  return computeAddress(hexlify(node.publicKey!));
}

export function solanaAddress(seed: Uint8Array, account: number): string {
  const node = Slip10Key.fromMasterSeed(seed).derive(solanaPath(account));
  return base58.encode(node.publicKeyRaw);
}

/** Public material of a BIP39 seed (64 bytes) under the plan. The seed stays with the caller. */
export function derivePublicMaterial(seed: Uint8Array, size: PlanSize = DEFAULT_PLAN): PublicMaterial {
  const root = HDKey.fromMasterSeed(seed);
  const evm = planIndices(size).map((index) => ({ chain: 'evm' as const, index, path: evmPath(index), label: evmLabel(index), address: evmAddress(root, index) }));
  const solana = Array.from({ length: size.solanaAccounts }, (_, account) => ({
    chain: 'solana' as const,
    index: account,
    path: solanaPath(account),
    label: account === 0 ? 'Solana vault account' : `Solana account ${account}`, // see solanaLabel in ledger-solana.ts
    address: solanaAddress(seed, account),
  }));
  return { evmAccountXpub: root.derive(EVM_ACCOUNT_PATH).publicExtendedKey, addresses: [...evm, ...solana] };
}

/**
 * The account xpub from what a Ledger reports for m/44'/60' (parent) and m/44'/60'/0' (account):
 * compressed public keys and the account chain code, serialized as BIP32 does.
 */
export function xpubFromDevice(parentPublicKey: Uint8Array, accountPublicKey: Uint8Array, accountChainCode: Uint8Array): string {
  const parent = new HDKey({ publicKey: parentPublicKey, chainCode: new Uint8Array(32), depth: 2, index: 0, parentFingerprint: 0 });
  const account = new HDKey({ publicKey: accountPublicKey, chainCode: accountChainCode, depth: 3, index: 0x80000000, parentFingerprint: parent.fingerprint });
  return account.publicExtendedKey;
}
