/** The requester's sentence when a permitted signing ends without a signature: who said no, why, and what to do. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { permitNotRetriedSentence } from '../../main/cluster/permit-refusal';

describe('permit refusal sentence', () => {
  const id = '8352e4e7a937cb5e4b3139f4dac994e1';
  it('names the declining node by its enrolled name, keeps its reason, and says why no other quorum is tried', () => {
    const text = permitNotRetriedSentence({ reason: `Node ${id} refused: No one at this node approved permit p-1.`, blamedNode: id }, (n) => (n === id ? 'node-b' : null));
    assert.equal(
      text,
      'Node "node-b" (8352e4e7…) refused: No one at this node approved permit p-1. The permit is not retried on another quorum: every other quorum shares a node with this one, and a node that accepted it has already recorded it as used. Fix what "node-b" reported (or have it approve the permit), then ask the issuer for a new permit.',
    );
  });
  it('an unknown or missing node is left as the relay reported it', () => {
    assert.match(permitNotRetriedSentence({ reason: 'The session passed its deadline.' }, () => null), /^The session passed its deadline\. The permit is not retried .* Ask the issuer for a new permit\.$/);
    assert.match(permitNotRetriedSentence({ reason: `Node ${id} refused: x`, blamedNode: id }, () => null), new RegExp(`^Node ${id} refused: x`));
  });
});
