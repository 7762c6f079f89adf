/** Which members of a keyset a requester asks to sign: its choice, made from presence. */
import type { Participant } from '../coordinator/protocol';

/**
 * The first `threshold` of `usable`: preferred members in the order given, then the requester
 * itself, then by party index. Returned in party-index order, as a request lists them.
 */
export function rankQuorum(usable: readonly Participant[], prefer: readonly string[], me: string, threshold: number): Participant[] {
  const rank = (p: Participant) => {
    const i = prefer.indexOf(p.nodeId);
    return i >= 0 ? i : p.nodeId === me ? 100 : 200 + p.partyIndex;
  };
  return [...usable]
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, threshold)
    .sort((a, b) => a.partyIndex - b.partyIndex);
}
