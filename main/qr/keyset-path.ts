/**
 * How an EIP-4527 request names an MPC keyset's key. The keyset has no HD derivation, but the
 * request format requires a path and a source fingerprint: the path is the chain's usual first
 * account, and the fingerprint is the BIP-32 one of the keyset's own public key
 * (HASH160, first 4 bytes), so a signer can tell which key is asked for.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { QueueKeyset } from '../permits/queue/permit-checker';

export const EVM_ACCOUNT_PATH = "m/44'/60'/0'/0/0";
export const SOLANA_ACCOUNT_PATH = "m/44'/501'/0'/0'";

export function keysetSigningPath(keyset: Pick<QueueKeyset, 'scheme' | 'publicKey' | 'address'>): { path: string; sourceFingerprint: string } {
  // A keyset still without its public key is named by its address instead.
  const key = keyset.publicKey ? Buffer.from(keyset.publicKey, 'hex') : Buffer.from(keyset.address ?? '', 'utf8');
  const hash160 = ripemd160(sha256(key));
  return { path: keyset.scheme === 'ecdsa' ? EVM_ACCOUNT_PATH : SOLANA_ACCOUNT_PATH, sourceFingerprint: Buffer.from(hash160.subarray(0, 4)).toString('hex') };
}
