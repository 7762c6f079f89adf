/**
 * Node cards between operators: this node's card file, a peer's card enrolled only when the words
 * the operator confirms are the card's words, and every card that must not be enrolled refused
 * with a code and a sentence, leaving no peer row behind — a tampered card, wrong words, an
 * oversized file, a node already enrolled, this node's own card, and the old card of a peer
 * removed under the guardian quorum. Removal and replacement run only with two guardians' approval.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_CARD_FILE_BYTES, nodeCardText, parseNodeCardFile, type NodeCardFile } from '../../main/cluster/card-file';
import { AppFailure } from '../../main/errors';
import type { RequesterProof } from '../../main/guardians/guardian-service';
import { enrolThree, guardianFixture, type GuardianFixture } from '../support/guardians';
import { callChannel, GOOD_PASSPHRASE } from '../support/services';
import { startNode, stopNode, type TestNode } from './support';

const AS_OPERATOR: RequesterProof = { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE };

function refusedWith(code: string, sentence: RegExp) {
  return (error: unknown) => error instanceof AppFailure && error.code === code && sentence.test(error.message);
}

async function rejects(work: Promise<unknown>, code: string, sentence: RegExp): Promise<void> {
  await assert.rejects(work, refusedWith(code, sentence));
}

describe('node cards', { timeout: 120_000 }, () => {
  let f: GuardianFixture;
  let guardians: Awaited<ReturnType<typeof enrolThree>>;
  let peers: TestNode[] = [];
  let cards: string[] = [];

  before(async () => {
    f = await guardianFixture();
    guardians = await enrolThree(f);
    await f.services.cluster.identity();
    peers = [await startNode('node-b'), await startNode('node-c'), await startNode('node-d')];
    cards = await Promise.all(peers.map(async (p) => nodeCardText(await p.services.cluster.identity())));
  });

  after(async () => {
    for (const p of peers) await stopNode(p);
    await f?.cleanup();
  });

  const peerRows = () => f.services.cluster.nodes().filter((n) => !n.isSelf).length;
  const file = (i: number): NodeCardFile => JSON.parse(cards[i]!) as NodeCardFile;
  const words = (i: number) => file(i).fingerprint;

  it('exports this node\'s card: its keys, signed, with the words the vault shows', async () => {
    const me = await f.services.cluster.identity();
    const card = await callChannel(f.services, 'membership.card', {});
    assert.ok(card.ok);
    const parsed = parseNodeCardFile(card.value.text);
    assert.equal(parsed.card.nodeId, me.nodeId);
    assert.equal(parsed.card.signingPublicKey, me.card.signingPublicKey);
    assert.equal(parsed.card.hpkePublicKey, me.card.hpkePublicKey);
    assert.equal(parsed.fingerprint, f.services.vault.status().nodeFingerprint);
    assert.equal(parsed.fingerprint.split('-').length, 6);
    assert.match(card.value.qr, /^data:image\/png;base64,/);
  });

  it('refuses a card whose words do not match, and enrols nothing', async () => {
    const wrong = words(1).split('-').reverse().join(' ');
    const result = await callChannel(f.services, 'membership.enrolCard', { text: cards[0]!, words: wrong });
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'FINGERPRINT_MISMATCH');
    assert.match(result.error.message, /does not match this card\. Do not enrol it: compare the words on both screens again/);
    assert.equal(peerRows(), 0);
    assert.equal(f.services.audit.list({ type: 'PEER_ENROLLED' }).entries.length, 0);
  });

  it('refuses tampered cards: a renamed node, a swapped key, words rewritten on the card', async () => {
    const renamed = { ...file(0), card: { ...file(0).card, name: 'node-b-evil' } };
    await rejects(f.services.cluster.roster.enrol(JSON.stringify(renamed), words(0)), 'PEER_CARD_INVALID', /altered after its node signed it/);
    const swapped = { ...file(0), card: { ...file(0).card, hpkePublicKey: file(1).card.hpkePublicKey } };
    await rejects(f.services.cluster.roster.enrol(JSON.stringify(swapped), words(0)), 'PEER_CARD_INVALID', /not self-consistent/);
    const foreignKey = { ...file(0), card: { ...file(0).card, signingPublicKey: file(1).card.signingPublicKey } };
    await rejects(f.services.cluster.roster.enrol(JSON.stringify(foreignKey), words(0)), 'PEER_CARD_INVALID', /not self-consistent/);
    const rewritten = { ...file(0), fingerprint: words(1) };
    await rejects(f.services.cluster.roster.enrol(JSON.stringify(rewritten), words(1)), 'PEER_CARD_INVALID', /not the words its key gives/);
    const extra = { ...file(0), coordinator: 'ws://10.0.0.66:1' };
    await rejects(f.services.cluster.roster.enrol(JSON.stringify(extra), words(0)), 'PEER_CARD_INVALID', /fields a node card does not have/);
    assert.equal(peerRows(), 0);
  });

  it('refuses an oversized file before reading it as a card', async () => {
    const big = cards[0]!.replace('{', `{"padding":"${'x'.repeat(MAX_CARD_FILE_BYTES)}",`);
    const result = await callChannel(f.services, 'membership.inspectCard', { text: big });
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'PEER_CARD_TOO_LARGE');
    assert.match(result.error.message, /a node card is under 4096 bytes/);
  });

  it('refuses this node\'s own card as a peer', async () => {
    const mine = await callChannel(f.services, 'membership.card', {});
    assert.ok(mine.ok);
    await rejects(f.services.cluster.roster.enrol(mine.value.text, mine.value.fingerprint), 'PEER_IS_SELF', /this node's own card/);
    // Also on the path the lab and the peers file take.
    const parsed = parseNodeCardFile(mine.value.text);
    assert.throws(() => f.services.cluster.enrolPeer(parsed.card, parsed.fingerprint), refusedWith('PEER_IS_SELF', /own card/));
    assert.equal(peerRows(), 0);
  });

  it('enrols a card once its words are confirmed (typed with spaces, any case), then refuses it again as a duplicate', async () => {
    const typed = words(0).toUpperCase().split('-').join('  ');
    const result = await callChannel(f.services, 'membership.enrolCard', { text: cards[0]!, words: typed });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
    assert.ok(result.value.members.some((m) => m.nodeId === file(0).card.nodeId && m.status === 'enrolled' && m.online === null));
    await rejects(f.services.cluster.roster.enrol(cards[0]!, words(0)), 'PEER_ALREADY_ENROLLED', /already enrolled on this node; nothing was changed/);
    assert.equal(peerRows(), 1);
  });

  it('removes a peer only with two guardians\' approval, and refuses its card ever after (replayed file)', async () => {
    const nodeId = file(0).card.nodeId;
    const request = await callChannel(f.services, 'membership.requestRemoval', { nodeId, reason: 'machine stolen', requester: AS_OPERATOR, ttlMinutes: 60 });
    assert.ok(request.ok, JSON.stringify(!request.ok && request.error));
    const early = await callChannel(f.services, 'membership.removePeer', { nodeId, requestId: request.value.id });
    assert.ok(!early.ok);
    assert.equal(early.error.code, 'QUORUM_NOT_MET');
    assert.equal(peerRows(), 1, 'nothing removed without the quorum');
    await f.services.guardians.signWithLedger(request.value.id, guardians.lena.id, 'approve');
    await f.services.guardians.signWithKeyFile(request.value.id, guardians.sam.keyFile, guardians.sam.passphrase, 'approve');
    const removed = await callChannel(f.services, 'membership.removePeer', { nodeId, requestId: request.value.id });
    assert.ok(removed.ok, JSON.stringify(!removed.ok && removed.error));
    assert.equal(peerRows(), 0);
    assert.deepEqual(removed.value.removed.map((r) => r.nodeId), [nodeId]);
    assert.equal(f.services.guardians.view(request.value.id).status, 'executed', 'the approval was consumed by the removal');
    // The approval is spent: it cannot remove anything again.
    const again = await callChannel(f.services, 'membership.removePeer', { nodeId, requestId: request.value.id });
    assert.ok(!again.ok);
    // Its old card, replayed, on every path.
    await rejects(f.services.cluster.roster.enrol(cards[0]!, words(0)), 'PEER_REMOVED', /was removed from this cluster on .* with the guardians' approval; its card cannot be enrolled again/);
    assert.throws(() => f.services.cluster.enrolPeer(file(0).card, words(0)), refusedWith('PEER_REMOVED', /cannot be enrolled again/));
    assert.equal(peerRows(), 0);
    assert.equal(f.services.audit.list({ type: 'PEER_REMOVED' }).entries.length, 1);
  });

  it('replaces a peer by a new machine\'s card under the quorum, with the words checked before the guardians are asked', async () => {
    await f.services.cluster.roster.enrol(cards[1]!, words(1));
    const oldId = file(1).card.nodeId;
    const wrongWords = await callChannel(f.services, 'membership.requestReplacement', { nodeId: oldId, text: cards[2]!, words: words(1), reason: 'disk failed', requester: AS_OPERATOR, ttlMinutes: 60 });
    assert.ok(!wrongWords.ok);
    assert.equal(wrongWords.error.code, 'FINGERPRINT_MISMATCH');
    const request = await callChannel(f.services, 'membership.requestReplacement', { nodeId: oldId, text: cards[2]!, words: words(2), reason: 'disk failed', requester: AS_OPERATOR, ttlMinutes: 60 });
    assert.ok(request.ok, JSON.stringify(!request.ok && request.error));
    await f.services.guardians.signWithLedger(request.value.id, guardians.lena.id, 'approve');
    // The approval covers exactly this new card: another card is refused with it.
    const other = await callChannel(f.services, 'membership.replacePeer', { nodeId: oldId, text: cards[0]!, words: words(0), requestId: request.value.id });
    assert.ok(!other.ok);
    const early = await callChannel(f.services, 'membership.replacePeer', { nodeId: oldId, text: cards[2]!, words: words(2), requestId: request.value.id });
    assert.ok(!early.ok);
    assert.equal(early.error.code, 'QUORUM_NOT_MET');
    await f.services.guardians.signWithKeyFile(request.value.id, guardians.sofia.keyFile, guardians.sofia.passphrase, 'approve');
    const done = await callChannel(f.services, 'membership.replacePeer', { nodeId: oldId, text: cards[2]!, words: words(2), requestId: request.value.id });
    assert.ok(done.ok, JSON.stringify(!done.ok && done.error));
    assert.equal(f.services.guardians.view(request.value.id).status, 'executed', 'the approval was consumed by the replacement');
    assert.deepEqual(done.value.members.filter((m) => !m.isSelf).map((m) => m.nodeId), [file(2).card.nodeId]);
    assert.ok(done.value.removed.some((r) => r.nodeId === oldId && r.replacedBy === file(2).card.nodeId));
    await rejects(f.services.cluster.roster.enrol(cards[1]!, words(1)), 'PEER_REMOVED', /cannot be enrolled again/);
  });

  it('leaving the lab un-enrols only the nodes whose cards are in this console\'s own lab folder', async () => {
    // node-d stands in for a lab node: its card is in <data>/lab/lab-node-b/, as the lab writes it.
    const labNode = join(f.services.dataDir, 'lab', 'lab-node-b');
    mkdirSync(labNode, { recursive: true });
    writeFileSync(join(labNode, 'node-card.json'), cards[2]!);
    const joined = await callChannel(f.services, 'membership.configure', { name: 'treasury', airgapped: true });
    assert.ok(joined.ok, JSON.stringify(!joined.ok && joined.error));
    assert.equal(joined.value.configured?.transport, 'airgap');
    assert.ok(!joined.value.members.some((m) => m.nodeId === file(2).card.nodeId), 'the lab node is no longer a peer');
    assert.equal(f.services.cluster.mode, 'configured');
    assert.equal(f.services.audit.list({ type: 'LAB_LEFT' }).entries[0]?.details.nodes, file(2).card.nodeId);
  });
});
