/**
 * Share refresh of an ECDSA keyset (test-only primes): the group's auxiliary data is made once,
 * the keyset reuses it, a presignature is made with the old shares; the refresh (shares only)
 * keeps the public key and Ethereum address at every node, discards the presignature, and every
 * quorum signs afterwards. A second refresh renews the auxiliary data too (after a suspected
 * compromise): the keyset moves to the new group's data at every node, keeps its address, and
 * every quorum signs with it. The refresh checks themselves are exercised on EdDSA in
 * keyset-refresh.test.ts (the same code path for both schemes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Coordinator } from '../../main/coordinator/server';
import { approve, enrolGuardians, makeGuardians, REQUESTER, type Guardian } from './backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

describe('keyset share refresh (ECDSA)', { timeout: 1_800_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let GUARDIANS: Guardian[] = [];
  const primes = testPrimes();

  before(async () => {
    GUARDIANS = await makeGuardians();
    coordinator = await startCoordinator();
    nodes = [await startNode('node-a'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const [i, n] of nodes.entries()) n.services.cluster.primePool.add(primes[i]!);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    for (const n of nodes) await enrolGuardians(n.services, GUARDIANS);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('refreshes the shares: same key and address at every node, old presignatures discarded, every quorum signs', async () => {
    const a = nodes[0]!.services;
    const group = await a.cluster.prepareAuxData();
    await until(() => nodes.every((n) => n.services.cluster.auxGroups().some((g) => g.auxGroupId === group.auxGroupId)), 30_000);
    const keyset = await a.cluster.createKeyset('ecdsa', { aux: 'reuse' });
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 30_000);
    await a.cluster.presign(keyset.keysetId);
    assert.equal(a.cluster.presignatures(keyset.keysetId).filter((p) => p.state === 'ready').length, 1);

    const view = await a.refresh.requestApproval(keyset.keysetId, { reason: 'scheduled refresh', requester: REQUESTER, ttlMinutes: 60 });
    await approve(a, view.id, [GUARDIANS[0]!, GUARDIANS[1]!]);
    const out = await a.refresh.run(keyset.keysetId, view.id);
    assert.equal(out.address, keyset.address);
    assert.equal(out.toEpoch, 1);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.shareEpoch === 1), 10_000);
    for (const n of nodes) {
      const k = n.services.cluster.keyset(keyset.keysetId)!;
      assert.equal(k.publicKey, keyset.publicKey);
      assert.equal(k.address, keyset.address);
      assert.equal(k.auxGroupId, group.auxGroupId, 'shares only: the keyset keeps its auxiliary data');
      assert.equal(n.services.cluster.presignatures(keyset.keysetId).filter((p) => p.state === 'ready').length, 0, 'presignatures of the old shares are gone');
    }
    const ids = await Promise.all(nodes.map(async (n) => (await n.services.cluster.identity()).nodeId));
    for (const [requester, pair] of [[0, [ids[0]!, ids[1]!]], [1, [ids[1]!, ids[2]!]], [2, [ids[0]!, ids[2]!]]] as const) {
      const check = await nodes[requester]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [...pair] });
      assert.deepEqual([...check.parties].sort(), [...pair].sort());
    }
  });

  it('refreshes with new auxiliary data: the keyset moves to the new group at every node, same address, every quorum signs', async () => {
    const a = nodes[0]!.services;
    const keyset = a.cluster.keysets().find((k) => k.scheme === 'ecdsa')!;
    const oldGroup = keyset.auxGroupId;
    // The fixture has one prime blob per node: the renewed data is made from the same primes
    // (production nodes take fresh ones from their prime pool), with fresh proofs and a new id.
    for (const [i, n] of nodes.entries()) n.services.cluster.primePool.add(primes[i]!);
    const view = await a.refresh.requestApproval(keyset.keysetId, { newAux: true, reason: 'node-b may be compromised', requester: REQUESTER, ttlMinutes: 60 });
    await approve(a, view.id, [GUARDIANS[1]!, GUARDIANS[2]!]);
    const steps: string[] = [];
    const out = await a.refresh.run(keyset.keysetId, view.id, { newAux: true, onSession: (_sid, step) => steps.push(step) });
    assert.deepEqual(steps, ['aux', 'refresh'], 'the auxiliary data is renewed first, then the shares');
    assert.equal(out.newAux, true);
    assert.equal(out.address, keyset.address);
    assert.equal(out.toEpoch, keyset.shareEpoch + 1);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.shareEpoch === out.toEpoch), 10_000);
    const groups = new Set<string | null>();
    for (const n of nodes) {
      const k = n.services.cluster.keyset(keyset.keysetId)!;
      assert.equal(k.publicKey, keyset.publicKey);
      assert.equal(k.address, keyset.address);
      assert.notEqual(k.auxGroupId, oldGroup, 'the keyset uses the renewed auxiliary data');
      groups.add(k.auxGroupId);
    }
    assert.equal(groups.size, 1, 'every node switched to the same auxiliary group');
    const ids = await Promise.all(nodes.map(async (n) => (await n.services.cluster.identity()).nodeId));
    for (const [requester, pair] of [[0, [ids[0]!, ids[1]!]], [1, [ids[1]!, ids[2]!]], [2, [ids[0]!, ids[2]!]]] as const) {
      const check = await nodes[requester]!.services.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [...pair] });
      assert.deepEqual([...check.parties].sort(), [...pair].sort());
    }
    // Presigning works with the renewed data and the new shares.
    await a.cluster.presign(keyset.keysetId);
    assert.equal(a.cluster.presignatures(keyset.keysetId).filter((p) => p.state === 'ready').length, 1);
  });
});
