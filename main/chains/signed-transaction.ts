/**
 * The signed raw transaction the online side broadcasts, assembled from the permit's payload and
 * the cluster's combined signature: EVM → RLP serialization with r, s and y-parity (ethers), its
 * hash the transaction id; Solana → wire transaction (message + signature), base64, its id the
 * first signature in base58 (@solana/web3.js). The result is checked before it is returned: the
 * EVM sender recovers to the keyset address, the Solana signature verifies for the fee payer.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeBase58, getAddress, Signature, Transaction } from 'ethers';
import { PublicKey, VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { fail } from '../errors';
import type { ChainRef } from './transaction';

export interface SignedTransaction {
  encoding: 'hex' | 'base64';
  /** EVM: 0x-hex RLP; Solana: base64 wire transaction. */
  raw: string;
  /** EVM: keccak256 of the signed serialization; Solana: the signature in base58 (the transaction id). */
  hash: string;
}

export function assembleSignedTransaction(chain: ChainRef, payload: string, signatureHex: string, recoveryId: number | null, keysetAddress: string | null): SignedTransaction {
  const sig = Buffer.from(signatureHex, 'hex');
  if (sig.length !== 64) fail('MPC_RESULT_INVALID', `The signature is ${sig.length} bytes, not 64; it cannot complete the transaction.`);
  if (chain.kind === 'evm') {
    if (recoveryId !== 0 && recoveryId !== 1) fail('MPC_RESULT_INVALID', 'The ECDSA signature carries no recovery id; the transaction cannot be completed.');
    const tx = Transaction.from(payload);
    tx.signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, v: 27 + recoveryId });
    if (!keysetAddress || !tx.from || getAddress(tx.from) !== getAddress(keysetAddress)) {
      fail('MPC_RESULT_INVALID', `The signed transaction's sender ${tx.from ?? 'unknown'} is not the keyset address ${keysetAddress ?? 'unknown'}.`);
    }
    return { encoding: 'hex', raw: tx.serialized, hash: tx.hash! };
  }
  const messageBytes = Buffer.from(payload, 'base64');
  const message = VersionedMessage.deserialize(messageBytes);
  const payer = message.staticAccountKeys[0]!;
  if (keysetAddress && !payer.equals(new PublicKey(keysetAddress))) fail('MPC_RESULT_INVALID', `The Solana fee payer ${payer.toBase58()} is not the keyset address ${keysetAddress}.`);
  if (!ed25519.verify(sig, messageBytes, payer.toBytes())) fail('MPC_RESULT_INVALID', 'The Ed25519 signature does not verify for the fee payer over this message.');
  const tx = new VersionedTransaction(message);
  tx.addSignature(payer, sig);
  return { encoding: 'base64', raw: Buffer.from(tx.serialize()).toString('base64'), hash: solanaSignatureId(sig) };
}

/** base58 of the signature, without dropping leading zero bytes (ethers' encodeBase58 works on the number). */
function solanaSignatureId(sig: Buffer): string {
  let zeros = 0;
  while (zeros < sig.length && sig[zeros] === 0) zeros += 1;
  return '1'.repeat(zeros) + (zeros === sig.length ? '' : encodeBase58(sig.subarray(zeros)));
}
