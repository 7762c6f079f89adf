/**
 * The signer node's control socket on its own (no cluster): owner-only, one bounded line per
 * connection, cancels exactly one running session named by a long enough id, refuses the rest,
 * and never takes over a path that is not its own stale socket.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ControlSocketError, MAX_CONTROL_LINE_BYTES, sendControl, serveControl, type RunningSession } from '../../main/node/control-socket';
import { tempDir } from '../support/temp-dir';

const A = 'ab'.repeat(32);
const B = 'ac'.repeat(32);

function fakeNode() {
  const running: RunningSession[] = [
    { sessionId: A, protocol: 'ecdsa-aux', keysetId: 'aux-1', step: 1, total: 4, label: 'searching primes' },
    { sessionId: B, protocol: 'ecdsa-dkg', keysetId: 'ks-1', step: 0, total: 3, label: 'running' },
  ];
  const cancelled: Array<{ sessionId: string; reason: string }> = [];
  return {
    cancelled,
    running: () => [...running],
    cancel: (sessionId: string, reason: string) => {
      const i = running.findIndex((r) => r.sessionId === sessionId);
      if (i < 0) return false;
      running.splice(i, 1);
      cancelled.push({ sessionId, reason });
      return true;
    },
  };
}

describe('node control socket', () => {
  const dir = tempDir('vk-ctl-');
  after(() => dir.cleanup());

  it('is owner-only, lists sessions, cancels one by its id prefix with the reason, and refuses everything else', async () => {
    const node = fakeNode();
    const told: string[] = [];
    const server = await serveControl(dir.path, node, 'cancelled by the operator', (line) => told.push(line));
    try {
      assert.equal(statSync(server.path).mode & 0o777, 0o600);
      assert.deepEqual(await sendControl(dir.path, 'sessions'), [`SESSION ${A} ecdsa-aux keyset aux-1 searching primes 1/4`, `SESSION ${B} ecdsa-dkg keyset ks-1 running 0/3`, 'END']);
      assert.match((await sendControl(dir.path, 'cancel a'))[0]!, /^REFUSED SESSION_ID_INVALID: /, 'too short to name a session');
      assert.match((await sendControl(dir.path, 'cancel ABABABAB'))[0]!, /^REFUSED SESSION_ID_INVALID: /, 'lower-case hex only');
      assert.match((await sendControl(dir.path, 'cancel a'.padEnd(15, '0')))[0]!, /^REFUSED SESSION_NOT_RUNNING: /);
      assert.match((await sendControl(dir.path, 'cancel'))[0]!, /^REFUSED COMMAND_UNKNOWN: /);
      assert.match((await sendControl(dir.path, `cancel ${A} ${B}`))[0]!, /^REFUSED COMMAND_UNKNOWN: /, 'one session per command');
      assert.match((await sendControl(dir.path, 'sign everything'))[0]!, /^REFUSED COMMAND_UNKNOWN: /);
      assert.match((await sendControl(dir.path, `cancel ${'ab'.repeat(MAX_CONTROL_LINE_BYTES)}`))[0]!, /^REFUSED COMMAND_TOO_LONG: /);
      assert.deepEqual(node.cancelled, [], 'no refused command cancelled anything');

      // 'a' + 7 more digits would match both ids only if they shared them; 'ab…' names A alone.
      assert.deepEqual(await sendControl(dir.path, `cancel ${A.slice(0, 8)}`), [`CANCELLED ${A} ecdsa-aux keyset aux-1`]);
      assert.deepEqual(node.cancelled, [{ sessionId: A, reason: 'cancelled by the operator' }]);
      assert.deepEqual(told, [`CANCELLED ${A} ecdsa-aux keyset aux-1`], 'the node prints what was cancelled');
      assert.match((await sendControl(dir.path, `cancel ${A}`))[0]!, /^REFUSED SESSION_NOT_RUNNING: /, 'a session is cancelled once');
    } finally {
      server.close();
    }
  });

  it('refuses a prefix that names two sessions', async () => {
    const node = fakeNode();
    const server = await serveControl(dir.path, { running: () => [...node.running(), { ...node.running()[0]!, sessionId: `${A.slice(0, 10)}ff${A.slice(12)}` }], cancel: node.cancel }, 'r', () => undefined);
    try {
      assert.match((await sendControl(dir.path, `cancel ${A.slice(0, 10)}`))[0]!, /^REFUSED SESSION_ID_AMBIGUOUS: 2 running sessions/);
      assert.deepEqual(node.cancelled, []);
    } finally {
      server.close();
    }
  });

  it('a line that never ends is refused once it passes the bound, not buffered without end', async () => {
    const server = await serveControl(dir.path, fakeNode(), 'r', () => undefined);
    try {
      const answer = await new Promise<string>((resolve) => {
        const socket = createConnection(server.path);
        let text = '';
        socket.on('data', (c) => (text += c.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        socket.write('x'.repeat(MAX_CONTROL_LINE_BYTES + 1));
      });
      assert.match(answer, /^REFUSED COMMAND_TOO_LONG: /);
    } finally {
      server.close();
    }
  });

  it('refuses a live socket (one node per data folder) and anything at its path that is not a socket', async () => {
    const first = await serveControl(dir.path, fakeNode(), 'r', () => undefined);
    await assert.rejects(serveControl(dir.path, fakeNode(), 'r', () => undefined), (e: ControlSocketError) => e.code === 'NODE_ALREADY_RUNNING');
    first.close();
    const other = tempDir('vk-ctl-file-');
    try {
      writeFileSync(join(other.path, 'control.sock'), 'not a socket');
      await assert.rejects(serveControl(other.path, fakeNode(), 'r', () => undefined), (e: ControlSocketError) => e.code === 'CONTROL_PATH_TAKEN');
      assert.equal(statSync(join(other.path, 'control.sock')).isFile(), true, 'the file was left alone');
    } finally {
      other.cleanup();
    }
    await assert.rejects(sendControl(join(dir.path, 'nobody-here'), 'sessions'), /no node is running/);
  });
});
