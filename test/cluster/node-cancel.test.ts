/**
 * Cancelling a long step from the signer node's command line: a child node searching its Paillier
 * primes for the group's auxiliary data is cancelled with `--cancel`, then (a second run) stopped
 * with Ctrl-C; each time the session ends failed at every node with the reason the operator's
 * node gave, not a timeout or a lost connection. The control socket refuses what is not a
 * cancel of one running session.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Coordinator } from '../../main/coordinator/server';
import type { NodeCard } from '../../main/cluster/identity';
import { MAX_CONTROL_LINE_BYTES, sendControl } from '../../main/node/control-socket';
import { GOOD_PASSPHRASE } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** Runs the node's command line once, without blocking this process (its nodes keep serving). */
function nodeCommand(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(TSX, ['main/node/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 150_000);
    proc.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('node command line: progress and cancellation of a long step', { timeout: 480_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let child: ChildProcess | null = null;
  let childOut = '';
  const dir = tempDir('vk-cancel-');
  const data = join(dir.path, 'data');
  const peersFile = join(dir.path, 'peers.json');

  /** The child's aux session once its node reports it running (through the control socket). */
  const runningAux = async (): Promise<string> => {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const lines = await sendControl(data, 'sessions').catch(() => [] as string[]);
      const id = lines.find((l) => l.startsWith('SESSION ') && l.includes(' ecdsa-aux '))?.split(' ')[1];
      if (id) return id;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the child node never reported the aux session running');
  };

  /** Each in-process node's own record of the session. */
  const recorded = (sessionId: string) => nodes.map((n) => n.services.cluster.sessions(20).find((s) => s.sessionId === sessionId));

  before(async () => {
    coordinator = await startCoordinator();
    const primes = testPrimes();
    nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1])];
    // node-c has no primes: its part of the auxiliary data starts with a long prime search.
    child = spawn(process.execPath, ['--import', 'tsx', 'main/node/cli.ts', '--data', data, '--coordinator', coordinator.url, '--name', 'node-c', '--peers', peersFile, '--kdf-test-cost', '--accept-keygen-minutes', '10', '--state-dir', join(dir.path, 'state'), '--init'], {
      env: { ...process.env, VAULTKEEPER_NODE_PASSPHRASE: GOOD_PASSPHRASE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (childOut += chunk.toString('utf8')));
    child.stderr!.resume();
    const cardFile = join(data, 'node-card.json');
    await until(() => existsSync(cardFile), 60_000);
    const c = JSON.parse(readFileSync(cardFile, 'utf8')) as { card: NodeCard; fingerprint: string };
    const mine = await Promise.all(nodes.map(async (n) => ({ card: (await n.services.cluster.identity()).card, fingerprint: (await n.services.cluster.identity()).fingerprint })));
    nodes[0]!.services.cluster.enrolPeer(mine[1]!.card, mine[1]!.fingerprint);
    nodes[1]!.services.cluster.enrolPeer(mine[0]!.card, mine[0]!.fingerprint);
    for (const n of nodes) n.services.cluster.enrolPeer(c.card, c.fingerprint);
    writeFileSync(peersFile, JSON.stringify(mine));
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    await until(() => coordinator.connectedNodes.includes(c.card.nodeId), 60_000);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
    dir.cleanup();
  });

  it('--cancel ends the running aux session as failed at every node with the operator reason; the socket refuses anything else', async () => {
    assert.equal(statSync(join(data, 'control.sock')).mode & 0o777, 0o600, 'the control socket is owner-only');
    const aux = nodes[0]!.services.cluster.prepareAuxData({ timeoutMs: 180_000 });
    aux.catch(() => undefined);
    const sessionId = await runningAux();

    // Refusals: not an id, not a running session, an unknown command, an oversized line.
    assert.match((await sendControl(data, 'cancel not-a-session'))[0]!, /^REFUSED SESSION_ID_INVALID: /);
    assert.match((await sendControl(data, `cancel ${'0'.repeat(16)}`))[0]!, /^REFUSED SESSION_NOT_RUNNING: /);
    assert.match((await sendControl(data, `sign ${sessionId}`))[0]!, /^REFUSED COMMAND_UNKNOWN: /);
    assert.match((await sendControl(data, `cancel ${sessionId} ${'x'.repeat(MAX_CONTROL_LINE_BYTES)}`))[0]!, /^REFUSED COMMAND_TOO_LONG: /);
    assert.ok((await sendControl(data, 'sessions')).some((l) => l.startsWith(`SESSION ${sessionId} ecdsa-aux`)), 'the refused commands cancelled nothing');

    await until(() => childOut.includes(`PROGRESS ${sessionId.slice(0, 16)} ecdsa-aux `), 10_000);
    const run = await nodeCommand(['--data', data, '--cancel', sessionId.slice(0, 16)]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^CANCELLED ${sessionId} ecdsa-aux `, 'm'));

    await assert.rejects(aux, (e: Error & { code?: string }) => /cancelled the session from its command line/.test(e.message));
    await until(() => recorded(sessionId).every((s) => s?.state === 'failed'), 10_000);
    for (const s of recorded(sessionId)) {
      assert.equal(s!.errorCode, 'CANCELLED');
      assert.match(s!.errorReason ?? '', /operator of node node-c cancelled the session from its command line/);
    }
    assert.equal(coordinator.store.get(sessionId)?.error_code, 'CANCELLED');
    assert.match(childOut, new RegExp(`^CANCELLED ${sessionId} ecdsa-aux `, 'm'));
    assert.deepEqual(await sendControl(data, 'sessions'), ['END']);

    // Nothing runs with that id any more: a second cancel is refused and exits 3.
    const again = await nodeCommand(['--data', data, '--cancel', sessionId]);
    assert.equal(again.status, 3);
    assert.match(again.stdout, /^REFUSED SESSION_NOT_RUNNING: /m);
  });

  it('Ctrl-C ends the running session at every node with the reason that the operator stopped the node, then the node exits', async () => {
    const aux = nodes[0]!.services.cluster.prepareAuxData({ timeoutMs: 180_000 });
    aux.catch(() => undefined);
    const sessionId = await runningAux();
    child!.kill('SIGINT');
    await assert.rejects(aux, (e: Error) => /operator of node node-c stopped it \(SIGINT\)/.test(e.message));
    await until(() => recorded(sessionId).every((s) => s?.state === 'failed'), 10_000);
    for (const s of recorded(sessionId)) assert.equal(s!.errorCode, 'CANCELLED');
    assert.equal(coordinator.store.get(sessionId)?.error_code, 'CANCELLED', 'the peers heard the reason, not a lost connection');
    await until(() => child!.exitCode !== null, 30_000);
    assert.equal(child!.exitCode, 0);
    assert.match(childOut, new RegExp(`^CANCELLED ${sessionId} ecdsa-aux `, 'm'));
    assert.ok(!existsSync(join(data, 'control.sock')), 'the control socket is removed on exit');
  });
});
