/**
 * The master seed while it exists in this process: 24 BIP39 words from the OS CSPRNG, their
 * entropy, the BIP39 seed, and the fingerprint that lets a later recovery prove it rebuilt the
 * same seed without storing anything secret.
 *
 * No BIP39 passphrase is used: the words alone restore the vault on a Ledger.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as bip39 from 'bip39';
import { fail } from '../errors';

export const WORD_COUNT = 24;
export const ENTROPY_BYTES = 32;
const FINGERPRINT_TAG = 'vaultkeeper/seed-fingerprint/v1\n';

/** 24 words from 256 bits of the OS CSPRNG (bip39 draws them with crypto.randomBytes). */
export function generateEntropy(): Buffer {
  const words = bip39.generateMnemonic(ENTROPY_BYTES * 8);
  return Buffer.from(bip39.mnemonicToEntropy(words), 'hex');
}

export function entropyToWords(entropy: Uint8Array): string[] {
  if (entropy.length !== ENTROPY_BYTES) throw new RangeError(`a master seed has ${ENTROPY_BYTES} bytes of entropy`);
  return bip39.entropyToMnemonic(Buffer.from(entropy)).split(' ');
}

/** The entropy behind typed words, or a refusal naming the first word not in the BIP39 list. */
export function wordsToEntropy(words: string[]): Buffer {
  const normalized = words.map((w) => w.trim().toLowerCase());
  const list = bip39.wordlists.english!;
  const unknown = normalized.findIndex((w) => !list.includes(w));
  if (unknown >= 0) fail('SEED_WORDS_INVALID', `Word ${unknown + 1} is not a BIP39 English word. Check the spelling.`, { position: unknown + 1 });
  if (normalized.length !== WORD_COUNT) fail('SEED_WORDS_INVALID', `A master seed has ${WORD_COUNT} words; ${normalized.length} were given.`, { count: normalized.length });
  try {
    return Buffer.from(bip39.mnemonicToEntropy(normalized.join(' ')), 'hex');
  } catch {
    return fail('SEED_WORDS_INVALID', 'The words do not form a valid BIP39 phrase (the checksum word does not match). Check each word and its order.');
  }
}

/** The 64-byte BIP39 seed (PBKDF2-HMAC-SHA512, empty passphrase). Caller zeroizes it. */
export function entropyToSeed(entropy: Uint8Array): Buffer {
  return bip39.mnemonicToSeedSync(bip39.entropyToMnemonic(Buffer.from(entropy)));
}

/**
 * SHA-256 over a domain tag and the entropy. With 256 bits of entropy it cannot be inverted,
 * so it may be stored and printed; it identifies the seed without revealing it.
 */
export function seedFingerprint(entropy: Uint8Array): string {
  return createHash('sha256').update(FINGERPRINT_TAG).update(entropy).digest('hex');
}

export function fingerprintMatches(entropy: Uint8Array, recorded: string): boolean {
  const actual = Buffer.from(seedFingerprint(entropy), 'hex');
  const expected = Buffer.from(recorded, 'hex');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

/** How a fingerprint is read aloud and printed: 4 groups of 4 hex digits. */
export function shortFingerprint(hex: string): string {
  return hex.slice(0, 16).toUpperCase().match(/.{4}/g)!.join(' ');
}

export function wipe(...buffers: Array<Uint8Array | null | undefined>): void {
  for (const b of buffers) b?.fill(0);
}
