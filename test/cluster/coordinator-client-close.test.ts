/**
 * A node leaving its coordinator closes the link with the WebSocket closing handshake, so the
 * line it sent just before (a session's cancel, telling the peers why) reaches the coordinator:
 * a destroyed socket may drop its unsent bytes and shows as an abnormal close (1006). A stand-in
 * coordinator on 127.0.0.1 answers the hello and records what arrives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { CoordinatorClient } from '../../main/cluster/coordinator-client';
import type { LocalIdentity } from '../../main/cluster/identity';

const identity = { nodeId: 'node-a', card: { signingPublicKey: '00'.repeat(32) }, sign: () => Buffer.alloc(64) } as unknown as LocalIdentity;

describe('coordinator link close', () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  before(() => new Promise<void>((resolve) => (server.address() ? resolve() : server.once('listening', () => resolve()))));

  it('delivers the last line and closes with 1000, without reporting the link as lost', async () => {
    const seen = new Promise<{ lines: string[]; code: number }>((resolve) => {
      server.once('connection', (ws) => {
        const lines: string[] = [];
        ws.send(JSON.stringify({ t: 'challenge', nonce: randomBytes(16).toString('hex'), clusterId: 'c1' }));
        ws.on('message', (data) => {
          const msg = JSON.parse(data.toString()) as { t: string };
          lines.push(msg.t);
          if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', nodeId: 'node-a', clusterId: 'c1' }));
        });
        ws.on('close', (code) => resolve({ lines, code }));
      });
    });
    let reportedLost = 0;
    const client = new CoordinatorClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, identity, { onMessage: () => undefined, onClose: () => reportedLost++ });
    assert.equal(await client.connect('c1', 5_000), 'c1');
    client.send({ t: 'failed', sessionId: 's1', failure: { errorClass: 'permanent', code: 'CANCELLED', reason: 'The operator of node-a stopped it (SIGINT).' } });
    await client.close();
    const { lines, code } = await seen;
    assert.deepEqual(lines, ['hello', 'failed']);
    assert.equal(code, 1000, 'a closing handshake, not a destroyed socket');
    assert.equal(client.connected, false);
    assert.equal(reportedLost, 0);
  });
});
