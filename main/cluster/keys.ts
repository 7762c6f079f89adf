/**
 * Key handling for the node-to-node transport, on standard primitives only: Ed25519 signatures
 * through node:crypto (keys imported as JWK), and HPKE (RFC 9180) base mode with
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM from @hpke/core.
 */
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes256Gcm } from '@hpke/core';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

export const hpkeSuite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

export function ed25519PrivateKey(secretKey: Uint8Array): KeyObject {
  const publicKey = ed25519.getPublicKey(secretKey);
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(secretKey), x: b64url(publicKey) }, format: 'jwk' });
}

export function ed25519PublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' });
}

export function signBytes(key: KeyObject, data: Uint8Array): Buffer {
  return sign(null, data, key);
}

export function verifyBytes(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return signature.length === 64 && verify(null, data, key, signature);
  } catch {
    return false;
  }
}

export interface HpkeKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export async function generateHpkeKeyPair(): Promise<HpkeKeyPair> {
  const pair = await hpkeSuite.kem.generateKeyPair();
  return {
    publicKey: new Uint8Array(await hpkeSuite.kem.serializePublicKey(pair.publicKey)),
    privateKey: new Uint8Array(await hpkeSuite.kem.serializePrivateKey(pair.privateKey)),
  };
}

/** Domain-separated, unambiguous byte string of a field list (a JSON array). */
export function transcript(label: string, ...fields: Array<string | number>): Buffer {
  return Buffer.from(JSON.stringify([label, ...fields]), 'utf8');
}
