/**
 * ECDSA auxiliary data once per signer group, through the coordinator: the group's aux session
 * takes its primes from each node's prime pool, every later ECDSA keyset of the group runs only
 * the distributed key generation and attaches the stored aux data, and each node refuses aux data
 * that is not exactly its group's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionInfo } from '../../main/coordinator/protocol';
import type { Coordinator } from '../../main/coordinator/server';
import type { AuxGroupRecord, KeysetRecord } from '../../main/cluster/cluster-service';
import { AUX_RECORD } from '../../main/cluster/aux-groups';
import { AppFailure } from '../../main/errors';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, sessionDescription, signedInvite, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

// One aux session and two key generations for the whole file.
describe('ECDSA auxiliary data per signer group', { timeout: 1_800_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let ids: string[] = [];
  let group: AuxGroupRecord;
  const keysets: KeysetRecord[] = [];
  const primes = testPrimes();

  before(async () => {
    coordinator = await startCoordinator();
    // No primes option: the aux session must take them from each node's pool.
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const [i, n] of nodes.entries()) n.services.cluster.primePool.add(primes[i]!);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('refuses to create a keyset that must reuse aux data before the group has any', async () => {
    await assert.rejects(nodes[0]!.services.cluster.createKeyset('ecdsa', { aux: 'reuse' }), (e: unknown) => e instanceof AppFailure && e.code === 'AUX_NOT_READY');
  });

  it("generates the group's aux data once, from each node's prime pool, sealed at every node", async () => {
    group = await nodes[0]!.services.cluster.prepareAuxData();
    await until(() => nodes.every((n) => n.services.cluster.auxGroups().some((g) => g.auxGroupId === group.auxGroupId)), 30_000);
    for (const [i, n] of nodes.entries()) {
      const mine = n.services.cluster.auxGroups().find((g) => g.auxGroupId === group.auxGroupId)!;
      assert.equal(mine.auxId, group.auxId, 'the same group aux id at every node');
      assert.equal(mine.status, 'active');
      assert.equal(mine.myPartyIndex, i);
      assert.equal(n.services.cluster.primePoolStatus().level, 0, 'the pool entry was used and deleted');
      assert.ok(n.services.vault.records.get(AUX_RECORD.type, group.auxGroupId), 'sealed in the vault');
    }
  });

  it('two keysets of the group share the aux data and both sign with every quorum', async () => {
    for (let k = 0; k < 2; k += 1) {
      const ks = await nodes[k]!.services.cluster.createKeyset('ecdsa');
      await until(() => nodes.every((n) => n.services.cluster.keyset(ks.keysetId)?.status === 'active'));
      keysets.push(ks);
    }
    assert.notEqual(keysets[0]!.address, keysets[1]!.address);
    for (const n of nodes) {
      for (const ks of keysets) {
        assert.equal(n.services.cluster.keyset(ks.keysetId)!.auxGroupId, group.auxGroupId);
        const session = n.services.cluster.sessions().find((s) => s.keysetId === ks.keysetId)!;
        assert.equal(session.protocol, 'ecdsa-dkg', 'only the distributed key generation ran');
      }
    }
    const quorums = [[ids[0]!, ids[1]!], [ids[0]!, ids[2]!], [ids[1]!, ids[2]!]];
    for (const ks of keysets) {
      for (const q of quorums) {
        const out = await nodes[0]!.services.cluster.keyCheck(ks.keysetId, 'key-check', { prefer: q });
        assert.deepEqual([...out.parties].sort(), [...q].sort());
      }
    }
  });

  describe('attacks on the aux data a key generation attaches', () => {
    const a = () => nodes[0]!;
    const send = async (info: SessionInfo) => a().services.cluster.handleNetworkMessage(await signedInvite(nodes[ids.indexOf(info.requester)]!, info));
    const dkg = (over: Partial<SessionInfo> = {}): SessionInfo => sessionDescription(ids, { protocol: 'ecdsa-dkg', auxId: group.auxId, ...over });
    const row = (info: SessionInfo) => a().services.cluster.sessions().find((s) => s.sessionId === info.sessionId);

    it('declines aux data this node does not hold (forged or unknown aux id)', async () => {
      const info = dkg({ auxId: 'ab'.repeat(32) });
      await send(info);
      assert.equal(row(info), undefined, 'no session row, nothing sent');
      assert.ok(Object.keys(a().services.cluster.refusals.pending()).some((k) => k.includes('holds no active auxiliary data')));
    });

    it('declines the group aux data for another group or other party indices', async () => {
      const swapped = dkg({ parties: [ids[1]!, ids[0]!, ids[2]!].map((nodeId, partyIndex) => ({ nodeId, partyIndex })) });
      await send(swapped);
      assert.equal(row(swapped), undefined);
      assert.ok(Object.keys(a().services.cluster.refusals.pending()).some((k) => k.includes('made by another group of nodes')));
    });

    it('declines when its sealed aux data does not hash to the id named (tampered record)', async () => {
      const vault = a().services.vault;
      const original = vault.records.get(AUX_RECORD.type, group.auxGroupId)!.plaintext;
      try {
        // Another party's aux blob sealed under this group's id: a locally corrupted or swapped record.
        const other = nodes[1]!.services.vault.records.get(AUX_RECORD.type, group.auxGroupId)!.plaintext;
        vault.records.put(AUX_RECORD.type, group.auxGroupId, AUX_RECORD.schemaVersion, other);
        const info = dkg();
        await send(info);
        assert.equal(row(info), undefined);
        assert.ok(Object.keys(a().services.cluster.refusals.pending()).some((k) => k.includes('does not hash to the id')));
      } finally {
        vault.records.put(AUX_RECORD.type, group.auxGroupId, AUX_RECORD.schemaVersion, original);
      }
    });

    it('refuses an ecdsa-dkg request without an aux id, and a keygen request carrying one', async () => {
      for (const info of [dkg({ auxId: undefined }), sessionDescription(ids, { protocol: 'ecdsa-keygen', auxId: group.auxId })]) {
        const before = a().services.cluster.refusals.pending()['SESSION_REQUEST_MALFORMED'] ?? 0;
        await send(info);
        assert.equal(row(info), undefined);
        assert.equal(a().services.cluster.refusals.pending()['SESSION_REQUEST_MALFORMED'], before + 1);
      }
    });
  });

  it('the presignature pool refills to its target after signing; an empty pool falls back to the full protocol with a note', async () => {
    const c = nodes[0]!.services.cluster;
    const ks = keysets[0]!;
    const signOnce = (text: string) => {
      const message = Buffer.from(text);
      return c.signWithPermit(ks.keysetId, allowEverywhere(nodes, testPermit(ks.keysetId, message)), message);
    };
    const full = await signOnce('transfer 1');
    assert.equal(full.mode, 'full');
    assert.match(full.note ?? '', /full signing protocol ran/);
    assert.throws(() => c.setPresignatureTarget(ks.keysetId, 17), (e: unknown) => e instanceof AppFailure && e.code === 'PRESIGNATURE_TARGET_INVALID');
    c.setPresignatureTarget(ks.keysetId, 2);
    await until(() => c.presignaturePoolLevel(ks.keysetId).ready === 2 && !c.presignaturePoolLevel(ks.keysetId).refilling, 240_000);
    const level = c.presignaturePoolLevel(ks.keysetId);
    assert.equal(level.target, 2);
    assert.ok(level.nextExpiryAt && Date.parse(level.nextExpiryAt) > Date.now());
    assert.ok(level.oldestAt);
    const fast = await signOnce('transfer 2');
    assert.equal(fast.mode, 'presigned');
    assert.equal(fast.note, null);
    await until(() => c.presignaturePoolLevel(ks.keysetId).ready === 2 && !c.presignaturePoolLevel(ks.keysetId).refilling, 240_000);
    // Never above the target: another refill round makes nothing.
    assert.equal(await c.refillPresignatures(), 0);
    assert.equal(c.presignaturePoolLevel(ks.keysetId).ready, 2);
    c.setPresignatureTarget(ks.keysetId, 0);
  });

  it('new aux data after a suspected compromise retires the old for new keysets; existing keysets keep signing meanwhile', async () => {
    for (const [i, n] of nodes.entries()) n.services.cluster.primePool.add(primes[(i + 1) % 3]!);
    const fresh = await nodes[2]!.services.cluster.prepareAuxData();
    await until(() => nodes.every((n) => n.services.cluster.auxGroups().some((g) => g.auxGroupId === fresh.auxGroupId)), 30_000);
    assert.notEqual(fresh.auxId, group.auxId);
    for (const n of nodes) {
      assert.equal(n.services.cluster.auxGroups().find((g) => g.auxGroupId === group.auxGroupId)!.status, 'retired');
    }
    await nodes[0]!.services.cluster.keyCheck(keysets[0]!.keysetId);
    const next = await nodes[0]!.services.cluster.createKeyset('ecdsa');
    await until(() => nodes.every((n) => n.services.cluster.keyset(next.keysetId)?.status === 'active'));
    assert.equal(nodes[1]!.services.cluster.keyset(next.keysetId)!.auxGroupId, fresh.auxGroupId);
  });
});
