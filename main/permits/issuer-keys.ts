/**
 * Issuer keys: the online side's Ed25519 key that signs permits. Fingerprints use the same
 * six-word rendering as node cards (main/identity/node-identity.ts), so an operator confirms an
 * issuer the way they confirm a peer: by reading the words aloud.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { fingerprintWords } from '../identity/node-identity';
import { permitSigningBytes, type Permit, type SignedPermit } from './permit-format';

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface IssuerKeyPair {
  /** 32-byte Ed25519 seed. Secret: lives only in the issuer's key file. */
  secretKey: Buffer;
  publicKey: Buffer;
}

export function generateIssuerKey(): IssuerKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { secretKey: Buffer.from(der.subarray(PKCS8_ED25519_PREFIX.length)), publicKey: rawPublicKey(publicKey) };
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length));
}

export function issuerPublicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

export function issuerPrivateKeyObject(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

export function publicKeyOf(secretKey: Uint8Array): Buffer {
  return rawPublicKey(createPublicKey(issuerPrivateKeyObject(secretKey)));
}

export function issuerFingerprint(publicKey: Uint8Array): string {
  return fingerprintWords(publicKey);
}

export function signPermit(permit: Permit, secretKey: Uint8Array): SignedPermit {
  const key = issuerPrivateKeyObject(secretKey);
  return {
    permit,
    issuerKey: publicKeyOf(secretKey).toString('hex'),
    signature: sign(null, permitSigningBytes(permit), key).toString('hex'),
  };
}

export function verifyPermitSignature(signed: SignedPermit, key: KeyObject): boolean {
  try {
    return verify(null, permitSigningBytes(signed.permit), key, Buffer.from(signed.signature, 'hex'));
  } catch {
    return false;
  }
}
