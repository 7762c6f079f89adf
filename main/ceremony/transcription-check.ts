/**
 * The transcription check: the operator re-enters words at positions chosen at random by the
 * console, so a sheet with a skipped or misspelled word is caught before the seed is wiped.
 */
import { randomInt } from 'node:crypto';
import { fail } from '../errors';

export const MIN_CHECKED_WORDS = 4;

/** Distinct 1-based word positions, sorted, drawn with the CSPRNG. */
export function choosePositions(wordCount: number, count = MIN_CHECKED_WORDS): number[] {
  if (count < MIN_CHECKED_WORDS || count > wordCount) throw new RangeError(`check between ${MIN_CHECKED_WORDS} and ${wordCount} words`);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(randomInt(1, wordCount + 1));
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Compares the answers with the words. Every position is compared (no early exit), and the
 * refusal names the wrong positions only, never a word.
 */
export function checkTranscription(words: readonly string[], positions: readonly number[], answers: Record<string, string>): void {
  const given = Object.keys(answers).map(Number).sort((a, b) => a - b);
  if (given.length !== positions.length || given.some((p, i) => p !== positions[i])) {
    fail('TRANSCRIPTION_MISMATCH', `Enter exactly the words asked for: numbers ${positions.join(', ')}.`, { asked: positions.join(',') });
  }
  const wrong: number[] = [];
  for (const position of positions) {
    const answer = (answers[String(position)] ?? '').trim().toLowerCase();
    if (answer !== words[position - 1]) wrong.push(position);
  }
  if (wrong.length > 0) {
    fail('TRANSCRIPTION_MISMATCH', `Word${wrong.length > 1 ? 's' : ''} ${wrong.join(', ')} ${wrong.length > 1 ? 'do' : 'does'} not match the seed. Check the sheet against the words on screen and correct it before going on.`, { wrong: wrong.join(',') });
  }
}
