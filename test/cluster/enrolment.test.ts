/**
 * Enrolling a peer: the operator confirms the fingerprint words the peer shows on its own screen.
 * A card whose fingerprint differs from the confirmed words, or a card that is not self-consistent,
 * is refused with a code and a sentence, and leaves no peer row and no audit event behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NodeCard } from '../../main/cluster/identity';
import { AppFailure } from '../../main/errors';
import { startNode, stopNode, type TestNode } from './support';

describe('peer enrolment', () => {
  let me: TestNode;
  let peer: TestNode;
  let stranger: TestNode;
  let peerCard: NodeCard;
  let peerPrint: string;
  let strangerCard: NodeCard;

  before(async () => {
    [me, peer, stranger] = await Promise.all([startNode('me'), startNode('peer'), startNode('stranger')]);
    const id = await peer.services.cluster.identity();
    peerCard = id.card;
    peerPrint = id.fingerprint;
    strangerCard = (await stranger.services.cluster.identity()).card;
  });
  after(async () => {
    for (const n of [me, peer, stranger]) if (n) await stopNode(n);
  });

  const peersAndEvents = () => ({
    peers: me.services.cluster.nodes().filter((n) => !n.isSelf).length,
    events: me.services.audit.list({ type: 'PEER_ENROLLED' }).total,
  });

  const refusedWith = (code: string, sentence: RegExp) => (e: unknown) => {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, sentence);
    return true;
  };

  it('refuses a card whose fingerprint is not the one the operator confirmed', () => {
    const strangerPrint = stranger.services.cluster.nodes().find((n) => n.isSelf)!.fingerprint;
    assert.notEqual(strangerPrint, peerPrint);
    const before = peersAndEvents();
    // The peer's words were read aloud, but the card that arrived is the stranger's.
    assert.throws(() => me.services.cluster.enrolPeer(strangerCard, peerPrint), refusedWith('FINGERPRINT_MISMATCH', /does not match this card\. Do not enrol it/));
    // One word off is still a mismatch.
    const oneWordOff = peerPrint.split('-').map((w, i) => (i === 5 ? (w === 'zoo' ? 'abandon' : 'zoo') : w)).join('-');
    assert.throws(() => me.services.cluster.enrolPeer(peerCard, oneWordOff), refusedWith('FINGERPRINT_MISMATCH', /compare the words/));
    assert.deepEqual(peersAndEvents(), before);
    assert.equal(me.services.cluster.node(strangerCard.nodeId), null);
  });

  it('refuses a card that is not self-consistent, even with its own fingerprint', () => {
    const before = peersAndEvents();
    const invalidCards: NodeCard[] = [
      // HPKE key swapped for another node's: the identity's signature over it no longer verifies.
      { ...peerCard, hpkePublicKey: strangerCard.hpkePublicKey },
      // Binding signature taken from another card.
      { ...peerCard, hpkeKeySignature: strangerCard.hpkeKeySignature },
      // A node id that is not derived from the signing key.
      { ...peerCard, nodeId: strangerCard.nodeId },
      // Truncated keys.
      { ...peerCard, hpkePublicKey: peerCard.hpkePublicKey.slice(0, 62) },
    ];
    for (const card of invalidCards) {
      assert.throws(() => me.services.cluster.enrolPeer(card, peerPrint), refusedWith('PEER_CARD_INVALID', /not self-consistent/), JSON.stringify(card));
    }
    assert.deepEqual(peersAndEvents(), before);
  });

  it('enrols the peer when the confirmed words match (typed with stray spaces and capitals)', () => {
    const node = me.services.cluster.enrolPeer(peerCard, `  ${peerPrint.toUpperCase()} `);
    assert.equal(node.nodeId, peerCard.nodeId);
    assert.equal(node.fingerprint, peerPrint);
    const event = me.services.audit.list({ type: 'PEER_ENROLLED' }).entries[0];
    assert.equal(event?.subject, peerCard.nodeId);
  });
});
