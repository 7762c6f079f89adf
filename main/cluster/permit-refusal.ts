/**
 * What the requester says when a session under a permit ends without a signature. It is not
 * retried on another quorum: in a 2-of-3 keyset every other quorum shares a member with this one,
 * and a member that accepted the invite recorded the permit as spent before it said yes (single
 * use is recorded before anything leaves a node), so it refuses the permit again; the member that
 * declined would decline again for the same reason. The sentence names the node that said no, by
 * the name this node enrolled it under, and says what to do.
 */
export interface SessionEndFailure {
  reason: string;
  blamedNode?: string | null;
}

export function permitNotRetriedSentence(failure: SessionEndFailure, nameOf: (nodeId: string) => string | null): string {
  const who = failure.blamedNode ? nameOf(failure.blamedNode) : null;
  // The relay reports "Node <id> …"; the operator knows the node by its enrolled name.
  const reason = who && failure.blamedNode ? failure.reason.replace(`Node ${failure.blamedNode}`, `Node "${who}" (${failure.blamedNode.slice(0, 8)}…)`) : failure.reason;
  const fix = who ? ` Fix what "${who}" reported (or have it approve the permit), then ask the issuer for a new permit.` : ' Ask the issuer for a new permit.';
  return `${reason} The permit is not retried on another quorum: every other quorum shares a node with this one, and a node that accepted it has already recorded it as used.${fix}`;
}
