/**
 * The guardian backup: 2-of-3 Shamir over the entropy, the share word encoding, and the checks
 * the library does not make (every reconstruction is proven against the seed fingerprint).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { split } from 'shamir-secret-sharing';
import { generateEntropy, seedFingerprint } from '../../main/ceremony/seed';
import { recoverEntropy, shareFingerprint, shareIndex, shareToWords, splitEntropy, wordsToShare, SHARE_WORD_COUNT } from '../../main/ceremony/shamir-backup';
import { choosePositions, checkTranscription } from '../../main/ceremony/transcription-check';
import { isAppFailure } from '../../main/errors';

const code = (c: string) => (e: unknown) => isAppFailure(e) && e.code === c;

describe('Shamir 2-of-3 backup of the entropy', () => {
  it('every pair of the three shares, in either order, rebuilds the entropy', async () => {
    const entropy = generateEntropy();
    const fingerprint = seedFingerprint(entropy);
    const shares = await splitEntropy(entropy);
    assert.equal(shares.length, 3);
    assert.equal(new Set(shares.map(shareIndex)).size, 3);
    for (const [a, b] of [[0, 1], [0, 2], [1, 2], [1, 0], [2, 0], [2, 1]] as const) {
      assert.deepEqual(await recoverEntropy([shares[a]!, shares[b]!], fingerprint), entropy);
    }
    assert.deepEqual(await recoverEntropy(shares, fingerprint), entropy);
  });

  it('one share alone is refused', async () => {
    const entropy = generateEntropy();
    const shares = await splitEntropy(entropy);
    await assert.rejects(recoverEntropy([shares[0]!], seedFingerprint(entropy)), code('SHARES_INSUFFICIENT'));
  });

  it('the same share twice is refused as a duplicate', async () => {
    const entropy = generateEntropy();
    const shares = await splitEntropy(entropy);
    await assert.rejects(recoverEntropy([shares[1]!, Uint8Array.from(shares[1]!)], seedFingerprint(entropy)), code('SHARE_DUPLICATE'));
  });

  it('a corrupted share is caught by the fingerprint check and nothing is returned', async () => {
    const entropy = generateEntropy();
    const shares = await splitEntropy(entropy);
    const corrupted = Uint8Array.from(shares[0]!);
    corrupted[5]! ^= 0x01;
    await assert.rejects(recoverEntropy([corrupted, shares[2]!], seedFingerprint(entropy)), (e: unknown) => {
      assert.ok(code('SEED_FINGERPRINT_MISMATCH')(e));
      // The refusal carries no bytes of what was rebuilt.
      assert.doesNotMatch(JSON.stringify((e as Error).message), /[0-9a-f]{16}/);
      return true;
    });
  });

  it('a share swapped in from another split of the same seed is caught by the fingerprint check', async () => {
    const entropy = generateEntropy();
    const first = await splitEntropy(entropy);
    const second = await splitEntropy(entropy);
    const a = first[0]!;
    const b = second.find((s) => shareIndex(s) !== shareIndex(a))!;
    await assert.rejects(recoverEntropy([a, b], seedFingerprint(entropy)), code('SEED_FINGERPRINT_MISMATCH'));
  });

  it('shares of another seed are refused against this seed\'s fingerprint', async () => {
    const ours = generateEntropy();
    const theirs = await split(Uint8Array.from(generateEntropy()), 3, 2);
    await assert.rejects(recoverEntropy([theirs[0]!, theirs[1]!], seedFingerprint(ours)), code('SEED_FINGERPRINT_MISMATCH'));
  });
});

describe('share words, QR text and fingerprints', () => {
  it(`encodes a share as ${SHARE_WORD_COUNT} BIP39 words and back, for many shares`, async () => {
    for (let i = 0; i < 20; i += 1) {
      for (const share of await splitEntropy(generateEntropy())) {
        const words = shareToWords(share);
        assert.equal(words.length, SHARE_WORD_COUNT);
        assert.deepEqual(wordsToShare(words), Buffer.from(share));
        assert.deepEqual(wordsToShare(`  ${words.join('  ').toUpperCase()} \n`), Buffer.from(share));
      }
    }
  });

  it('refuses a mistyped word, two swapped words, a missing word and an unknown word', async () => {
    const [share] = await splitEntropy(generateEntropy());
    const words = shareToWords(share!);
    const typo = [...words];
    typo[3] = typo[3] === 'abandon' ? 'ability' : 'abandon';
    assert.throws(() => wordsToShare(typo), code('SHARE_MALFORMED'));
    const swapped = [...words];
    let i = 0;
    while (swapped[i] === swapped[i + 1]) i += 1;
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    assert.throws(() => wordsToShare(swapped), code('SHARE_MALFORMED'));
    assert.throws(() => wordsToShare(words.slice(1)), code('SHARE_MALFORMED'));
    assert.throws(() => wordsToShare([...words.slice(0, 24), 'notaword']), (e: unknown) => code('SHARE_MALFORMED')(e) && /Word 25/.test((e as Error).message));
  });

  it('share fingerprints differ per share and reveal no share bytes', async () => {
    const shares = await splitEntropy(generateEntropy());
    const prints = shares.map(shareFingerprint);
    assert.equal(new Set(prints).size, 3);
    for (const [k, p] of prints.entries()) {
      assert.match(p, /^[0-9a-f]{32}$/);
      assert.ok(!Buffer.from(shares[k]!).toString('hex').includes(p.slice(0, 8)));
    }
  });
});

describe('transcription check', () => {
  const words = Array.from({ length: 24 }, (_, i) => `w${i + 1}`);

  it('asks for at least 4 distinct random positions', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i += 1) {
      const positions = choosePositions(24);
      assert.equal(new Set(positions).size, 4);
      assert.ok(positions.every((p) => p >= 1 && p <= 24));
      seen.add(positions.join(','));
    }
    assert.ok(seen.size > 20, 'positions vary between ceremonies');
    assert.throws(() => choosePositions(24, 3), RangeError);
  });

  it('accepts the right words and names wrong positions without naming any word', () => {
    const positions = [2, 9, 17, 24];
    checkTranscription(words, positions, { 2: 'w2', 9: ' W9 ', 17: 'w17', 24: 'w24' });
    assert.throws(() => checkTranscription(words, positions, { 2: 'w2', 9: 'w8', 17: 'w17', 24: 'w1' }), (e: unknown) => {
      assert.ok(code('TRANSCRIPTION_MISMATCH')(e));
      assert.match((e as Error).message, /Words 9, 24 do not match/);
      assert.doesNotMatch((e as Error).message, /w9|w8|w24|w1\b/);
      return true;
    });
    assert.throws(() => checkTranscription(words, positions, { 2: 'w2', 9: 'w9', 17: 'w17' }), code('TRANSCRIPTION_MISMATCH'));
    assert.throws(() => checkTranscription(words, positions, { 2: 'w2', 9: 'w9', 17: 'w17', 23: 'w23' }), code('TRANSCRIPTION_MISMATCH'));
  });
});
