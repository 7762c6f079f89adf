/**
 * Key derivation: passphrase → key-encryption key with scrypt (Node's native implementation,
 * run on the libuv pool so the event loop stays free), and per-purpose subkeys from the vault
 * master key with HKDF-SHA256. Parameters are stored with the vault so they can be raised later.
 */
import { hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { KEY_BYTES } from './envelope';

export interface ScryptParams {
  algorithm: 'scrypt';
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  saltHex: string;
}

/** ~128 MiB and a few hundred ms on this class of machine: the interactive unlock cost. */
export const INTERACTIVE_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
/** The floor below which a stored vault is refused (guards against a downgraded file). */
export const MINIMUM_SCRYPT_N = 2 ** 14;

export function newScryptParams(cost: { N: number; r: number; p: number } = INTERACTIVE_SCRYPT): ScryptParams {
  return { algorithm: 'scrypt', N: cost.N, r: cost.r, p: cost.p, saltHex: randomBytes(16).toString('hex') };
}

export function isUsableScryptParams(params: unknown): params is ScryptParams {
  if (typeof params !== 'object' || params === null) return false;
  const p = params as Record<string, unknown>;
  return (
    p.algorithm === 'scrypt' &&
    typeof p.N === 'number' && Number.isInteger(Math.log2(p.N)) && p.N >= MINIMUM_SCRYPT_N && p.N <= 2 ** 22 &&
    typeof p.r === 'number' && p.r >= 1 && p.r <= 32 &&
    typeof p.p === 'number' && p.p >= 1 && p.p <= 16 &&
    typeof p.saltHex === 'string' && /^[0-9a-f]{32,128}$/.test(p.saltHex)
  );
}

/** Derives the key-encryption key. The caller zeroizes the returned buffer after use. */
export function deriveKeyEncryptionKey(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const secret = Buffer.from(passphrase.normalize('NFKC'), 'utf8');
  const maxmem = 256 * params.N * params.r + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(params.saltHex, 'hex'), KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) => {
      secret.fill(0);
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** A subkey bound to one purpose; distinct purposes give independent keys. */
export function deriveSubkey(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), Buffer.from(`vaultkeeper/${purpose}/v1`, 'utf8'), KEY_BYTES));
}
