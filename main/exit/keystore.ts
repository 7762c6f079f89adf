/**
 * The encrypted files an emergency exit writes. No new algorithm: both are Web3 Secret Storage v3
 * ("Ethereum JSON keystore") — scrypt derives 32 bytes from the passphrase, AES-128-CTR under the
 * first 16 encrypts the key, and keccak256(derived[16..32] ‖ ciphertext) is the MAC.
 *
 * - Ethereum: written by ethers (`encryptKeystoreJson`), so every wallet that reads a keystore
 *   reads it.
 * - Solana: the same `crypto` object, composed from node:crypto (scrypt, AES-128-CTR) and
 *   @noble/hashes (keccak256), in a file that says what it holds. A key made by distributed key
 *   generation has no seed, so the plaintext is the 32-byte Ed25519 secret scalar (little-endian),
 *   not the seed a `solana-keygen` file holds; see main/exit/README.md for how to sign with it.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { encryptKeystoreJson } from 'ethers';
import { z } from 'zod';

/** ethers' defaults for a keystore (and the Solana file's): N = 2^17, r = 8, p = 1. */
export const KEYSTORE_SCRYPT = { N: 131_072, r: 8, p: 1 } as const;
export type KeystoreScrypt = { N: number; r: number; p: number };

export const SOLANA_KEYSTORE_FORMAT = 'vaultkeeper-solana-keystore';
export const SOLANA_SECRET_KIND = 'ed25519-secret-scalar-le';

export async function ethereumKeystore(privateKey: Buffer, address: string, passphrase: string, cost: KeystoreScrypt = KEYSTORE_SCRYPT): Promise<string> {
  return encryptKeystoreJson({ address, privateKey: `0x${privateKey.toString('hex')}` }, passphrase, { scrypt: cost });
}

function derive(passphrase: string, salt: Buffer, cost: KeystoreScrypt): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFKC'), salt, 32, { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function mac(derived: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(keccak_256(Buffer.concat([derived.subarray(16, 32), ciphertext])));
}

const hex = (bytes?: number) => z.string().regex(bytes ? new RegExp(`^[0-9a-f]{${bytes * 2}}$`) : /^[0-9a-f]+$/);

const solanaKeystoreSchema = z.strictObject({
  format: z.literal(SOLANA_KEYSTORE_FORMAT),
  version: z.literal(1),
  id: z.string().uuid(),
  address: z.string().min(32).max(44),
  publicKey: hex(32),
  secretKind: z.literal(SOLANA_SECRET_KIND),
  crypto: z.strictObject({
    cipher: z.literal('aes-128-ctr'),
    cipherparams: z.strictObject({ iv: hex(16) }),
    ciphertext: hex(32),
    kdf: z.literal('scrypt'),
    kdfparams: z.strictObject({ dklen: z.literal(32), n: z.number().int().min(2).max(1 << 20), r: z.number().int().min(1).max(32), p: z.number().int().min(1).max(16), salt: hex(32) }),
    mac: hex(32),
  }),
});
export type SolanaKeystore = z.infer<typeof solanaKeystoreSchema>;

export async function solanaKeystore(secretScalar: Buffer, publicKey: Buffer, address: string, passphrase: string, cost: KeystoreScrypt = KEYSTORE_SCRYPT): Promise<string> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derived = await derive(passphrase, salt, cost);
  try {
    const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
    const ciphertext = Buffer.concat([cipher.update(secretScalar), cipher.final()]);
    const file: SolanaKeystore = {
      format: SOLANA_KEYSTORE_FORMAT,
      version: 1,
      id: randomUUID(),
      address,
      publicKey: publicKey.toString('hex'),
      secretKind: SOLANA_SECRET_KIND,
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: iv.toString('hex') },
        ciphertext: ciphertext.toString('hex'),
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: cost.N, r: cost.r, p: cost.p, salt: salt.toString('hex') },
        mac: mac(derived, ciphertext).toString('hex'),
      },
    };
    return JSON.stringify(file, null, 1);
  } finally {
    derived.fill(0);
  }
}

/** Opens a Solana keystore; null when the passphrase is wrong (the MAC does not match). */
export async function openSolanaKeystore(text: string, passphrase: string): Promise<{ secretScalar: Buffer; publicKey: Buffer; address: string } | null> {
  const file = solanaKeystoreSchema.parse(JSON.parse(text));
  const k = file.crypto.kdfparams;
  const derived = await derive(passphrase, Buffer.from(k.salt, 'hex'), { N: k.n, r: k.r, p: k.p });
  try {
    const ciphertext = Buffer.from(file.crypto.ciphertext, 'hex');
    if (!timingSafeEqual(mac(derived, ciphertext), Buffer.from(file.crypto.mac, 'hex'))) return null;
    const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), Buffer.from(file.crypto.cipherparams.iv, 'hex'));
    const secretScalar = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return { secretScalar, publicKey: Buffer.from(file.publicKey, 'hex'), address: file.address };
  } finally {
    derived.fill(0);
  }
}
