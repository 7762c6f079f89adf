/**
 * A hostile coordinator against one signer node: repeated invites, random, duplicated, reordered
 * and oversized messages, for every protocol (auxiliary data and ECDSA key generation on it included). The node must stay up (no unhandled rejection), refuse what it cannot
 * take part in, and leave its database unchanged except for audit rows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WebSocketServer, type WebSocket } from 'ws';
import { MPC_PROTOCOLS, type SessionInfo } from '../../main/coordinator/protocol';
import { enrolAll, startNode, stopNode, testPrimes, until, type TestNode, sessionDescription, signedInvite } from './support';

let unhandled = 0;
const onUnhandled = () => {
  unhandled += 1;
};

/** A coordinator on 127.0.0.1 that welcomes anyone and then sends whatever the test says. */
async function fakeCoordinator(): Promise<{ url: string; send: (m: unknown) => void; received: unknown[]; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let peer: WebSocket | null = null;
  const received: unknown[] = [];
  wss.on('connection', (ws) => {
    peer = ws;
    ws.send(JSON.stringify({ t: 'challenge', nonce: randomBytes(32).toString('hex'), clusterId: 'test' }));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { t: string; nodeId?: string };
      received.push(m);
      if (m.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', nodeId: m.nodeId, clusterId: 'test' }));
    });
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    send: (m) => peer!.send(typeof m === 'string' ? m : JSON.stringify(m)),
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Every table but the audit log, as rows: what a hostile message must not change. */
function snapshot(node: TestNode): string {
  const tables = (node.services.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_log') ORDER BY name`).all() as Array<{ name: string }>).map((t) => t.name);
  return JSON.stringify(tables.map((t) => [t, node.services.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}

describe('hostile coordinator messages', { timeout: 300_000 }, () => {
  let nodes: TestNode[] = [];
  let ids: string[] = [];

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    // Test primes: an ecdsa-aux or ecdsa-dkg invite that got through would not wait on a prime search.
    const primes = testPrimes();
    nodes = [await startNode('console', primes[0], undefined, { acceptKeygen: false }), await startNode('node-b', primes[1]), await startNode('node-c', primes[2])];
    await enrolAll(nodes);
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const n of nodes) await stopNode(n).catch(() => undefined);
  });

  const invite = (over: Partial<SessionInfo> = {}) => sessionDescription(ids, over);

  it('a repeated invite (same session id) is refused; the node stays up and records the session once', async () => {
    const a = nodes[0]!;
    a.services.cluster.openKeygenWindow(5);
    const coordinator = await fakeCoordinator();
    try {
      await a.services.cluster.connect(coordinator.url);
      // A genuine request signed by node-b, relayed more than once.
      const relay = await signedInvite(nodes[1]!, invite());
      const info = relay.session;
      coordinator.send(relay);
      await until(() => coordinator.received.some((m) => (m as { t: string }).t === 'accept'));
      coordinator.send(relay);
      coordinator.send(relay);
      await until(() => (a.services.cluster.refusals.pending()['repeated invite (session id already known here)'] ?? 0) === 2);
      // The connection and the process are still there; one session row, one accept.
      assert.equal(a.services.cluster.connected, true);
      assert.equal(unhandled, 0, 'no unhandled rejection');
      assert.equal(a.services.cluster.sessions().filter((s) => s.sessionId === info.sessionId).length, 1);
      assert.equal(coordinator.received.filter((m) => (m as { t: string }).t === 'accept').length, 1);
      // The coordinator ends it; later hostile repeats of its messages change nothing.
      coordinator.send({ t: 'session-end', session: info, state: 'failed', failure: { errorClass: 'transient', code: 'TIMEOUT', reason: 'test' } });
      await until(() => a.services.cluster.sessions().find((s) => s.sessionId === info.sessionId)?.state === 'failed');
      coordinator.send(relay);
      coordinator.send({ t: 'start', sessionId: info.sessionId });
      coordinator.send({ t: 'session-end', session: info, state: 'completed', result: {} });
      coordinator.send('{"t":"invite"');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.services.cluster.sessions().find((s) => s.sessionId === info.sessionId)?.state, 'failed');
      assert.equal(unhandled, 0);
    } finally {
      a.services.cluster.closeKeygenWindow();
      a.services.cluster.stop();
      await a.services.vault.lock().catch(() => undefined);
      await a.services.vault.unlock('correct horse battery staple orbit');
      await coordinator.close();
    }
  });

  it('random, duplicated, reordered and oversized coordinator messages: process alive, database unchanged except audit rows', async () => {
    const a = nodes[0]!;
    await a.services.cluster.identity();
    const sessionIds = Array.from({ length: 4 }, () => randomBytes(32).toString('hex'));
    const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
    const nodeIdArb = fc.oneof(fc.constantFrom(...ids), hex(16));
    const info = fc.record({
      sessionId: fc.oneof(fc.constantFrom(...sessionIds), hex(32)),
      protocol: fc.constantFrom(...MPC_PROTOCOLS, 'bogus'),
      clusterId: fc.constantFrom('test', 'other'),
      keysetId: fc.constantFrom('ks-unknown', 'ks-1'),
      parties: fc.oneof(
        fc.constant(ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex }))),
        fc.array(fc.record({ nodeId: nodeIdArb, partyIndex: fc.integer({ min: -1, max: 20 }) }), { minLength: 0, maxLength: 4 }),
      ),
      threshold: fc.integer({ min: 0, max: 17 }),
      message: fc.option(hex(32), { nil: undefined }),
      presignatureId: fc.option(hex(32), { nil: undefined }),
      // ecdsa-dkg names the group's auxiliary data; a hostile one names any.
      auxId: fc.option(hex(32), { nil: undefined }),
      requester: nodeIdArb,
      deadlineAt: fc.oneof(fc.constant(Date.now() - 1000), fc.constant(Date.now() + 60_000), fc.constant(Number.MAX_SAFE_INTEGER)),
    });
    const message = fc.oneof(
      info.map((session) => ({ t: 'invite', session })),
      fc.constantFrom(...sessionIds).map((sessionId) => ({ t: 'start', sessionId })),
      fc.record({ t: fc.constant('envelope'), sessionId: fc.constantFrom(...sessionIds), from: nodeIdArb, envelope: fc.anything() }),
      fc.record({ t: fc.constant('session-end'), session: info, state: fc.constantFrom('completed', 'failed'), result: fc.option(fc.record({ address: fc.string({ maxLength: 10 }), auxId: fc.option(hex(32), { nil: undefined }), presignatureId: fc.option(hex(32), { nil: undefined }) }), { nil: undefined }) }),
      info.map((session) => ({ t: 'invite', session: { ...session, message: 'ab'.repeat(300_000) } })),
      // Right tag, wrong body: what a handler that trusted the tag would trip over.
      fc.record({ t: fc.constantFrom('invite', 'start', 'envelope', 'session-end'), session: fc.anything(), sessionId: fc.anything(), state: fc.anything() }),
      fc.anything(),
    );
    const before = snapshot(a);
    const auditBefore = (a.services.db.prepare('SELECT COUNT(*) AS c FROM audit_log').get() as { c: number }).c;
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 25 }), async (messages) => {
        // Each batch is delivered in order, then again reordered with duplicates.
        for (const m of [...messages, ...[...messages].reverse(), ...messages.slice(0, 3)]) await a.services.cluster.handleNetworkMessage(m);
        assert.equal(unhandled, 0);
        assert.equal(snapshot(a), before);
      }),
      { numRuns: 60, seed: 20261127 },
    );
    a.services.cluster.refusals.flush();
    const audit = a.services.db.prepare('SELECT entry FROM audit_log').all() as Array<{ entry: string }>;
    // The refusals became one summary row, not a row each.
    assert.equal(audit.length, auditBefore + 1);
    assert.match(audit.at(-1)!.entry, /MPC_INVITES_REFUSED/);
    assert.equal(a.services.audit.verify().intact, true);
  });
});
