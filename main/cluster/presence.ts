/**
 * A coordinator's presence answer, read as the untrusted claim it is. Only members this node
 * asked about count, each once; this node counts itself whatever the answer says (it is asking
 * over its own live connection); a malformed answer is an error with a sentence, not a crash.
 */
import { fail } from '../errors';
import type { ServerMessage } from '../coordinator/protocol';

export function presentAmong(answer: ServerMessage, asked: readonly string[], me: string): string[] {
  const claimed = answer.t === 'presence' ? (answer as { connected?: unknown }).connected : undefined;
  if (!Array.isArray(claimed)) {
    fail('COORDINATOR_ANSWER_INVALID', 'The coordinator answered the question "who is connected?" with something that is not a list of nodes. Check that it runs this version of Vaultkeeper; nothing was signed.');
  }
  const said = new Set(claimed.filter((n): n is string => typeof n === 'string'));
  return asked.filter((n, i) => asked.indexOf(n) === i && (n === me || said.has(n)));
}
