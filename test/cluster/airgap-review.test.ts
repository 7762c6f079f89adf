/**
 * The receiving side of the air gap with an operator: session requests on the medium are listed
 * with what they ask (checked, nothing joined), joined only once approved, and refused for good
 * when the operator says no. A request altered on the medium is shown as such and cannot be
 * refused in its claimed sender's name; a permit's transaction is described from the permit.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { airgapRequestView } from '../../main/cluster/airgap-review';
import type { AirgapHandle } from '../../main/cluster/cluster-service';
import type { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { tempDir } from '../support/temp-dir';
import { evmPayload, permitFixture, permitFor } from '../support/permits';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';

const names = { nodeName: () => 'node-a', keysetLabel: () => 'Solana ABC' };

describe('air-gap requests reviewed by the operator before joining', { timeout: 180_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let ids: string[] = [];
  let keysetId = '';
  let publicKey = '';
  const media = tempDir('vk-airgap-review-');
  let n = 0;
  const freshFolder = () => {
    const dir = join(media.path, `medium-${(n += 1)}`);
    mkdirSync(dir);
    return dir;
  };
  const a = () => nodes[0]!.services.cluster;
  const b = () => nodes[1]!.services.cluster;

  before(async () => {
    coordinator = await startCoordinator();
    nodes = [await startNode('node-a'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const x of nodes) await x.services.cluster.connect(coordinator.url);
    ids = nodes.map((x) => x.services.cluster.nodes().find((y) => y.isSelf)!.nodeId);
    const keyset = await a().createKeyset('eddsa');
    keysetId = keyset.keysetId;
    publicKey = keyset.publicKey!;
    await until(() => nodes.every((x) => x.services.cluster.keyset(keysetId)?.status === 'active'), 30_000);
  });

  after(async () => {
    for (const x of nodes) await stopNode(x).catch(() => undefined);
    await coordinator.close();
    media.cleanup();
  });

  it('lists a request with what it asks and joins nothing until the operator approves it; then the requester gets the signature', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    const pending = await b().airgapPending(folder);
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.sessionId, request.sessionId);
    assert.equal(pending[0]!.problem, null);
    const view = airgapRequestView(pending[0]!, names);
    assert.equal(view.kind, 'key-check');
    assert.match(view.description, /^Sign a key check: a fixed test message of keyset ks-[^ ]+, never a transaction\.$/);
    assert.equal(view.protocol, 'eddsa-sign');

    // An import without the operator's approval leaves the request pending.
    const unapproved = await b().airgapImport(folder, folder, { approve: new Set() });
    assert.deepEqual(unapproved.joined, []);
    assert.deepEqual(unapproved.pending, [request.sessionId]);
    assert.equal(b().airgapSessions().length, 0, 'nothing joined');
    assert.equal(readdirSync(folder).length, 1, 'no reply written');

    const approved = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(approved.refused, []);
    assert.equal(approved.joined.length, 1);
    const joined: AirgapHandle = approved.joined[0]!;
    let done = false;
    void request.result.then(() => (done = true), () => (done = true));
    for (let i = 0; i < 100 && !done; i += 1) {
      await a().airgapImport(folder);
      await b().airgapImport(folder, folder, { approve: new Set() });
      await new Promise((r) => setTimeout(r, 30));
    }
    const out = await request.result;
    assert.equal((await joined.result).signature, out.signature);
    assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), Buffer.from(request.info.message ?? '', 'hex'), Buffer.from(publicKey, 'hex')), 'the signature verifies under the keyset key');
    assert.equal(a().sessions().find((s) => s.sessionId === out.sessionId)?.signature, out.signature, 'the requester sees the signature in its session view');
    assert.deepEqual(await b().airgapPending(folder), [], 'a joined request no longer waits for review');
  });

  it('a refused request is audited and skipped by every later import, even one that names it as approved', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'drill' }, ids[1]!, folder);
    await b().airgapRefuse(folder, request.sessionId);
    const audited = nodes[1]!.services.audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.find((e) => e.subject === request.sessionId);
    assert.ok(audited, 'the refusal is in the audit log');
    assert.equal((audited.details as { code: string }).code, 'OPERATOR_REFUSED');
    assert.deepEqual(await b().airgapPending(folder), []);
    const later = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(later.joined, []);
    assert.equal(b().airgapSessions().some((h) => h.sessionId === request.sessionId), false);
    await assert.rejects(b().airgapRefuse(folder, request.sessionId), (e: unknown) => e instanceof AppFailure && e.code === 'AIRGAP_SESSION_NOT_FOUND');
  });

  it('a request altered on the medium is shown with why, cannot be refused in its sender\'s name, and is not joined', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    const file = join(folder, readdirSync(folder).find((x) => x.includes('-r000-'))!);
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    bundle.body.request.body.message = `${bundle.body.request.body.message.slice(0, -2)}00`;
    writeFileSync(file, JSON.stringify(bundle));
    const pending = await b().airgapPending(folder);
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.problem?.code, 'BUNDLE_TAMPERED');
    const before = nodes[1]!.services.audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.length;
    await assert.rejects(b().airgapRefuse(folder, request.sessionId), (e: unknown) => e instanceof AppFailure && e.code === 'BUNDLE_TAMPERED');
    assert.equal(nodes[1]!.services.audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.length, before, 'no audit entry in the forger\'s favour');
    const tried = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(tried.joined, []);
    assert.equal(tried.refused[0]?.code, 'BUNDLE_TAMPERED');
  });

  it('a permit request is described from the permit itself: amount, destination, chain, expiry', () => {
    const f = permitFixture();
    try {
      const signed = permitFor(f, evmPayload());
      const view = airgapRequestView({ file: '/m/vk-x.vkb', sessionId: 'ab'.repeat(16), from: 'cd'.repeat(16), keysetId: signed.permit.keysetId, protocol: 'ecdsa-sign', message: '00', permit: signed, deadlineAt: Date.UTC(2026, 10, 27, 12), problem: null }, names);
      assert.equal(view.kind, 'permit');
      assert.equal(view.permitId, signed.permit.permitId);
      assert.match(view.description, new RegExp(`^Sign under permit ${signed.permit.permitId} \\(request ${signed.permit.txRequestId}, wallet ${signed.permit.walletId}\\): send .+ to 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} on EVM chain \\d+\\. The permit expires \\d{4}-`));
      assert.equal(view.file, 'vk-x.vkb');
      assert.equal(view.expiresAt, '2026-11-27T12:00:00.000Z');
      const forged = airgapRequestView({ ...view, file: 'x', from: 'cd'.repeat(16), message: '00', deadlineAt: null, permit: { ...signed, signature: 'zz' } }, names);
      assert.equal(forged.kind, 'unknown');
    } finally {
      f.cleanup();
    }
  });
});
