import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { recoverAddress, Signature } from 'ethers';
import type { Coordinator } from '../../main/coordinator/server';
import { enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

// One ECDSA key generation only: it takes tens of seconds with the current big-integer backend.
describe('ECDSA keyset through the coordinator on loopback', { timeout: 400_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];

  before(async () => {
    coordinator = await startCoordinator();
    const primes = testPrimes();
    nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1]), await startNode('node-c', primes[2])];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('creates a 2-of-3 keyset with an Ethereum address and signs a digest that recovers to it', async () => {
    const keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa');
    assert.match(keyset.keyRef, /^mpc-tecdsa:\/\/test\/ks-/);
    assert.match(keyset.address ?? '', /^0x[0-9a-fA-F]{40}$/);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
    const ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    const digest = createHash('sha256').update('ecdsa over the cluster').digest();
    const out = await nodes[0]!.services.cluster.sign(keyset.keysetId, digest, { prefer: [ids[1]!, ids[2]!] });
    assert.deepEqual([...out.parties].sort(), [ids[1]!, ids[2]!].sort());
    const sig = Buffer.from(out.signature, 'hex');
    const signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, v: 27 + (out.recoveryId ?? 0) });
    assert.equal(recoverAddress(`0x${digest.toString('hex')}`, signature), keyset.address);
  });
});
