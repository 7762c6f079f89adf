/** Decodes a permit's payload for the chain it names. */
import { decodeEvmPayload } from './evm';
import { decodeSolanaPayload } from './solana';
import type { ChainRef, DecodedTransaction } from './transaction';

export function decodePayload(chain: ChainRef, payload: string): DecodedTransaction {
  return chain.kind === 'evm' ? decodeEvmPayload(payload) : decodeSolanaPayload(payload);
}

/** The threshold scheme that signs for a chain: secp256k1 ECDSA for EVM, Ed25519 for Solana. */
export function schemeForChain(chain: ChainRef): 'ecdsa' | 'eddsa' {
  return chain.kind === 'evm' ? 'ecdsa' : 'eddsa';
}

export function describeChain(chain: ChainRef): string {
  return chain.kind === 'evm' ? `EVM chain ${chain.chainId}` : `Solana ${chain.cluster}`;
}
