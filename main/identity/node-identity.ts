/**
 * This console's identity as a signer node: an Ed25519 key pair made at vault set-up. The node id
 * is derived from the public key, and the fingerprint renders the same hash as words a person can
 * read aloud to compare when enrolling peers.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { wordlists } from 'bip39';
import { createHash } from 'node:crypto';

export interface NodeKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateNodeKeyPair(): NodeKeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

function identityHash(publicKey: Uint8Array): Buffer {
  return createHash('sha256').update('vaultkeeper/node-id/v1').update(publicKey).digest();
}

/** 128-bit node id as 32 hex characters. */
export function nodeIdFromPublicKey(publicKey: Uint8Array): string {
  return identityHash(publicKey).subarray(0, 16).toString('hex');
}

/** Six BIP39 words (66 bits) from the identity hash, e.g. "orbit-zebra-...". */
export function fingerprintWords(publicKey: Uint8Array): string {
  const words = wordlists.english!;
  const hash = identityHash(publicKey);
  let bits = '';
  for (const byte of hash.subarray(16, 25)) bits += byte.toString(2).padStart(8, '0');
  const out: string[] = [];
  for (let i = 0; i < 6; i += 1) out.push(words[parseInt(bits.slice(i * 11, i * 11 + 11), 2)]!);
  return out.join('-');
}
