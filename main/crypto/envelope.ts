/**
 * AES-256-GCM envelope: a fresh random 12-byte IV per seal, a 16-byte tag, and associated data
 * that the caller builds to bind the ciphertext to where it belongs (record type, id, schema
 * version, node identity). Opening with a different key or different associated data fails.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
/** First byte of the packed form, so the layout can change without guessing. */
const PACKED_VERSION = 1;

export interface SealedBox {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Decryption failed: wrong key, moved ciphertext, or tampering. Deliberately says no more. */
export class EnvelopeOpenError extends Error {
  constructor() {
    super('sealed data failed authentication');
    this.name = 'EnvelopeOpenError';
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`envelope key must be ${KEY_BYTES} bytes`);
}

export function seal(key: Buffer, plaintext: Uint8Array, associatedData: Uint8Array): SealedBox {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

export function open(key: Buffer, box: SealedBox, associatedData: Uint8Array): Buffer {
  checkKey(key);
  if (box.iv.length !== IV_BYTES || box.tag.length !== TAG_BYTES) throw new EnvelopeOpenError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, box.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData);
    decipher.setAuthTag(box.tag);
    return Buffer.concat([decipher.update(box.ciphertext), decipher.final()]);
  } catch {
    throw new EnvelopeOpenError();
  }
}

/** version ‖ iv ‖ tag ‖ ciphertext, for values kept in one column or file. */
export function pack(box: SealedBox): Buffer {
  return Buffer.concat([Buffer.from([PACKED_VERSION]), box.iv, box.tag, box.ciphertext]);
}

export function unpack(packed: Uint8Array): SealedBox {
  const bytes = Buffer.from(packed);
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== PACKED_VERSION) throw new EnvelopeOpenError();
  return {
    iv: bytes.subarray(1, 1 + IV_BYTES),
    tag: bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES),
    ciphertext: bytes.subarray(1 + IV_BYTES + TAG_BYTES),
  };
}

/**
 * Associated data as a JSON array of strings and numbers: unambiguous (no two field lists
 * serialize alike) and readable when debugging.
 */
export function associatedData(...fields: Array<string | number>): Buffer {
  return Buffer.from(JSON.stringify(['vaultkeeper', ...fields]), 'utf8');
}
