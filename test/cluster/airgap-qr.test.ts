/**
 * Air-gap round bundles carried by animated QR instead of a medium: an EdDSA key check between
 * the offline console and one peer, every bundle shown as UR parts by one node and read back by
 * the other into its bundle folder, where the usual folder import checks it. No socket is opened.
 * A bundle altered on the way (re-encoded so every frame CRC is valid) is refused by the
 * bundle's own signature check, not trusted because it came by QR.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE_SUFFIX } from '../../main/cluster/airgap';
import type { AirgapHandle } from '../../main/cluster/cluster-service';
import type { Coordinator } from '../../main/coordinator/server';
import { animatedUr, bytesUr } from '../../main/qr/animated-ur';
import { UR_TYPES } from '../../main/qr/qr-transfers';
import type { QrReceiveView } from '../../preload/contract';
import { tempDir } from '../support/temp-dir';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';
import { withoutSockets } from './airgap-group-support';

describe('air-gap bundles by animated QR', { timeout: 120_000 }, () => {
  let coordinator: Coordinator | null = null;
  let nodes: TestNode[] = [];
  const media = tempDir('vk-airgap-qr-');
  const offlineDir = join(media.path, 'offline');
  const onlineDir = join(media.path, 'online');
  let keysetId = '';
  let ids: string[] = [];

  before(async () => {
    for (const d of [offlineDir, onlineDir]) mkdirSync(d);
    coordinator = await startCoordinator();
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'));
    for (const n of nodes) n.services.cluster.stop();
    await coordinator.close();
    coordinator = null;
  });

  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator?.close();
    media.cleanup();
  });

  /** Shows `file` on `from` and reads it on `to` into `folder`, part by part. */
  const carryByQr = async (from: TestNode, to: TestNode, file: string, folder: string, alter?: (text: string) => string): Promise<QrReceiveView> => {
    let parts: string[];
    if (alter) {
      const bytes = Buffer.from(alter(readFileSync(file, 'utf8')));
      parts = animatedUr(bytesUr(UR_TYPES.mpcBundle, bytes), bytes).parts;
    } else {
      parts = (await from.services.qr.frames({ kind: 'mpc-bundle', path: file }, 250)).parts;
    }
    const { receiveId } = to.services.qr.receiveStart({ kind: 'mpc-bundle', folder });
    for (const part of parts) {
      const view = await to.services.qr.receivePart(receiveId, part);
      if (view.state === 'done') return view;
    }
    assert.fail(`${file} did not reassemble`);
  };

  it('a key check completes with every bundle crossing as an animated QR, and no socket opened', async () => {
    const offline = nodes[0]!;
    const online = nodes[1]!;
    const { connects } = await withoutSockets(async () => {
      const request = await offline.services.cluster.airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, offlineDir);
      const carried = new Set<string>();
      let joined: AirgapHandle | undefined;
      let settled = 0;
      void request.result.then(() => (settled += 1), () => (settled += 1));
      let watching = false;
      const deadline = Date.now() + 40_000;
      while (settled < 2 && Date.now() < deadline) {
        for (const [from, to, source, target] of [[offline, online, offlineDir, onlineDir], [online, offline, onlineDir, offlineDir]] as const) {
          for (const name of readdirSync(source).filter((n) => n.endsWith(BUNDLE_SUFFIX) && !carried.has(n))) {
            carried.add(name);
            const view = await carryByQr(from, to, join(source, name), target);
            assert.ok(view.state === 'done' && view.outcome.kind === 'mpc-bundle');
            assert.deepEqual(view.outcome.report.refused, []);
            carried.add(view.outcome.file.slice(view.outcome.file.lastIndexOf('/') + 1));
            if (to === online && !joined) {
              // The request waits for the operator's review; approved, it is joined from the folder.
              assert.deepEqual(view.outcome.report.pending, [request.sessionId]);
              assert.equal(online.services.cluster.airgapSessions().length, 0, 'nothing joined before approval');
              const approved = await online.services.cluster.airgapImport(onlineDir, onlineDir, { approve: new Set([request.sessionId]) });
              joined = approved.joined[0];
            }
          }
        }
        if (joined && !watching) {
          watching = true;
          void joined.result.then(() => (settled += 1), () => (settled += 1));
        }
        await new Promise((r) => setTimeout(r, 30));
      }
      const out = await request.result;
      assert.ok(joined, 'the peer joined from the request bundle read by QR');
      assert.equal((await joined.result).signature, out.signature, 'both sides hold the same signature');
      assert.equal(offline.services.cluster.sessions().find((x) => x.sessionId === out.sessionId)?.state, 'completed');
      assert.deepEqual([...out.parties].sort(), [ids[0]!, ids[1]!].sort());
      assert.ok(carried.size >= 3, `request and rounds crossed by QR (${carried.size})`);
    });
    assert.equal(connects.length, 0, `no socket may be opened: ${JSON.stringify(connects)}`);
  });

  it('a bundle altered on the way, with valid frames, is refused by the bundle signature check in the folder import', async () => {
    const outDir = join(media.path, 'offline-2');
    const inDir = join(media.path, 'online-2');
    for (const d of [outDir, inDir]) mkdirSync(d);
    await nodes[0]!.services.cluster.airgapRequest(keysetId, { purpose: 'key-check' }, ids[2]!, outDir);
    const [name] = readdirSync(outDir).filter((n) => n.endsWith(BUNDLE_SUFFIX));
    const view = await carryByQr(nodes[0]!, nodes[2]!, join(outDir, name!), inDir, (text) => {
      const bundle = JSON.parse(text) as { header: { createdAt: string } };
      bundle.header.createdAt = new Date(Date.parse(bundle.header.createdAt) + 60_000).toISOString();
      return JSON.stringify(bundle);
    });
    assert.ok(view.state === 'done' && view.outcome.kind === 'mpc-bundle');
    assert.equal(view.outcome.report.bundles, 0);
    assert.equal(view.outcome.report.refused.length, 1, JSON.stringify(view.outcome.report));
    assert.match(view.outcome.report.refused[0]!.code, /BUNDLE_/);
    assert.equal(nodes[2]!.services.cluster.airgapSessions().length, 0, 'nothing joined');
  });
});
