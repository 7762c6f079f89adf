/**
 * The air-gap transport: a 2-of-3 EdDSA signing where the offline node exchanges signed,
 * encrypted bundles through folders that the test carries by hand (offline folder → "USB stick"
 * → online folder and back), with no socket opened while it runs. Then: bundles of another
 * session or round, altered bundles and half-written files are refused with typed errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { BUNDLE_SUFFIX, readBundle, sealBundle, type Bundle } from '../../main/cluster/airgap';
import type { AirgapHandle } from '../../main/cluster/cluster-service';
import type { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { tempDir } from '../support/temp-dir';
import { AllowlistAuthorizer, testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';
import { withoutSockets } from './airgap-group-support';

const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });

describe('air-gap transport: signed, encrypted file bundles carried between folders', { timeout: 120_000 }, () => {
  let coordinator: Coordinator | null = null;
  let nodes: TestNode[] = [];
  const media = tempDir('vk-airgap-');
  const offlineDir = join(media.path, 'offline');
  const usb = join(media.path, 'usb');
  const onlineDir = join(media.path, 'online');
  let keysetId = '';
  let publicKey = '';
  let ids: string[] = [];

  /** Carries every complete bundle from one folder to another, as an operator with a stick would. */
  const carry = (from: string, to: string) => {
    for (const name of readdirSync(from)) if (name.endsWith(BUNDLE_SUFFIX)) renameSync(join(from, name), join(to, name));
  };

  before(async () => {
    for (const d of [offlineDir, usb, onlineDir]) mkdirSync(d);
    coordinator = await startCoordinator();
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    publicKey = keyset.publicKey!;
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'));
    // From here on there is no network: the coordinator is gone and the console restarts offline.
    for (const n of nodes) n.services.cluster.stop();
    await coordinator.close();
    coordinator = null;
    await stopNode(nodes[0]!, false);
    nodes[0] = await startNode('console', undefined, nodes[0]!.dir);
  });

  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator?.close();
    media.cleanup();
  });

  it('completes a signing with bundles moved between three folders; the offline node opens no socket', async () => {
    const offline = nodes[0]!.services.cluster;
    const online = nodes[1]!.services.cluster;
    const { connects } = await withoutSockets(async () => {
      const message = Buffer.from('transfer 3 SOL to the cold wallet, signed across the gap');
      const permit = allowEverywhere(nodes, testPermit(keysetId, message));
      const request = await offline.airgapRequest(keysetId, { permit, message }, ids[1]!, offlineDir);
      let joined: AirgapHandle | undefined;
      const seen = new Set<string>();
      const deadline = Date.now() + 30_000;
      let settled = 0;
      let watching: AirgapHandle | undefined;
      void request.result.then(
        () => (settled += 1),
        () => (settled += 1),
      );
      // Both sides finish: the last bundle may still be on its way to the node that joined.
      while (settled < 2 && Date.now() < deadline) {
        if (joined && !watching) {
          watching = joined;
          void joined.result.then(
            () => (settled += 1),
            () => (settled += 1),
          );
        }
        // offline → stick → online
        for (const n of readdirSync(offlineDir)) if (n.endsWith(BUNDLE_SUFFIX)) seen.add(n);
        carry(offlineDir, usb);
        carry(usb, onlineDir);
        const there = await online.airgapImport(onlineDir);
        assert.deepEqual(there.refused, []);
        joined ??= there.joined[0];
        await new Promise((r) => setTimeout(r, 30));
        // online → stick → offline
        for (const n of readdirSync(onlineDir)) if (n.endsWith(BUNDLE_SUFFIX)) seen.add(n);
        carry(onlineDir, usb);
        carry(usb, offlineDir);
        const here = await offline.airgapImport(offlineDir);
        assert.deepEqual(here.refused, []);
        await new Promise((r) => setTimeout(r, 30));
      }
      const out = await request.result;
      assert.ok(joined, 'the online node joined from the request bundle');
      const theirs = await joined.result;
      assert.equal(theirs.signature, out.signature);
      assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), message, Buffer.from(publicKey, 'hex')));
      assert.deepEqual([...out.parties].sort(), [ids[0]!, ids[1]!].sort());
      // One request plus one bundle per round per direction, each named by session, round, sender and recipient.
      assert.ok([...seen].some((n) => n.includes('-r000-')));
      assert.ok([...seen].filter((n) => !n.includes('-r000-')).length >= 2);
      assert.equal(offline.connected, false);
      assert.equal(offline.coordinatorUrl, null, 'no coordinator client was made on the offline node');
      const row = offline.sessions().find((s) => s.sessionId === out.sessionId)!;
      assert.equal(row.state, 'completed');
      const types = nodes[0]!.services.audit.list().entries.map((e) => e.type);
      assert.ok(types.includes('MPC_SIGN_STARTED') && types.includes('MPC_SIGN_COMPLETED'));
      // Re-importing the stick's old bundles is harmless.
      assert.deepEqual((await offline.airgapImport(offlineDir)).refused, []);
    });
    assert.equal(connects.length, 0, `no socket may be opened during the air-gap session: ${JSON.stringify(connects)}`);
  });

  it('refuses bundles of another session or round, altered bundles and foreign senders, with typed errors', async () => {
    for (const d of [offlineDir, usb, onlineDir]) for (const n of readdirSync(d)) renameSync(join(d, n), join(media.path, `old-${d.length}-${n}`));
    const offline = nodes[0]!.services.cluster;
    const online = nodes[1]!.services.cluster;
    const b = await online.identity();
    // A request whose permit the partner never allowed is refused at import, with the reason.
    const unapproved = Buffer.from('not allowed at the partner');
    const onlyHere = testPermit(keysetId, unapproved);
    (nodes[0]!.authorizer as AllowlistAuthorizer).allow(onlyHere);
    const refusedRequest = await offline.airgapRequest(keysetId, { permit: onlyHere, message: unapproved }, ids[1]!, offlineDir);
    await until(() => readdirSync(offlineDir).some((n) => n.includes(refusedRequest.sessionId.slice(0, 16)) && n.includes('-r001-')));
    carry(offlineDir, onlineDir);
    const refusal = await online.airgapImport(onlineDir);
    assert.deepEqual(refusal.refused.map((r) => r.code), ['SIGN_REFUSED']);
    assert.match(refusal.refused[0]!.message, /not on this node/);
    assert.ok(!online.sessions().some((s) => s.sessionId === refusedRequest.sessionId), 'nothing recorded at the partner but the audit row');
    for (const n of readdirSync(onlineDir)) renameSync(join(onlineDir, n), join(media.path, `refused-${n}`));
    for (const n of readdirSync(offlineDir)) renameSync(join(offlineDir, n), join(media.path, `refused-out-${n}`));
    refusedRequest.result.catch(() => undefined);

    const first = await offline.airgapRequest(keysetId, { permit: allowEverywhere(nodes, testPermit(keysetId, Buffer.from('first'))), message: Buffer.from('first') }, ids[1]!, offlineDir);
    const second = await offline.airgapRequest(keysetId, { purpose: 'restore-proof' }, ids[1]!, offlineDir);
    await until(() => readdirSync(offlineDir).filter((n) => n.includes('-r001-')).length === 2);
    carry(offlineDir, onlineDir);
    const report = await online.airgapImport(onlineDir);
    assert.equal(report.joined.length, 2);
    await until(() => readdirSync(onlineDir).filter((n) => n.endsWith(BUNDLE_SUFFIX) && n.includes(`-${ids[1]!.slice(0, 8)}-to-`)).length >= 2);
    const fromB = readdirSync(onlineDir)
      .filter((n) => n.includes(`-${ids[1]!.slice(0, 8)}-to-`))
      .sort()
      .map((n) => readBundle(join(onlineDir, n)));
    const forFirst = fromB.find((x) => x.header.sid === first.sessionId && x.header.round === 1)!;
    const forSecond = fromB.find((x) => x.header.sid === second.sessionId)!;

    // A genuine bundle of the second session offered to the first.
    throwsCode(() => offline.airgapDeliver(first.sessionId, forSecond), 'BUNDLE_WRONG_SESSION');
    // Header altered on the stick: the round changed.
    throwsCode(() => offline.airgapDeliver(first.sessionId, { ...forFirst, header: { ...forFirst.header, round: 2 } }), 'BUNDLE_BAD_SIGNATURE');
    // Body altered on the stick: the sender's signature still covers the old hash.
    const altered: Bundle = JSON.parse(JSON.stringify(forFirst));
    (altered.body.envelopes[0] as { seq: number }).seq = 7;
    throwsCode(() => offline.airgapDeliver(first.sessionId, altered), 'BUNDLE_TAMPERED');
    // Signed by the sender but labelled with another round than its envelopes.
    const relabelled = sealBundle(b, { ...forFirst.header, round: 5 }, forFirst.body);
    throwsCode(() => offline.airgapDeliver(first.sessionId, relabelled), 'BUNDLE_WRONG_ROUND');
    // From a member of the cluster that is not in this session.
    const c = await nodes[2]!.services.cluster.identity();
    const stranger = sealBundle(c, { ...forFirst.header, to: forFirst.header.to }, forFirst.body);
    throwsCode(() => offline.airgapDeliver(first.sessionId, stranger), 'BUNDLE_UNKNOWN_SENDER');
    // Addressed to another node.
    const elsewhere = sealBundle(b, { ...forFirst.header, to: [ids[2]!] }, forFirst.body);
    throwsCode(() => offline.airgapDeliver(first.sessionId, elsewhere), 'BUNDLE_NOT_FOR_THIS_NODE');

    // A half-copied file and a corrupted one in the folder are reported, not fed to a session.
    const raw = JSON.stringify(forFirst);
    writeFileSync(join(offlineDir, 'vk-truncated-r001-x-to-y.vkb'), raw.slice(0, raw.length >> 1));
    const flipped = raw.replace(/"ct":"(.)/, (_m, ch: string) => `"ct":"${ch === 'A' ? 'B' : 'A'}`);
    writeFileSync(join(offlineDir, 'vk-flipped-r001-x-to-y.vkb'), flipped);
    // Temporaries of a write in progress are not even looked at.
    writeFileSync(join(offlineDir, '.vk-inflight.vkb.abc.partial'), raw.slice(0, 10));
    const r = await offline.airgapImport(offlineDir);
    assert.deepEqual(r.refused.map((x) => x.code).sort(), ['BUNDLE_MALFORMED', 'BUNDLE_TAMPERED']);
    assert.equal(r.imported, 0);
    // Nothing refused reached the sessions: the genuine bundles still complete the first one.
    await until(() => readdirSync(onlineDir).some((n) => n.includes(first.sessionId.slice(0, 16)) && n.includes('-r002-')), 10_000);
    for (const n of readdirSync(onlineDir).filter((x) => x.includes(first.sessionId.slice(0, 16)) && x.includes(`-${ids[1]!.slice(0, 8)}-to-`)).sort()) assert.equal(offline.airgapDeliver(first.sessionId, readBundle(join(onlineDir, n))), true);
    await until(() => readdirSync(offlineDir).some((n) => n.includes(first.sessionId.slice(0, 16)) && n.includes('-r002-')), 10_000);
    carry(offlineDir, onlineDir);
    await online.airgapImport(onlineDir);
    const done = await first.result;
    assert.ok(ed25519.verify(Buffer.from(done.signature, 'hex'), Buffer.from('first'), Buffer.from(publicKey, 'hex')));
    assert.equal(offline.node(ids[1]!)!.status, 'enrolled', 'refused bundles never quarantine the sender');
  });

  it('the operator cancels an air-gap session on this node: it ends failed, leaves the progress list, and cannot be cancelled twice', async () => {
    const offline = nodes[0]!.services.cluster;
    const request = await offline.airgapRequest(keysetId, { purpose: 'drill' }, ids[1]!, offlineDir);
    const shown = offline.airgapStatus().find((s) => s.sessionId === request.sessionId);
    assert.deepEqual([shown?.protocol, shown?.waitingFor], ['eddsa-sign', [ids[1]]], 'the session shows whose bundle it waits for');
    assert.equal(offline.cancelSession(request.sessionId), true);
    await assert.rejects(request.result, (e: unknown) => e instanceof AppFailure && /cancelled by this node's operator/.test(e.message));
    assert.equal(offline.airgapStatus().some((s) => s.sessionId === request.sessionId), false);
    assert.equal(offline.sessions().find((s) => s.sessionId === request.sessionId)?.state, 'failed');
    assert.equal(offline.cancelSession(request.sessionId), false, 'nothing left to cancel');
  });
});
