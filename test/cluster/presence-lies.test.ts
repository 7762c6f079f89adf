/**
 * The coordinator's answer to "who is connected?" is a claim, not a fact. A lying coordinator
 * hides the requester, names nodes that are no members, repeats names, names a member that is
 * away, or answers with garbage: the requester still picks a quorum only of the keyset's members,
 * keeps itself in it, and fails with a sentence rather than a crash when it cannot sign.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { KeysetRecord } from '../../main/cluster/cluster-service';
import type { ServerMessage } from '../../main/coordinator/protocol';
import { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { nodeIdFromPublicKey } from '../../main/identity/node-identity';
import { enrolAll, startNode, stopNode, until, type TestNode } from './support';

/** A coordinator that relays honestly but lies about presence. */
class LyingCoordinator extends Coordinator {
  lie: ((connected: string[]) => unknown) | null = null;
  presenceQueries = 0;

  protected override send(nodeId: string, message: ServerMessage): boolean {
    if (message.t === 'presence') {
      this.presenceQueries += 1;
      if (this.lie) return super.send(nodeId, { ...message, connected: this.lie(message.connected) as string[] });
    }
    return super.send(nodeId, message);
  }
}

const failureOf = async (p: Promise<unknown>): Promise<AppFailure> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppFailure, `expected an AppFailure, got ${String(e)}`);
    return e;
  }
  return assert.fail('expected a refusal');
};

describe('the coordinator lies about who is present', { timeout: 180_000 }, () => {
  let coordinator: LyingCoordinator;
  let nodes: TestNode[] = [];
  let ids: [string, string, string];
  let keyset: KeysetRecord;
  const stranger = nodeIdFromPublicKey(ed25519.getPublicKey(randomBytes(32)));
  const completedSessions = () => coordinator.store.list().filter((s) => s.state === 'completed').length;

  before(async () => {
    coordinator = new LyingCoordinator({ storeFile: ':memory:', clusterId: 'test' });
    await coordinator.listen();
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId) as [string, string, string];
    keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
  });

  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('hides the requester: the requester knows it is connected and stays in its quorum (and key generation still sees all three)', async () => {
    coordinator.lie = (connected) => connected.filter((n) => n !== ids[0]);
    const asked = coordinator.presenceQueries;
    const out = await nodes[0]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [ids[0], ids[1]] });
    assert.ok(coordinator.presenceQueries > asked, 'the requester asked the coordinator');
    assert.deepEqual([...out.parties].sort(), [ids[0], ids[1]].sort());
    assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), Buffer.from(out.message, 'hex'), Buffer.from(keyset.publicKey!, 'hex')));
    const second = await nodes[0]!.services.cluster.createKeyset('eddsa');
    assert.equal(second.participants.length, 3);
    coordinator.lie = null;
  });

  it('names a stranger, a malformed id and repeats members: only the keyset members it asked about count, each once', async () => {
    coordinator.lie = (connected) => [stranger, 'not a node id', 42, ...connected, ...connected];
    const out = await nodes[1]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [stranger, ids[2]] });
    coordinator.lie = null;
    assert.deepEqual([...out.parties].sort(), [ids[1], ids[2]].sort());
    assert.ok(!coordinator.store.list().some((s) => (JSON.parse(s.info) as { parties: Array<{ nodeId: string }> }).parties.some((p) => p.nodeId === stranger)), 'no session ever named the stranger');
  });

  it('answers with garbage: the requester refuses with a sentence, nothing is created', async () => {
    const before = coordinator.store.list().length;
    for (const garbage of ['everyone', null, { [ids[1]]: true }]) {
      coordinator.lie = () => garbage;
      const failure = await failureOf(nodes[0]!.services.cluster.keyCheck(keyset.keysetId, 'key-check'));
      assert.equal(failure.code, 'COORDINATOR_ANSWER_INVALID', failure.message);
      assert.match(failure.message, /not a list of nodes/);
    }
    coordinator.lie = null;
    assert.equal(coordinator.store.list().length, before, 'no session was created on a garbage answer');
  });

  it('claims an away member is present: the session with it is never signed, the requester fails with a reason naming it, and signs once the lie stops', async () => {
    nodes[2]!.services.cluster.stop();
    await until(() => !coordinator.connectedNodes.includes(ids[2]));
    const completed = completedSessions();
    coordinator.lie = (connected) => [...connected, ids[2]];
    const failure = await failureOf(nodes[1]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [ids[2], ids[1]] }));
    coordinator.lie = null;
    assert.equal(failure.code, 'QUORUM_UNAVAILABLE', failure.message);
    assert.ok(failure.message.includes(ids[2]), failure.message);
    assert.equal(completedSessions(), completed, 'nothing was signed');
    // Told the truth, the requester picks the members that are there.
    const out = await nodes[1]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [ids[2], ids[1]] });
    assert.deepEqual([...out.parties].sort(), [ids[0], ids[1]].sort());
  });
});
