/**
 * What this node reads out of a transaction before it co-signs it: the exact bytes the engine
 * signs, the hash the permit must name, and every value transfer in it. Decoders refuse anything
 * they cannot read completely, so policy never judges a transaction by a part of it.
 */
import { formatUnits } from 'ethers';

export type ChainRef = { kind: 'evm'; chainId: number } | { kind: 'solana'; cluster: SolanaCluster };
export const SOLANA_CLUSTERS = ['mainnet-beta', 'testnet', 'devnet', 'localnet'] as const;
export type SolanaCluster = (typeof SOLANA_CLUSTERS)[number];

export type TransactionKind = 'eip1559' | 'legacy' | 'erc20' | 'sol' | 'spl';

/** One movement of value. `asset` is a policy asset key: "native", "erc20:0x…", "spl:<mint>". */
export interface Transfer {
  asset: string;
  /** Recipient address (EVM) or recipient token/system account (Solana). */
  destination: string;
  /** In the asset's smallest unit. */
  amount: bigint;
  /** The account whose funds move (Solana: the signing authority); null on EVM, where it is the signer. */
  source: string | null;
  /** Decimals stated by the transaction itself (SPL TransferChecked), else null. */
  decimals: number | null;
}

export interface DecodedTransaction {
  chain: 'evm' | 'solana';
  kind: TransactionKind;
  /** "0x" + 64 lower-case hex: keccak256 (EVM) or sha256 (Solana) of `signingPreimage`. */
  txHash: string;
  /** Exactly what the threshold engine signs over: EVM unsigned serialization, Solana message bytes. */
  signingPreimage: Buffer;
  /** EVM chain id from the transaction, null for Solana (a message does not name its cluster). */
  evmChainId: number | null;
  transfers: Transfer[];
}

/** "0xab12…cd34": enough of an address to recognize, short enough to read aloud. */
export function shortAddress(address: string): string {
  return address.length > 14 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** "1,234.5": an amount in the asset's units with thousands grouped; exact, no floats. */
export function formatAmount(amount: bigint, decimals: number): string {
  const text = formatUnits(amount, decimals);
  const [whole = '0', fraction = ''] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const trimmed = fraction.replace(/0+$/, '');
  return trimmed ? `${grouped}.${trimmed}` : grouped;
}

export interface AssetLabel {
  symbol: string;
  decimals: number;
}

/** "send 1.5 ETH to 0xab12…cd34"; an asset this node has no name for is shown by its key and raw units. */
export function describeTransfer(transfer: Transfer, label: AssetLabel | undefined): string {
  const amount = label ? `${formatAmount(transfer.amount, label.decimals)} ${label.symbol}` : `${transfer.amount} base units of ${transfer.asset}`;
  return `send ${amount} to ${shortAddress(transfer.destination)}`;
}
