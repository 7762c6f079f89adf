/**
 * A transaction in words for the review screen: chain and network, from, to (with what the
 * allowlist says of it), amount in units with the token's symbol, fee cap, nonce, and what the
 * data does. Reads the raw payload itself (not only through the co-signing decoder), so calldata
 * the decoder refuses is still described ("contract call, 4-byte selector 0x…, N bytes") with a
 * warning rather than hidden.
 */
import { formatUnits, getAddress, getBytes, Interface, Transaction } from 'ethers';
import { ComputeBudgetProgram, PublicKey, SystemInstruction, SystemProgram, TransactionInstruction, VersionedMessage } from '@solana/web3.js';
import { decodeInstruction, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, TokenInstruction } from '@solana/spl-token';
import type { TransactionReviewView, TransferView } from '../../preload/contract';
import { sameAddress } from '../policy/amounts';
import type { CompiledPolicy } from '../policy/policy-store';
import { formatAmount, type ChainRef } from './transaction';

const ERC20 = new Interface(['function transfer(address to, uint256 amount)']);
const ERC20_TRANSFER_SELECTOR = ERC20.getFunction('transfer')!.selector;

const EVM_NETWORKS: Record<number, string> = {
  1: 'Ethereum mainnet',
  10: 'OP Mainnet',
  56: 'BNB Smart Chain',
  137: 'Polygon PoS',
  8453: 'Base',
  42161: 'Arbitrum One',
  11155111: 'Sepolia testnet',
  17000: 'Holesky testnet',
  31337: 'local development chain',
};

export interface ReviewContext {
  keysetId: string;
  keysetAddress: string | null;
  policy: CompiledPolicy | null;
}

interface Ctx extends ReviewContext {
  chainKind: 'evm' | 'solana';
}

export function describeNetwork(chain: ChainRef): string {
  if (chain.kind === 'evm') return `${EVM_NETWORKS[chain.chainId] ?? 'EVM network'} (EVM chain id ${chain.chainId})`;
  return `Solana ${chain.cluster}`;
}

/** The chain's own coin when the policy does not name it: its decimals are fixed by the chain. */
const NATIVE = { evm: { symbol: 'ETH (native coin)', decimals: 18 }, solana: { symbol: 'SOL', decimals: 9 } } as const;

function amountOf(asset: string, amount: bigint, ctx: Ctx, statedDecimals: number | null = null): { symbol: string; amount: string } {
  const rule = ctx.policy?.assets.get(asset) ?? (asset === 'native' ? NATIVE[ctx.chainKind] : undefined);
  if (rule) return { symbol: rule.symbol, amount: formatAmount(amount, rule.decimals) };
  if (statedDecimals !== null) return { symbol: `units of ${asset}`, amount: formatAmount(amount, statedDecimals) };
  return { symbol: `base units of ${asset} (not in this keyset's policy)`, amount: amount.toString() };
}

function transferView(asset: string, amount: bigint, destination: string, ctx: Ctx, statedDecimals: number | null = null): TransferView {
  const listed = ctx.policy?.source.allowlist.find((a) => sameAddress(a, destination));
  // The label is looked up by the allowlisted entry, so only a listed destination can carry one.
  const name = listed === undefined ? null : (Object.entries(ctx.policy?.source.allowlistLabels ?? {}).find(([address]) => sameAddress(address, listed))?.[1] ?? null);
  return { asset, destination, ...amountOf(asset, amount, ctx, statedDecimals), allowlistLabel: listed !== undefined ? `on the allowlist of keyset ${ctx.keysetId}` : null, allowlistName: name };
}

function from(ctx: ReviewContext): string {
  return `keyset ${ctx.keysetId} (${ctx.keysetAddress ?? 'no address'})`;
}

export function reviewTransaction(chain: ChainRef, payload: string, ctx: ReviewContext): TransactionReviewView {
  try {
    const full: Ctx = { ...ctx, chainKind: chain.kind };
    return chain.kind === 'evm' ? reviewEvm(chain, payload, full) : reviewSolana(chain, payload, full);
  } catch {
    return { chain: describeNetwork(chain), from: from(ctx), transfers: [], feeCap: null, nonce: null, data: 'unreadable payload', instructions: [], warnings: ['The payload does not parse as a transaction of this chain. Do not approve it.'] };
  }
}

function reviewEvm(chain: Extract<ChainRef, { kind: 'evm' }>, payload: string, ctx: Ctx): TransactionReviewView {
  const tx = Transaction.from(payload);
  const warnings: string[] = [];
  const transfers: TransferView[] = [];
  const to = tx.to ? getAddress(tx.to) : null;
  if (!to) warnings.push('This transaction creates a contract; this node co-signs transfers only.');
  if (to && tx.value > 0n) transfers.push(transferView('native', tx.value, to, ctx));
  if (Number(tx.chainId) !== chain.chainId) warnings.push(`The transaction names EVM chain ${tx.chainId}, the permit chain ${chain.chainId}.`);
  let data = 'none (plain transfer)';
  const bytes = getBytes(tx.data);
  if (bytes.length > 0 && to) {
    const selector = tx.data.slice(0, 10).toLowerCase();
    let decoded: { recipient: string; amount: bigint } | null = null;
    if (selector === ERC20_TRANSFER_SELECTOR) {
      try {
        const args = ERC20.decodeFunctionData('transfer', tx.data);
        decoded = { recipient: getAddress(String(args[0])), amount: BigInt(args[1] as bigint) };
      } catch {
        decoded = null;
      }
    }
    if (decoded) {
      const token = transferView(`erc20:${to.toLowerCase()}`, decoded.amount, decoded.recipient, ctx);
      transfers.push(token);
      data = `ERC-20 transfer of ${token.amount} ${token.symbol} (token contract ${to}) to ${decoded.recipient}`;
    } else {
      data = `contract call, 4-byte selector ${bytes.length >= 4 ? selector : '(none)'}, ${bytes.length} bytes`;
      warnings.push(`Contract ${to} is called with data this console cannot read. It may move funds in ways not shown here.`);
    }
  }
  const fee = tx.type === 2 ? tx.maxFeePerGas! * tx.gasLimit : (tx.gasPrice ?? 0n) * tx.gasLimit;
  const perGas = tx.type === 2 ? `max ${formatUnits(tx.maxFeePerGas!, 'gwei')} gwei/gas (priority ${formatUnits(tx.maxPriorityFeePerGas!, 'gwei')})` : `${formatUnits(tx.gasPrice ?? 0n, 'gwei')} gwei/gas`;
  const nativeSymbol = ctx.policy?.assets.get('native')?.symbol ?? 'native units';
  return {
    chain: describeNetwork(chain),
    from: from(ctx),
    transfers,
    feeCap: `${formatAmount(fee, 18)} ${nativeSymbol} at most (gas limit ${tx.gasLimit}, ${perGas})`,
    nonce: tx.nonce.toString(),
    data,
    instructions: [],
    warnings: [...warnings, ...transfers.filter((t) => !t.allowlistLabel).map((t) => `Destination ${t.destination} is not on the allowlist of keyset ${ctx.keysetId}.`)],
  };
}

function reviewSolana(chain: Extract<ChainRef, { kind: 'solana' }>, payload: string, ctx: Ctx): TransactionReviewView {
  const message = VersionedMessage.deserialize(Buffer.from(payload, 'base64'));
  const keys = message.staticAccountKeys;
  const transfers: TransferView[] = [];
  const instructions: string[] = [];
  const warnings: string[] = [];
  if (message.addressTableLookups.length > 0) warnings.push('The message uses address lookup tables whose accounts cannot be shown offline.');
  for (const compiled of message.compiledInstructions) {
    const programId = keys[compiled.programIdIndex]!;
    const instruction = new TransactionInstruction({
      programId,
      data: Buffer.from(compiled.data),
      keys: compiled.accountKeyIndexes.map((i) => ({ pubkey: keys[i] ?? PublicKey.default, isSigner: message.isAccountSigner(i), isWritable: message.isAccountWritable(i) })),
    });
    instructions.push(describeSolanaInstruction(instruction, ctx, transfers, warnings));
  }
  const fee = `${formatAmount(5_000n * BigInt(message.header.numRequiredSignatures), 9)} SOL base fee (${message.header.numRequiredSignatures} signature${message.header.numRequiredSignatures === 1 ? '' : 's'})`;
  return {
    chain: describeNetwork(chain),
    from: from(ctx),
    transfers,
    feeCap: fee,
    nonce: `recent blockhash ${message.recentBlockhash}`,
    data: `${instructions.length} instruction${instructions.length === 1 ? '' : 's'}`,
    instructions,
    warnings: [...warnings, ...transfers.filter((t) => !t.allowlistLabel).map((t) => `Destination ${t.destination} is not on the allowlist of keyset ${ctx.keysetId}.`)],
  };
}

function describeSolanaInstruction(instruction: TransactionInstruction, ctx: Ctx, transfers: TransferView[], warnings: string[]): string {
  const programId = instruction.programId;
  try {
    if (programId.equals(ComputeBudgetProgram.programId)) return 'Compute budget setting (moves no value)';
    if (programId.equals(SystemProgram.programId) && SystemInstruction.decodeInstructionType(instruction) === 'Transfer') {
      const t = SystemInstruction.decodeTransfer(instruction);
      const view = transferView('native', BigInt(t.lamports), t.toPubkey.toBase58(), ctx);
      transfers.push(view);
      return `System transfer: ${view.amount} ${view.symbol} from ${t.fromPubkey.toBase58()} to ${t.toPubkey.toBase58()}`;
    }
    if (programId.equals(TOKEN_PROGRAM_ID) || programId.equals(TOKEN_2022_PROGRAM_ID)) {
      const decoded = decodeInstruction(instruction, programId);
      if (decoded.data.instruction === TokenInstruction.TransferChecked) {
        const d = decoded as Extract<typeof decoded, { data: { instruction: TokenInstruction.TransferChecked } }>;
        const mint = d.keys.mint.pubkey.toBase58();
        const view = transferView(`spl:${mint}`, BigInt(d.data.amount), d.keys.destination.pubkey.toBase58(), ctx, d.data.decimals);
        transfers.push(view);
        return `SPL transfer: ${view.amount} ${view.symbol} (mint ${mint}, ${d.data.decimals} decimals) to token account ${view.destination}, authority ${d.keys.owner.pubkey.toBase58()}`;
      }
    }
  } catch {
    // falls through to the unread description
  }
  warnings.push(`An instruction of program ${programId.toBase58()} cannot be read by this console.`);
  return `Unread instruction of program ${programId.toBase58()}, ${instruction.data.length} bytes of data`;
}
