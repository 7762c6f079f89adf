/**
 * Solana payloads: the permit carries the serialized message, base64. The EdDSA engine signs
 * exactly those message bytes. Solana has no transaction hash before signing (the id is the
 * first signature), so the permit's tx hash for Solana is defined here as "0x" + sha256 of the
 * message bytes, hex: it names exactly the bytes signed.
 */
import { createHash } from 'node:crypto';
import { ComputeBudgetProgram, PublicKey, SystemInstruction, SystemProgram, TransactionInstruction, VersionedMessage } from '@solana/web3.js';
import { decodeInstruction, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, TokenInstruction } from '@solana/spl-token';
import { fail } from '../errors';
import type { DecodedTransaction, Transfer, TransactionKind } from './transaction';

const MAX_MESSAGE_BYTES = 1232; // a Solana packet

function refuse(reason: string): never {
  fail('PERMIT_PAYLOAD_INVALID', `The Solana message in the permit cannot be co-signed: ${reason}.`);
}

export function solanaTxHash(message: Uint8Array): string {
  return `0x${createHash('sha256').update(message).digest('hex')}`;
}

export function decodeSolanaPayload(payloadBase64: string): DecodedTransaction {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(payloadBase64)) refuse('the payload is not base64');
  const bytes = Buffer.from(payloadBase64, 'base64');
  // One encoding only: base64 with other padding bits would name the same bytes twice.
  if (bytes.toString('base64') !== payloadBase64) refuse('the payload is not in canonical base64');
  if (bytes.length > MAX_MESSAGE_BYTES) refuse(`it is ${bytes.length} bytes, more than a Solana transaction can hold`);
  let message: VersionedMessage;
  try {
    message = VersionedMessage.deserialize(bytes);
  } catch {
    refuse('it does not parse as a Solana message');
  }
  if (Buffer.compare(Buffer.from(message.serialize()), bytes) !== 0) refuse('it has bytes after the message or is not in canonical encoding');
  if (message.addressTableLookups.length > 0) refuse('it uses address lookup tables, whose accounts this node cannot see offline');
  const keys = message.staticAccountKeys;
  const transfers: Transfer[] = [];
  let kind: TransactionKind | null = null;
  for (const compiled of message.compiledInstructions) {
    const programId = keys[compiled.programIdIndex];
    if (!programId) refuse('an instruction names a program outside the account list');
    const instruction = new TransactionInstruction({
      programId,
      data: Buffer.from(compiled.data),
      keys: compiled.accountKeyIndexes.map((index) => {
        const pubkey = keys[index];
        if (!pubkey) refuse('an instruction names an account outside the account list');
        return { pubkey, isSigner: message.isAccountSigner(index), isWritable: message.isAccountWritable(index) };
      }),
    });
    if (programId.equals(ComputeBudgetProgram.programId)) continue; // fee settings move no value
    if (programId.equals(SystemProgram.programId)) {
      transfers.push(systemTransfer(instruction));
      kind ??= 'sol';
      continue;
    }
    if (programId.equals(TOKEN_PROGRAM_ID) || programId.equals(TOKEN_2022_PROGRAM_ID)) {
      transfers.push(tokenTransfer(instruction, programId));
      kind = 'spl';
      continue;
    }
    refuse(`it calls program ${programId.toBase58()}, which this node cannot read (only SOL and SPL token transfers)`);
  }
  if (!kind || transfers.length === 0) refuse('it moves no value');
  return { chain: 'solana', kind, txHash: solanaTxHash(bytes), signingPreimage: bytes, evmChainId: null, transfers };
}

function systemTransfer(instruction: TransactionInstruction): Transfer {
  let type: string;
  try {
    type = SystemInstruction.decodeInstructionType(instruction);
  } catch {
    refuse('a System Program instruction is malformed');
  }
  if (type !== 'Transfer') refuse(`a System Program "${type}" instruction is not a plain SOL transfer`);
  const { fromPubkey, toPubkey, lamports } = SystemInstruction.decodeTransfer(instruction);
  return { asset: 'native', destination: toPubkey.toBase58(), amount: BigInt(lamports), source: fromPubkey.toBase58(), decimals: null };
}

function tokenTransfer(instruction: TransactionInstruction, programId: PublicKey): Transfer {
  let decoded: ReturnType<typeof decodeInstruction>;
  try {
    decoded = decodeInstruction(instruction, programId);
  } catch {
    refuse('an SPL token instruction is malformed or not a transfer');
  }
  if (decoded.data.instruction === TokenInstruction.TransferChecked) {
    const d = decoded as Extract<typeof decoded, { data: { instruction: TokenInstruction.TransferChecked } }>;
    if (d.keys.multiSigners.length > 0) refuse('a multisig token authority is not supported');
    return { asset: `spl:${d.keys.mint.pubkey.toBase58()}`, destination: d.keys.destination.pubkey.toBase58(), amount: BigInt(d.data.amount), source: d.keys.owner.pubkey.toBase58(), decimals: d.data.decimals };
  }
  if (decoded.data.instruction === TokenInstruction.Transfer) {
    // A plain Transfer does not name the mint, so its asset cannot be known offline.
    refuse('an SPL Transfer does not name its token mint; use TransferChecked so the asset and decimals are stated');
  }
  refuse(`SPL token instruction ${decoded.data.instruction} is not a transfer`);
}
