/**
 * Lab keysets carry a permanent mark (keyset record, card view and QR caption, audit), the lab
 * button is absent where the lab cannot start, and key-share plaintext taken from the vault for a
 * session is cleared once the session ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Coordinator } from '../../main/coordinator/server';
import { SHARE_RECORD } from '../../main/cluster/cluster-service';
import { labAvailability } from '../../main/cluster/lab';
import { AppFailure } from '../../main/errors';
import { clusterHandlers } from '../../main/ipc/handlers/cluster';
import { createServices } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';

describe('lab marks and share buffers', { timeout: 180_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let ids: string[] = [];
  let keysetId = '';

  before(async () => {
    coordinator = await startCoordinator();
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('a keyset made in lab mode carries the LAB mark for good: record, card view, QR caption, audit', async () => {
    nodes[0]!.services.cluster.mode = 'lab';
    nodes[1]!.services.cluster.mode = 'lab';
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'));
    assert.equal(keyset.lab, true);
    assert.equal(nodes[1]!.services.cluster.keyset(keysetId)!.lab, true);
    assert.equal(nodes[2]!.services.cluster.keyset(keysetId)!.lab, false, 'only a node in lab mode marks it');
    const completed = nodes[0]!.services.audit.list({ type: 'MPC_KEYGEN_COMPLETED' }).entries[0]!;
    assert.equal((completed.details as { lab?: boolean }).lab, true);
    // "Stop lab": the mode goes, the mark stays.
    nodes[0]!.services.cluster.mode = 'none';
    const views = await clusterHandlers(nodes[0]!.services)['cluster.keysets']({}, undefined as never);
    const view = views.find((v) => v.keysetId === keysetId)!;
    assert.equal(view.lab, true);
    assert.match(view.qrCaption, /^LAB KEYSET — NOT FOR REAL FUNDS/);
  });

  it('signing with a lab keyset is marked lab in the audit; the share plaintext taken from the vault is all zeros once the session ends', async () => {
    const b = nodes[1]!;
    const taken: Buffer[] = [];
    const records = b.services.vault.records;
    const get = records.get.bind(records);
    records.get = (type: string, id: string) => {
      const r = get(type, id);
      if (r && type === SHARE_RECORD.type) taken.push(r.plaintext);
      return r;
    };
    try {
      await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0]!, ids[1]!] });
      await until(() => b.services.cluster.sessions().some((s) => s.protocol === 'eddsa-sign' && s.state === 'completed'));
    } finally {
      records.get = get;
    }
    assert.ok(taken.length >= 1, 'node-b took its share from the vault');
    for (const share of taken) assert.ok(share.every((x) => x === 0), 'the share buffer was cleared');
    const signed = b.services.audit.list({ type: 'MPC_SIGN_COMPLETED' }).entries[0]!;
    assert.equal((signed.details as { lab?: boolean }).lab, true);
  });

  it('in a packaged build, or without the sources the lab children run from, the lab is unavailable at once with a sentence why', async () => {
    assert.equal(labAvailability().available, true, 'available in this checkout');
    const packaged = labAvailability({ packaged: true });
    assert.equal(packaged.available, false);
    assert.match(packaged.reason!, /not available in this build/);
    const empty = tempDir();
    assert.equal(labAvailability({ root: empty.path }).available, false);
    const dir = tempDir();
    const services = createServices({ dataDir: dir.path, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, lab: { packaged: true }, cluster: { stateDir: `${dir.path}-state` } });
    try {
      await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      const status = await clusterHandlers(services)['cluster.status']({}, undefined as never);
      assert.equal(status.lab.available, false);
      assert.match(status.lab.unavailableReason ?? '', /not available in this build/);
      const started = Date.now();
      await assert.rejects(async () => services.lab.start(), (e: unknown) => e instanceof AppFailure && e.code === 'LAB_UNAVAILABLE');
      assert.ok(Date.now() - started < 1_000, 'refused at once, not after a wait');
    } finally {
      await services.close();
      dir.cleanup();
      empty.cleanup();
    }
  });
});
