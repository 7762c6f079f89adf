/**
 * What invites from the network can make a node do: no key generation unless this node's operator
 * opened it, bounded concurrent sessions per node and per requester (one bound for coordinator and
 * air-gap sessions together), deadlines enforced while a session runs, and one audit summary per
 * window for refusals instead of a row each.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SessionInfo } from '../../main/coordinator/protocol';
import { AppFailure } from '../../main/errors';
import { tempDir } from '../support/temp-dir';
import type { Coordinator } from '../../main/coordinator/server';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode, sessionDescription, signedInvite } from './support';

describe('session limits', { timeout: 120_000 }, () => {
  let nodes: TestNode[] = [];
  let ids: string[] = [];
  let a: TestNode;
  let coordinator: Coordinator | null = null;

  before(async () => {
    a = await startNode('console', undefined, undefined, { acceptKeygen: false, limits: { maxConcurrent: 3, maxPerRequester: 2 } });
    nodes = [a, await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    // Only this node is connected: it learns the cluster id, and nobody else answers its invites.
    coordinator = await startCoordinator();
    await a.services.cluster.connect(coordinator.url);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator?.close();
  });

  const invite = (over: Partial<SessionInfo> = {}) => sessionDescription(ids, over);
  /** Relays an invite carrying a request genuinely signed by the node it names as requester. */
  const send = async (info: SessionInfo) => a.services.cluster.handleNetworkMessage(await signedInvite(nodes[ids.indexOf(info.requester)]!, info));
  const row = (info: SessionInfo) => a.services.cluster.sessions().find((s) => s.sessionId === info.sessionId);
  const auditRows = () => (a.services.db.prepare('SELECT COUNT(*) AS c FROM audit_log').get() as { c: number }).c;

  it("refuses a key-generation invite unless this node's operator opened a key-generation window", async () => {
    const ecdsa = invite({ protocol: 'ecdsa-keygen' });
    await send(ecdsa);
    await send(invite());
    assert.equal(row(ecdsa), undefined, 'no session, no prime search, on a peer invite outside a window');
    assert.equal(a.services.cluster.sessions().length, 0);
    assert.equal(a.services.cluster.refusals.pending()["key generation is not open on this node (its operator has not started one or opened a key-generation window)"], 2);
    a.services.cluster.openKeygenWindow(1);
    const later = invite();
    await send(later);
    assert.equal(row(later)?.state, 'running');
    // The window closes by the clock too: past it, invites are refused again.
    a.services.cluster.closeKeygenWindow();
    const closed = invite();
    await send(closed);
    assert.equal(row(closed), undefined);
  });

  it('enforces the deadline during the run: a session past it is aborted and recorded failed, its slot freed', async () => {
    a.services.cluster.openKeygenWindow(5);
    const info = invite({ requester: ids[2]!, deadlineAt: Date.now() + 300 });
    await send(info);
    assert.equal(row(info)?.state, 'running');
    await until(() => row(info)?.state === 'failed', 5_000);
    assert.equal(row(info)?.errorCode, 'DEADLINE_PASSED');
  });

  it('bounds concurrent sessions per requester and per node', async () => {
    a.services.cluster.openKeygenWindow(5);
    // The first test left one running session from node-b (60 s deadline).
    const fromB = [invite({ deadlineAt: Date.now() + 1_500 }), invite({ deadlineAt: Date.now() + 1_500 })];
    for (const i of fromB) await send(i);
    assert.equal(row(fromB[0]!)?.state, 'running');
    assert.equal(row(fromB[1]!), undefined, 'node-b already has 2 sessions here (its limit)');
    const fromC = [invite({ requester: ids[2]!, deadlineAt: Date.now() + 1_500 }), invite({ requester: ids[2]!, deadlineAt: Date.now() + 1_500 })];
    for (const i of fromC) await send(i);
    assert.equal(row(fromC[0]!)?.state, 'running');
    assert.equal(row(fromC[1]!), undefined, 'the node runs 3 sessions (its limit)');
    const pending = a.services.cluster.refusals.pending();
    assert.ok(Object.keys(pending).some((k) => k.startsWith('this requester already has 2 sessions')));
    assert.ok(Object.keys(pending).some((k) => k.startsWith('this node already runs 3 sessions')));
    // Once the short sessions pass their deadline, their slots are free again.
    await until(() => row(fromC[0]!)?.state === 'failed', 5_000);
    const again = invite({ requester: ids[2]!, deadlineAt: Date.now() + 1_000 });
    await send(again);
    assert.equal(row(again)?.state, 'running');
  });

  it('a flood of refused invites writes one audit summary per window, with counts by reason', async () => {
    a.services.cluster.refusals.flush();
    a.services.cluster.closeKeygenWindow();
    const before = auditRows();
    for (let i = 0; i < 40; i += 1) await send(invite());
    for (let i = 0; i < 5; i += 1) await a.services.cluster.handleNetworkMessage({ t: 'invite', session: { junk: i } });
    assert.equal(auditRows(), before, 'no row per refusal');
    a.services.cluster.refusals.flush();
    assert.equal(auditRows(), before + 1);
    const entry = a.services.audit.list({ limit: 1 }).entries[0]!;
    assert.equal(entry.type, 'MPC_INVITES_REFUSED');
    const details = entry.details as { total: number; byReason: Record<string, number> };
    assert.equal(details.total, 45);
    assert.equal(details.byReason['malformed coordinator message'], 5);
  });

  it('one bound covers coordinator and air-gap sessions: files fill it and an invite is declined; invites fill it and every air-gap request is refused', async () => {
    const d = await startNode('node-d', undefined, undefined, { limits: { maxConcurrent: 2, maxPerRequester: 2 } });
    nodes.push(d);
    const [b, c] = [nodes[1]!, nodes[2]!];
    for (const [x, y] of [[d, b], [d, c], [b, d], [c, d]] as const) {
      const them = await y.services.cluster.identity();
      x.services.cluster.enrolPeer(them.card, them.fingerprint);
    }
    for (const n of [d, b, c]) await n.services.cluster.connect(coordinator!.url);
    const keyset = await d.services.cluster.createKeyset('eddsa');
    await until(() => [d, b].every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 30_000);
    for (const n of [b, c]) n.services.cluster.disconnect();
    const [idD, idB, idC] = await Promise.all([d, b, c].map(async (n) => (await n.services.cluster.identity()).nodeId));
    const media = tempDir('vk-limits-media-');
    let n = 0;
    const medium = () => {
      const dir = join(media.path, `m-${(n += 1)}`);
      mkdirSync(dir);
      return dir;
    };
    const full = (e: unknown) => e instanceof AppFailure && e.code === 'MPC_SESSION_REJECTED' && /this node already runs 2 sessions \(limit 2\)/.test(e.message);
    try {
      // Files fill the bound (a key generation and a key check, both requested here): a coordinator invite is declined.
      await d.services.cluster.airgapGroup.keygen('eddsa', medium(), { ttlMs: 1_500 });
      await d.services.cluster.airgapRequest(keyset.keysetId, { purpose: 'key-check' }, idB!, medium(), { ttlMs: 1_500 });
      const declined = sessionDescription([idD!, idB!, idC!], { requester: idB! });
      await d.services.cluster.handleNetworkMessage(await signedInvite(b, declined));
      assert.equal(d.services.cluster.sessions().find((s) => s.sessionId === declined.sessionId), undefined, 'not joined while air-gap sessions fill the bound');
      assert.equal(d.services.cluster.refusals.pending()['this node already runs 2 sessions (limit 2)'], 1);
      await until(() => d.services.cluster.airgapSessions().length === 0 && d.services.cluster.airgapGroup.infos().length === 0, 10_000);

      // Invites fill the bound: a key check or key generation requested here by files, and one imported from a peer, are refused.
      for (const requester of [idB!, idC!]) {
        const info = sessionDescription([idD!, idB!, idC!], { requester });
        await d.services.cluster.handleNetworkMessage(await signedInvite(requester === idB ? b : c, info));
        assert.equal(d.services.cluster.sessions().find((s) => s.sessionId === info.sessionId)?.state, 'running');
      }
      await assert.rejects(d.services.cluster.airgapRequest(keyset.keysetId, { purpose: 'key-check' }, idB!, medium(), { ttlMs: 1_500 }), full);
      await assert.rejects(d.services.cluster.airgapGroup.keygen('eddsa', medium(), { ttlMs: 1_500 }), full);
      const fromB = medium();
      await b.services.cluster.airgapRequest(keyset.keysetId, { purpose: 'key-check' }, idD!, fromB, { ttlMs: 1_500 });
      const report = await d.services.cluster.airgapImport(fromB);
      assert.deepEqual(report.joined, []);
      assert.equal(report.refused.length, 1);
      assert.ok(full(new AppFailure(report.refused[0]!.code as never, report.refused[0]!.message)), JSON.stringify(report.refused));
      assert.equal(d.services.cluster.airgapSessions().length + d.services.cluster.airgapGroup.infos().length, 0, 'no air-gap session started');
    } finally {
      media.cleanup();
    }
  });
});
