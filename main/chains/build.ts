/**
 * Builds unsigned transactions for the online side's issuer tool and for tests: EVM EIP-1559,
 * legacy with a chain id (EIP-155) and ERC-20 transfers; Solana SOL and SPL TransferChecked.
 * The result is the permit payload: unsigned EVM serialization as 0x-hex, Solana message base64.
 */
import { getAddress, Interface, Transaction } from 'ethers';
import { PublicKey, SystemProgram, TransactionMessage } from '@solana/web3.js';
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';

const ERC20 = new Interface(['function transfer(address to, uint256 amount)']);

export interface EvmTransferInput {
  type: 'eip1559' | 'legacy' | 'erc20';
  chainId: number;
  nonce: number;
  /** Recipient (native) or token recipient (ERC-20). */
  to: string;
  /** Wei (native) or token base units (ERC-20). */
  amount: bigint;
  /** ERC-20 contract, for type erc20. */
  token?: string;
  gasLimit?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  gasPrice?: bigint;
}

export function buildEvmTransfer(input: EvmTransferInput): string {
  const erc20 = input.type === 'erc20';
  if (erc20 && !input.token) throw new Error('an ERC-20 transfer needs the token contract address');
  const tx = Transaction.from({
    type: input.type === 'legacy' ? 0 : 2,
    chainId: input.chainId,
    nonce: input.nonce,
    to: erc20 ? getAddress(input.token!) : getAddress(input.to),
    value: erc20 ? 0n : input.amount,
    data: erc20 ? ERC20.encodeFunctionData('transfer', [getAddress(input.to), input.amount]) : '0x',
    gasLimit: input.gasLimit ?? (erc20 ? 65_000n : 21_000n),
    ...(input.type === 'legacy'
      ? { gasPrice: input.gasPrice ?? 20_000_000_000n }
      : { maxFeePerGas: input.maxFeePerGas ?? 30_000_000_000n, maxPriorityFeePerGas: input.maxPriorityFeePerGas ?? 1_000_000_000n }),
  });
  return tx.unsignedSerialized;
}

export interface SolanaTransferInput {
  type: 'sol' | 'spl';
  /** The keyset's address: fee payer and owner of the funds. */
  from: string;
  /** Recipient wallet (SOL) or recipient wallet whose associated token account receives (SPL). */
  to: string;
  /** Lamports (SOL) or token base units (SPL). */
  amount: bigint;
  recentBlockhash: string;
  mint?: string;
  decimals?: number;
}

export function buildSolanaTransfer(input: SolanaTransferInput): string {
  const from = new PublicKey(input.from);
  const to = new PublicKey(input.to);
  let instruction;
  if (input.type === 'sol') {
    instruction = SystemProgram.transfer({ fromPubkey: from, toPubkey: to, lamports: input.amount });
  } else {
    if (!input.mint || input.decimals === undefined) throw new Error('an SPL transfer needs the mint and its decimals');
    const mint = new PublicKey(input.mint);
    const source = getAssociatedTokenAddressSync(mint, from, true);
    const destination = getAssociatedTokenAddressSync(mint, to, true);
    instruction = createTransferCheckedInstruction(source, mint, destination, from, input.amount, input.decimals);
  }
  const message = new TransactionMessage({ payerKey: from, recentBlockhash: input.recentBlockhash, instructions: [instruction] }).compileToLegacyMessage();
  return Buffer.from(message.serialize()).toString('base64');
}

/** The associated token account an SPL transfer to `owner` pays into (what allowlists name for SPL). */
export function associatedTokenAccount(mint: string, owner: string): string {
  return getAssociatedTokenAddressSync(new PublicKey(mint), new PublicKey(owner), true).toBase58();
}
