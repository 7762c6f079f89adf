/**
 * The 2-of-3 guardian backup of the master seed's entropy, with the audited
 * `shamir-secret-sharing` library (one share per guardian), and the checks the library does not
 * make: combining any two byte strings of the right length "succeeds", so every reconstruction is
 * checked against the seed fingerprint recorded at the ceremony before anything uses it.
 *
 * A share is printed as 25 BIP39 English words, a documented encoding (not a BIP39 mnemonic):
 * the share's 33 bytes (32 bytes of shares of the entropy, then the share's x coordinate, the
 * library's format) followed by an 11-bit checksum (the first 11 bits of SHA-256 over a tag and
 * the share), read as 25 groups of 11 bits, each group an index into the BIP39 English list.
 * The checksum catches typos; the share fingerprint (SHA-256 over another tag and the share,
 * 16 hex digits printed) identifies the share among those recorded for the ceremony.
 */
import { createHash } from 'node:crypto';
import * as bip39 from 'bip39';
import { combine, split } from 'shamir-secret-sharing';
import { fail } from '../errors';
import { ENTROPY_BYTES, fingerprintMatches, wipe } from './seed';

export const SHARE_COUNT = 3;
export const SHARE_THRESHOLD = 2;
export const SHARE_BYTES = ENTROPY_BYTES + 1;
export const SHARE_WORD_COUNT = 25;
const CHECKSUM_BITS = 11;
const CHECKSUM_TAG = 'vaultkeeper/share-checksum/v1\n';
const FINGERPRINT_TAG = 'vaultkeeper/share-fingerprint/v1\n';

const wordlist = (): string[] => bip39.wordlists.english!;

export async function splitEntropy(entropy: Uint8Array): Promise<Uint8Array[]> {
  if (entropy.length !== ENTROPY_BYTES) throw new RangeError(`the entropy has ${ENTROPY_BYTES} bytes`);
  // The library accepts plain Uint8Arrays only; the copy is wiped once split.
  const copy = Uint8Array.from(entropy);
  try {
    return await split(copy, SHARE_COUNT, SHARE_THRESHOLD);
  } finally {
    copy.fill(0);
  }
}

/** The share's x coordinate (1–255, drawn at random by the library), printed as the share number. */
export function shareIndex(share: Uint8Array): number {
  return share[share.length - 1]!;
}

export function shareFingerprint(share: Uint8Array): string {
  return createHash('sha256').update(FINGERPRINT_TAG).update(share).digest('hex').slice(0, 32);
}

function checksum(share: Uint8Array): bigint {
  const digest = createHash('sha256').update(CHECKSUM_TAG).update(share).digest();
  return BigInt(digest.readUInt16BE(0) >> (16 - CHECKSUM_BITS));
}

export function shareToWords(share: Uint8Array): string[] {
  if (share.length !== SHARE_BYTES) throw new RangeError(`a share has ${SHARE_BYTES} bytes`);
  let bits = BigInt(`0x${Buffer.from(share).toString('hex')}`);
  bits = (bits << BigInt(CHECKSUM_BITS)) | checksum(share);
  const words: string[] = [];
  for (let i = SHARE_WORD_COUNT - 1; i >= 0; i -= 1) words.push(wordlist()[Number((bits >> BigInt(i * 11)) & 0x7ffn)]!);
  return words;
}

/** Typed or scanned words back to share bytes, refusing unknown words and a wrong checksum. */
export function wordsToShare(input: string | string[]): Uint8Array {
  const words = (Array.isArray(input) ? input : input.split(/\s+/)).map((w) => w.trim().toLowerCase()).filter(Boolean);
  if (words.length !== SHARE_WORD_COUNT) {
    fail('SHARE_MALFORMED', `A backup share has ${SHARE_WORD_COUNT} words; ${words.length} were entered. Enter every word of the guardian's sheet.`, { count: words.length });
  }
  let bits = 0n;
  for (const [i, word] of words.entries()) {
    const index = wordlist().indexOf(word);
    if (index < 0) fail('SHARE_MALFORMED', `Word ${i + 1} of the share is not a BIP39 English word. Check the spelling on the sheet.`, { position: i + 1 });
    bits = (bits << 11n) | BigInt(index);
  }
  const share = Buffer.from((bits >> BigInt(CHECKSUM_BITS)).toString(16).padStart(SHARE_BYTES * 2, '0'), 'hex');
  if ((bits & 0x7ffn) !== checksum(share)) {
    wipe(share);
    fail('SHARE_MALFORMED', 'The share words do not pass their checksum: a word is wrong or two are swapped. Compare each word with the sheet.');
  }
  if (shareIndex(share) < 1 || shareIndex(share) > 255) fail('SHARE_MALFORMED', 'This share carries no valid share number. Check the sheet.');
  return share;
}

/**
 * Rebuilds the entropy from `SHARE_THRESHOLD` or more shares and proves it is the recorded seed.
 * A wrong, corrupted or swapped share yields other bytes: they are wiped and never returned.
 */
export async function recoverEntropy(shares: readonly Uint8Array[], recordedFingerprint: string): Promise<Buffer> {
  if (shares.length < SHARE_THRESHOLD) {
    fail('SHARES_INSUFFICIENT', `${shares.length} of ${SHARE_THRESHOLD} shares entered. One share alone reveals nothing and rebuilds nothing; enter a second guardian's share.`, { received: shares.length, required: SHARE_THRESHOLD });
  }
  if (shares.some((s) => s.length !== SHARE_BYTES)) fail('SHARE_MALFORMED', `Every share has ${SHARE_BYTES} bytes.`);
  const indices = shares.map(shareIndex);
  if (new Set(indices).size !== indices.length) {
    fail('SHARE_DUPLICATE', `Share number ${indices.find((x, i) => indices.indexOf(x) !== i)} was entered twice. Each guardian enters their own, different share.`);
  }
  const copies = shares.map((s) => Uint8Array.from(s));
  const combined = await combine(copies);
  const entropy = Buffer.from(combined);
  wipe(combined, ...copies);
  if (!fingerprintMatches(entropy, recordedFingerprint)) {
    wipe(entropy);
    fail('SEED_FINGERPRINT_MISMATCH', 'These shares do not rebuild the recorded master seed (its fingerprint differs). A share is wrong, damaged, or from another ceremony. Nothing was revealed; check which guardian sheets were used and start again.');
  }
  return entropy;
}
