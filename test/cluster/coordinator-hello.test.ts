/**
 * The coordinator admits a node only on a signed answer to its fresh challenge: a hello with a bad
 * signature, a node id that is not the key's, or a signature over another nonce or cluster is
 * closed with 4003, and the node never appears as connected. Real coordinator on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { transcript } from '../../main/cluster/keys';
import type { Coordinator } from '../../main/coordinator/server';
import { HELLO_LABEL } from '../../main/coordinator/protocol';
import { nodeIdFromPublicKey } from '../../main/identity/node-identity';
import { startCoordinator } from './support';

interface NodeKey {
  privateKey: KeyObject;
  publicKey: Buffer;
  nodeId: string;
}

function nodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, publicKey: raw, nodeId: nodeIdFromPublicKey(raw) };
}

type Outcome = { closeCode: number; reason: string; messages: Array<{ t: string }> };

/** Connects, answers the challenge with what `hello` builds from it, and reports how it ended. */
function connect(url: string, hello: (challenge: { nonce: string; clusterId: string }) => object): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Array<{ t: string }> = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('the coordinator neither welcomed nor closed the connection'));
    }, 5_000);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { t: string; nonce: string; clusterId: string };
      messages.push(msg);
      if (msg.t === 'challenge') ws.send(JSON.stringify(hello(msg)));
      // Welcomed: close from our side so the outcome is reported.
      if (msg.t === 'welcome') ws.close(1000, 'done');
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ closeCode: code, reason: reason.toString(), messages });
    });
    ws.on('error', () => undefined);
  });
}

const signHello = (key: NodeKey, nonce: string, nodeId: string, clusterId: string) =>
  sign(null, transcript(HELLO_LABEL, nonce, nodeId, clusterId), key.privateKey).toString('hex');

describe('coordinator hello identity proof', () => {
  let coordinator: Coordinator;
  const me = nodeKey();
  const other = nodeKey();

  before(async () => {
    coordinator = await startCoordinator({ clusterId: 'hello-test' });
  });
  after(async () => {
    await coordinator.close();
  });

  const refused = (outcome: Outcome) => {
    assert.equal(outcome.closeCode, 4003, JSON.stringify(outcome));
    assert.equal(outcome.reason, 'identity proof failed');
    assert.ok(!outcome.messages.some((m) => m.t === 'welcome'), 'a refused node was welcomed');
    assert.ok(!coordinator.connectedNodes.includes(other.nodeId));
  };

  it('welcomes a node that signs the challenge with the key its id comes from (control)', async () => {
    const outcome = await connect(coordinator.url, ({ nonce, clusterId }) => ({ t: 'hello', nodeId: me.nodeId, signingPublicKey: me.publicKey.toString('hex'), signature: signHello(me, nonce, me.nodeId, clusterId) }));
    assert.deepEqual(outcome.messages.map((m) => m.t), ['challenge', 'welcome']);
    assert.equal(outcome.closeCode, 1000);
  });

  it('closes 4003 on a signature that does not verify', async () => {
    refused(
      await connect(coordinator.url, ({ nonce, clusterId }) => {
        const signature = Buffer.from(signHello(me, nonce, me.nodeId, clusterId), 'hex');
        signature[10]! ^= 0x01;
        return { t: 'hello', nodeId: me.nodeId, signingPublicKey: me.publicKey.toString('hex'), signature: signature.toString('hex') };
      }),
    );
  });

  it('closes 4003 on a node id that is not derived from the presented key', async () => {
    // Claims another node's id while proving possession of its own key.
    refused(await connect(coordinator.url, ({ nonce, clusterId }) => ({ t: 'hello', nodeId: other.nodeId, signingPublicKey: me.publicKey.toString('hex'), signature: signHello(me, nonce, other.nodeId, clusterId) })));
  });

  it("closes 4003 on another node's key presented under that node's id, signed by someone else", async () => {
    refused(await connect(coordinator.url, ({ nonce, clusterId }) => ({ t: 'hello', nodeId: other.nodeId, signingPublicKey: other.publicKey.toString('hex'), signature: signHello(me, nonce, other.nodeId, clusterId) })));
  });

  it('closes 4003 on a signature over another nonce (a replayed hello)', async () => {
    const stale = 'ab'.repeat(32);
    refused(await connect(coordinator.url, ({ clusterId }) => ({ t: 'hello', nodeId: me.nodeId, signingPublicKey: me.publicKey.toString('hex'), signature: signHello(me, stale, me.nodeId, clusterId) })));
  });

  it('closes 4003 on a signature for another cluster', async () => {
    refused(await connect(coordinator.url, ({ nonce }) => ({ t: 'hello', nodeId: me.nodeId, signingPublicKey: me.publicKey.toString('hex'), signature: signHello(me, nonce, me.nodeId, 'other-cluster') })));
  });
});
