/**
 * Minimum passphrase strength, judged by zxcvbn (dictionary, pattern and keyboard-walk aware)
 * rather than character-class rules, which reward "Passw0rd!" and punish long word lists.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

export const MIN_PASSPHRASE_LENGTH = 12;
/** zxcvbn score 0–4; 3 means "safely unguessable: moderate protection from offline attacks". */
export const MIN_PASSPHRASE_SCORE = 3;

let estimator: ZxcvbnFactory | null = null;
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  });
  return estimator;
}

export type PassphraseVerdict = { acceptable: true } | { acceptable: false; reason: string };

export function judgePassphrase(passphrase: string, context: string[] = []): PassphraseVerdict {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    return {
      acceptable: false,
      reason: `Use at least ${MIN_PASSPHRASE_LENGTH} characters; four or more unrelated words work well.`,
    };
  }
  const result = zxcvbn().check(passphrase, ['vaultkeeper', 'vault', ...context]);
  if (result.score >= MIN_PASSPHRASE_SCORE) return { acceptable: true };
  const hints = [result.feedback.warning, ...result.feedback.suggestions].filter((s): s is string => Boolean(s));
  return {
    acceptable: false,
    reason: `This passphrase is too easy to guess. ${hints.join(' ')} Four or more unrelated words work well.`.replace(/\s+/g, ' ').trim(),
  };
}
