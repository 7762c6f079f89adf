import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Coordinator } from '../../main/coordinator/server';
import type { NodeCard } from '../../main/cluster/identity';
import { GOOD_PASSPHRASE } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { startCoordinator, startNode, stopNode, until, type TestNode } from './support';

describe('headless signer node as a child process: kill -9 mid-session, restart', { timeout: 120_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let child: ChildProcess | null = null;
  const dir = tempDir('vk-node-child-');
  const peersFile = join(dir.path, 'peers.json');
  let holdTo: string | null = null;
  let held = 0;

  const spawnNode = (init: boolean): ChildProcess => {
    const args = ['--import', 'tsx', 'main/node/cli.ts', '--data', join(dir.path, 'data'), '--coordinator', coordinator.url, '--name', 'node-c', '--peers', peersFile, '--kdf-test-cost', '--accept-keygen-minutes', '10', '--state-dir', join(dir.path, 'state'), ...(init ? ['--init'] : [])];
    const proc = spawn(process.execPath, args, { env: { ...process.env, VAULTKEEPER_NODE_PASSPHRASE: GOOD_PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.resume();
    proc.stderr!.resume();
    return proc;
  };

  before(async () => {
    coordinator = await startCoordinator({
      relayFilter: (r) => {
        if (holdTo && r.to === holdTo) {
          held += 1;
          return null;
        }
        return r.envelope;
      },
    });
    nodes = [await startNode('console'), await startNode('node-b')];
    child = spawnNode(true);
    const cardFile = join(dir.path, 'data', 'node-card.json');
    await until(() => existsSync(cardFile), 30_000);
    const c = JSON.parse(readFileSync(cardFile, 'utf8')) as { card: NodeCard; fingerprint: string };
    const mine = await Promise.all(nodes.map(async (n) => ({ card: (await n.services.cluster.identity()).card, fingerprint: (await n.services.cluster.identity()).fingerprint })));
    // Operators compare the words on both screens; here each side confirms what the other shows.
    nodes[0]!.services.cluster.enrolPeer(mine[1]!.card, mine[1]!.fingerprint);
    nodes[1]!.services.cluster.enrolPeer(mine[0]!.card, mine[0]!.fingerprint);
    for (const n of nodes) n.services.cluster.enrolPeer(c.card, c.fingerprint);
    writeFileSync(peersFile, JSON.stringify(mine));
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    await until(() => coordinator.connectedNodes.includes(c.card.nodeId), 30_000);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
    dir.cleanup();
  });

  it('the session with the killed node ends as failed, the retry signs, and after restart its stored share still signs', async () => {
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    const [a, c] = [keyset.participants[0]!.nodeId, keyset.participants.find((p) => p.nodeId !== keyset.participants[0]!.nodeId && p.nodeId !== nodes[1]!.services.cluster.nodes().find((n) => n.isSelf)!.nodeId)!.nodeId];

    holdTo = c;
    // Key checks: the headless node has no permit verifier, and a key check may be retried.
    const signing = nodes[0]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [a, c] });
    await until(() => held > 0, 10_000);
    child!.kill('SIGKILL');
    const out = await signing;
    holdTo = null;
    assert.equal(out.attempts, 2);
    assert.ok(!out.parties.includes(c));
    const lost = coordinator.store.list().find((s) => s.error_code === 'PEER_DISCONNECTED');
    assert.equal(lost?.blamed_node, c);
    assert.equal(lost?.state, 'failed');

    child = spawnNode(false);
    await until(() => coordinator.connectedNodes.includes(c), 30_000);
    const again = await nodes[0]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [a, c] });
    assert.deepEqual([...again.parties].sort(), [a, c].sort());

    child.kill('SIGTERM');
    await until(() => child!.exitCode !== null || child!.signalCode !== null, 10_000);
    const db = new Database(join(dir.path, 'data', 'vaultkeeper.sqlite3'), { readonly: true });
    const rows = db.prepare('SELECT state, error_code FROM mpc_sessions').all() as Array<{ state: string; error_code: string | null }>;
    db.close();
    assert.ok(rows.every((r) => r.state !== 'running'));
    assert.ok(rows.some((r) => r.error_code === 'NODE_RESTARTED'), 'the interrupted session was closed as failed on restart');
  });
});
