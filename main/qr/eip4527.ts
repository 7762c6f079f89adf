/**
 * EIP-4527 interop: an unsigned transaction leaves as `ur:eth-sign-request` (Ethereum) or
 * `ur:sol-sign-request` (Solana, Keystone's registry), and its signature comes back as
 * `ur:eth-signature` / `ur:sol-signature`. Keystone's registries do the CBOR; this module decides
 * what is accepted back: the signature must answer the request id this console issued, and the
 * signed transaction must verify for the expected address over exactly the requested bytes.
 * Runtime: main.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { DataType, EthSignRequest, ETHSignature } from '@keystonehq/bc-ur-registry-eth';
import { SignType, SolSignature, SolSignRequest } from '@keystonehq/bc-ur-registry-sol';
import { PublicKey, VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { base58 } from '@scure/base';
import { getAddress, getBytes, Signature, Transaction } from 'ethers';
import type { UR } from '@ngraveio/bc-ur';
import { fail, isAppFailure } from '../errors';

export const ETH_SIGN_REQUEST = 'eth-sign-request';
export const ETH_SIGNATURE = 'eth-signature';
export const SOL_SIGN_REQUEST = 'sol-sign-request';
export const SOL_SIGNATURE = 'sol-signature';

/** What the console asked an EIP-4527 signer to sign, kept until the signature comes back. */
export interface EvmSignAsk {
  /** UUID; the signer echoes it in its `eth-signature`. */
  requestId: string;
  /** The unsigned serialized transaction, 0x-hex (EIP-1559 or EIP-155 legacy). */
  payloadHex: string;
  chainId: number;
  address: string;
  /** BIP-32 path of the signing key and the master fingerprint (8 hex) it derives from. */
  path: string;
  sourceFingerprint: string;
  origin?: string;
}

export interface SolanaSignAsk {
  requestId: string;
  /** The Solana message, base64. */
  messageBase64: string;
  address: string;
  path: string;
  sourceFingerprint: string;
  origin?: string;
}

export interface SignedByQr {
  encoding: 'hex' | 'base64';
  raw: string;
  hash: string;
  /** The signature as the queue records one made in the console: r‖s (ECDSA) or the Ed25519 signature, hex. */
  signature: string;
  /** ECDSA recovery parity; null for Ed25519. */
  recoveryId: number | null;
}

export function ethSignRequest(ask: EvmSignAsk): UR {
  const tx = Transaction.from(ask.payloadHex);
  if (tx.signature) fail('VALIDATION_FAILED', 'The transaction is already signed; an EIP-4527 request carries the unsigned transaction.');
  // EIP-1559 goes as a typed transaction (type byte + RLP), a legacy one as its EIP-155 RLP.
  const dataType = tx.type === 2 ? DataType.typedTransaction : DataType.transaction;
  const request = EthSignRequest.constructETHRequest(Buffer.from(getBytes(tx.unsignedSerialized)), dataType, ask.path, ask.sourceFingerprint, ask.requestId, ask.chainId, ask.address, ask.origin ?? 'Vaultkeeper');
  return request.toUR() as unknown as UR;
}

export function solSignRequest(ask: SolanaSignAsk): UR {
  const request = SolSignRequest.constructSOLRequest(Buffer.from(ask.messageBase64, 'base64'), ask.path, ask.sourceFingerprint, SignType.Transaction, ask.requestId, ask.address, ask.origin ?? 'Vaultkeeper');
  return request.toUR() as unknown as UR;
}

function uuidOf(bytes: Buffer | undefined): string | null {
  if (!bytes || bytes.length !== 16) return null;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The request id a returned signature answers, or a refusal when it answers none. */
function answeredRequest(type: string, requestIdBytes: Buffer | undefined, expected: string): void {
  const got = uuidOf(requestIdBytes);
  if (!got) fail('QR_SIGN_REQUEST_MISMATCH', `The ur:${type} carries no request id, so it cannot be matched to request ${expected}. Sign the request this console showed.`);
  if (got !== expected.toLowerCase()) {
    fail('QR_SIGN_REQUEST_MISMATCH', `The ur:${type} answers request ${got}, not request ${expected} shown by this console. Scan the signature made for this request.`, { expected, received: got });
  }
}

function decodeItem<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch {
    fail('QR_UR_CORRUPT', `The ${what} does not decode (CBOR of the wrong shape). Nothing was accepted.`);
  }
}

/** The recovery parity of `v` as EIP-4527 signers send it: 0/1, 27/28, or EIP-155 (chainId·2 + 35/36). */
function parityOf(v: number, chainId: number): 0 | 1 {
  if (v === 0 || v === 1) return v;
  if (v === 27 || v === 28) return (v - 27) as 0 | 1;
  const eip155 = v - 35 - chainId * 2;
  if (eip155 === 0 || eip155 === 1) return eip155;
  fail('QR_SIGNATURE_INVALID', `The signature's recovery value v=${v} fits neither 0/1, 27/28 nor chain ${chainId}.`);
}

export function readEthSignature(ur: { type: string; cbor: Buffer }, ask: EvmSignAsk): SignedByQr {
  if (ur.type !== ETH_SIGNATURE) fail('QR_UR_WRONG_TYPE', `This QR code carries a ur:${ur.type}, not the ur:${ETH_SIGNATURE} that answers an Ethereum signing request.`);
  const item = decodeItem('ur:eth-signature', () => ETHSignature.fromCBOR(ur.cbor));
  answeredRequest(ETH_SIGNATURE, item.getRequestId(), ask.requestId);
  const sig = item.getSignature();
  if (sig.length !== 65) fail('QR_SIGNATURE_INVALID', `The signature is ${sig.length} bytes; an Ethereum signature is 65 bytes (r, s, v).`);
  const tx = Transaction.from(ask.payloadHex);
  const parity = parityOf(sig[64]!, ask.chainId);
  try {
    tx.signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32, 64).toString('hex')}`, v: 27 + parity });
  } catch (error) {
    if (isAppFailure(error)) throw error;
    fail('QR_SIGNATURE_INVALID', 'The signature is not a valid secp256k1 signature (r or s out of range).');
  }
  if (!tx.from || getAddress(tx.from) !== getAddress(ask.address)) {
    fail('QR_SIGNATURE_INVALID', `The signed transaction's sender would be ${tx.from ?? 'unknown'}, not ${ask.address}: the signature is for another key or another transaction.`);
  }
  return { encoding: 'hex', raw: tx.serialized, hash: tx.hash!, signature: sig.subarray(0, 64).toString('hex'), recoveryId: parity };
}

export function readSolSignature(ur: { type: string; cbor: Buffer }, ask: SolanaSignAsk): SignedByQr {
  if (ur.type !== SOL_SIGNATURE) fail('QR_UR_WRONG_TYPE', `This QR code carries a ur:${ur.type}, not the ur:${SOL_SIGNATURE} that answers a Solana signing request.`);
  const item = decodeItem('ur:sol-signature', () => SolSignature.fromCBOR(ur.cbor));
  answeredRequest(SOL_SIGNATURE, item.getRequestId(), ask.requestId);
  const sig = item.getSignature();
  if (sig.length !== 64) fail('QR_SIGNATURE_INVALID', `The signature is ${sig.length} bytes; an Ed25519 signature is 64 bytes.`);
  const messageBytes = Buffer.from(ask.messageBase64, 'base64');
  const signer = new PublicKey(ask.address);
  if (!ed25519.verify(sig, messageBytes, signer.toBytes())) fail('QR_SIGNATURE_INVALID', `The Ed25519 signature does not verify for ${ask.address} over the requested message.`);
  const tx = new VersionedTransaction(VersionedMessage.deserialize(messageBytes));
  tx.addSignature(signer, sig);
  return { encoding: 'base64', raw: Buffer.from(tx.serialize()).toString('base64'), hash: base58.encode(sig), signature: Buffer.from(sig).toString('hex'), recoveryId: null };
}
