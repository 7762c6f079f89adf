/**
 * The receiving side of the air gap with an operator: session requests on the medium are listed
 * with what they ask (checked, nothing joined), joined only once approved, and refused for good
 * when the operator says no. A request altered on the medium is shown as such and cannot be
 * refused in its claimed sender's name; a permit's transaction is described from the permit.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bundleFileName, sealBundle, writeBundle, type Bundle } from '../../main/cluster/airgap';
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
  /**
   * Both nodes import the shared medium in turn until A's request (and B's side, when given)
   * settles; A's result. Bounded by time, not by a count of imports: on a loaded machine the engines take
   * longer between rounds, and a session left without imports would wait for its 24 h deadline.
   */
  const exchangeUntilDone = async (request: AirgapHandle, folder: string, partner?: AirgapHandle) => {
    let done = false;
    const both = Promise.allSettled([request.result, partner?.result]);
    void both.then(() => (done = true));
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline) {
      await a().airgapImport(folder);
      await b().airgapImport(folder, folder, { approve: new Set() });
      await new Promise((r) => setTimeout(r, 30));
    }
    if (!done) throw new Error(`session ${request.sessionId.slice(0, 16)} did not settle within 60 s of imports; A waits on ${JSON.stringify(a().airgapStatus())}, folder holds ${readdirSync(folder).join(' ')}`);
    return request.result;
  };

  before(async () => {
    coordinator = await startCoordinator();
    // Most requests here are left unanswered on purpose and keep running on node A until their
    // deadline; they count against its concurrency bound, so A's bound is above their number.
    nodes = [await startNode('node-a', undefined, undefined, { limits: { maxConcurrent: 16, maxPerRequester: 16 } }), await startNode('node-b'), await startNode('node-c')];
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
    const out = await exchangeUntilDone(request, folder, joined);
    assert.equal((await joined.result).signature, out.signature);
    assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), Buffer.from(request.info.message ?? '', 'hex'), Buffer.from(publicKey, 'hex')), 'the signature verifies under the keyset key');
    assert.equal(a().sessions().find((s) => s.sessionId === out.sessionId)?.signature, out.signature, 'the requester sees the signature in its session view');
    assert.deepEqual(await b().airgapPending(folder), [], 'a joined request no longer waits for review');
  });

  it('a refused request is audited and skipped by every later import, even one that names it as approved', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'drill' }, ids[1]!, folder);
    await b().airgapRefuse(folder, request.sessionId, 'No drill is scheduled this week.');
    const audited = nodes[1]!.services.audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.find((e) => e.subject === request.sessionId);
    assert.ok(audited, 'the refusal is in the audit log');
    assert.equal((audited.details as { code: string }).code, 'OPERATOR_REFUSED');
    assert.equal((audited.details as { reason: string }).reason, 'No drill is scheduled this week.');
    assert.deepEqual(await b().airgapPending(folder), []);
    const later = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(later.joined, []);
    assert.equal(b().airgapSessions().some((h) => h.sessionId === request.sessionId), false);
    await assert.rejects(b().airgapRefuse(folder, request.sessionId, 'again'), (e: unknown) => e instanceof AppFailure && e.code === 'AIRGAP_SESSION_NOT_FOUND');
  });

  it('a refusal stays after the console restarts on the same data folder: the request is not offered again and is reported as refused earlier, with when and why', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    await b().airgapRefuse(folder, request.sessionId, 'Not announced by phone.');
    // The medium loses the reply while the console is down (as after a crash before the write).
    const replyName = readdirSync(folder).find((f) => f.includes('-refusal-'))!;
    const reply = readFileSync(join(folder, replyName), 'utf8');
    rmSync(join(folder, replyName));
    const old = nodes[1]!;
    await stopNode(old, false);
    nodes[1] = await startNode('node-b', undefined, old.dir);
    assert.deepEqual(await b().airgapPending(folder), [], 'not offered for review after the restart');
    const report = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(report.joined, []);
    assert.equal(report.refusedEarlier.length, 1);
    const earlier = report.refusedEarlier[0]!;
    assert.equal(earlier.sessionId, request.sessionId);
    assert.equal(earlier.reason, 'Not announced by phone.');
    assert.ok(Math.abs(Date.parse(earlier.refusedAt) - Date.now()) < 120_000, 'when it was refused');
    assert.match(earlier.message, /refused session request [0-9a-f]{16}… at \d{4}-\d\d-\d\dT.*: Not announced by phone\. Its reply was missing from the medium and is written again as vk-.*\.vkb\.$/);
    assert.equal(earlier.replyWrittenAgain, replyName);
    assert.equal(readFileSync(join(folder, replyName), 'utf8'), reply, 'the reply written again from the record is the same signed bundle, byte for byte');
  });

  it('a refusal is recorded before its reply is written: a failed write leaves the request refused, no partial file, and the next import writes the reply', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    const audit = nodes[1]!.services.audit;
    const refusalsBefore = audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.length;
    // A record that fails writes no reply: the request still waits for review.
    const append = audit.append.bind(audit);
    audit.append = () => {
      throw new Error('disk full');
    };
    try {
      await assert.rejects(b().airgapRefuse(folder, request.sessionId, 'Not today.'), /disk full/);
    } finally {
      audit.append = append;
    }
    assert.equal(readdirSync(folder).filter((f) => f.includes('-refusal-')).length, 0, 'no reply without a record');
    assert.equal((await b().airgapPending(folder)).length, 1, 'still waits for review');
    assert.equal(audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.length, refusalsBefore);
    for (const reason of ['   ', 'x'.repeat(501), 'line\u0007bell']) {
      await assert.rejects(b().airgapRefuse(folder, request.sessionId, reason), (e: unknown) => e instanceof AppFailure && e.code === 'AIRGAP_REFUSAL_REASON_INVALID');
    }

    // The reply's write fails after its bytes went to the medium (a folder holds its name, so the final rename fails).
    const replyName = bundleFileName({ kind: 'refusal', sid: request.sessionId, round: 0, from: ids[1]!, to: [ids[0]!] });
    mkdirSync(join(folder, replyName));
    await assert.rejects(b().airgapRefuse(folder, request.sessionId, 'Medium was pulled out.'), (e: unknown) => e instanceof AppFailure && e.code === 'BUNDLE_WRITE_FAILED' && /The refusal is recorded on this node.*import the medium again/.test(e.message));
    assert.deepEqual(readdirSync(folder).filter((f) => f.endsWith('.partial')), [], 'no half-written file on the medium');
    assert.deepEqual(await b().airgapPending(folder), [], 'refused here: no longer offered for review');
    assert.equal(audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.length, refusalsBefore + 1);
    const blocked = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(blocked.joined, []);
    assert.equal(blocked.refused[0]?.code, 'BUNDLE_WRITE_FAILED', 'a retry that cannot write says so');

    // The medium is usable again: the next import writes the reply from the record, and the requester's session ends with the reason.
    rmSync(join(folder, replyName), { recursive: true });
    const retried = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(retried.joined, []);
    assert.match(retried.refusedEarlier[0]?.message ?? '', /: Medium was pulled out\. Its reply was missing from the medium and is written again as vk-/);
    assert.equal(retried.refusedEarlier[0]?.replyWrittenAgain, replyName);
    const written = readFileSync(join(folder, replyName), 'utf8');
    const third = await b().airgapImport(folder, folder);
    assert.equal(third.refusedEarlier[0]?.replyWrittenAgain, null, 'a reply on the medium is left as it is');
    assert.doesNotMatch(third.refusedEarlier[0]?.message ?? '', /written again/);
    assert.equal(readFileSync(join(folder, replyName), 'utf8'), written);
    await a().airgapImport(folder);
    await assert.rejects(request.result, (e: unknown) => e instanceof AppFailure && e.details?.code === 'OPERATOR_REFUSED' && /Medium was pulled out\.$/.test(e.message));
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
    await assert.rejects(b().airgapRefuse(folder, request.sessionId, 'Looks altered.'), (e: unknown) => e instanceof AppFailure && e.code === 'BUNDLE_TAMPERED');
    assert.equal(nodes[1]!.services.audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.length, before, 'no audit entry in the forger\'s favour');
    const tried = await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    assert.deepEqual(tried.joined, []);
    assert.equal(tried.refused[0]?.code, 'BUNDLE_TAMPERED');
  });

  /** A refusal bundle sealed by `signer` for a session of node A (as a party, or as a forger would). */
  const refusalBundle = async (signer: number, sid: string, reason: string, folder: string): Promise<Bundle> => {
    const me = await nodes[signer]!.services.cluster.identity();
    const clusterId = a().keyset(keysetId)!.clusterId;
    return sealBundle(me, { kind: 'refusal', clusterId, sid, protocol: 'eddsa-sign', round: 0, to: [ids[0]!] }, { envelopes: [], refusal: { sessionId: sid, node: me.nodeId, reason, refusedAt: new Date().toISOString() } });
  };
  const running = (sid: string) => a().airgapSessions().some((h) => h.sessionId === sid);

  it("the requester importing the refusal ends its session as failed: OPERATOR_REFUSED with node B's reason, in its session view and audit log", async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    await b().airgapRefuse(folder, request.sessionId, 'Unexpected request: call me first.');
    const reply = readdirSync(folder).find((f) => f.includes('-refusal-'));
    assert.ok(reply, 'a refusal bundle is on the medium');
    const report = await a().airgapImport(folder);
    assert.deepEqual(report.refused, []);
    await assert.rejects(request.result, (e: unknown) => e instanceof AppFailure && e.details?.code === 'OPERATOR_REFUSED' && e.message === "Node node-b's operator refused: Unexpected request: call me first.");
    const view = a().sessions().find((x) => x.sessionId === request.sessionId)!;
    assert.equal(view.state, 'failed');
    assert.equal(view.errorCode, 'OPERATOR_REFUSED');
    assert.equal(view.errorReason, "Node node-b's operator refused: Unexpected request: call me first.");
    const audited = nodes[0]!.services.audit.list({ type: 'MPC_SIGN_FAILED' }).entries.find((e) => e.subject === request.sessionId);
    assert.equal((audited?.details as { code?: string } | undefined)?.code, 'OPERATOR_REFUSED');
    assert.equal(running(request.sessionId), false);
    // Imported again, the refusal changes nothing.
    const again = await a().airgapImport(folder);
    assert.equal(again.refused[0]?.code, 'AIRGAP_SESSION_ENDED');
    assert.equal(a().sessions().find((x) => x.sessionId === request.sessionId)?.errorCode, 'OPERATOR_REFUSED');
  });

  it('a refusal not signed by a party of the session (forged, or relabelled to a party) is dropped and recorded once; the session runs on', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    const dropped = () => nodes[0]!.services.audit.list({ type: 'AIRGAP_REFUSAL_DROPPED' }).entries.filter((e) => e.subject === request.sessionId);
    // Node C is enrolled at A but is not a party of this session.
    writeBundle(folder, await refusalBundle(2, request.sessionId, 'C says no', folder));
    const report = await a().airgapImport(folder);
    assert.equal(report.refused.length, 1);
    assert.equal(report.refused[0]!.code, 'BUNDLE_UNKNOWN_SENDER');
    assert.equal(running(request.sessionId), true, 'the session was not failed');
    assert.equal(dropped().length, 1);
    assert.equal((dropped()[0]!.details as { claimedSender: string }).claimedSender, ids[2]);
    await a().airgapImport(folder);
    assert.equal(dropped().length, 1, 'recorded once, not at every import');

    // C's refusal relabelled as B's: the header no longer verifies under B's key.
    const relabelled = await refusalBundle(2, request.sessionId, 'B says no', folder);
    relabelled.header.from = ids[1]!;
    relabelled.body.refusal!.node = ids[1]!;
    const altered = JSON.parse(JSON.stringify(relabelled)) as Bundle;
    rmSync(join(folder, readdirSync(folder).find((f) => f.includes('-refusal-'))!));
    writeFileSync(join(folder, bundleFileName(altered.header)), JSON.stringify(altered));
    const second = await a().airgapImport(folder);
    assert.ok(['BUNDLE_BAD_SIGNATURE', 'BUNDLE_TAMPERED'].includes(second.refused[0]?.code ?? ''), JSON.stringify(second.refused));
    assert.equal(running(request.sessionId), true, 'the session was not failed');
    assert.equal(dropped().length, 2);
    assert.equal(nodes[0]!.services.cluster.nodes().find((x) => x.nodeId === ids[1])?.status, 'enrolled', 'the claimed sender is not blamed');
  });

  it("a refusal replayed from another session is refused; the running session is unchanged", async () => {
    const folder = freshFolder();
    const refused = await a().airgapRequest(keysetId, { purpose: 'drill' }, ids[1]!, folder);
    const target = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    await b().airgapRefuse(folder, refused.sessionId, 'Drill postponed.');
    await a().airgapImport(folder);
    await assert.rejects(refused.result);
    const genuine = JSON.parse(readFileSync(join(folder, readdirSync(folder).find((f) => f.startsWith(`vk-${refused.sessionId.slice(0, 16)}-refusal-`))!), 'utf8')) as Bundle;
    const other = freshFolder();
    for (const relabel of [(x: Bundle) => (x.header.sid = target.sessionId), (x: Bundle) => ((x.header.sid = target.sessionId), (x.body.refusal!.sessionId = target.sessionId))]) {
      const replay = JSON.parse(JSON.stringify(genuine)) as Bundle;
      relabel(replay);
      writeFileSync(join(other, bundleFileName(replay.header)), JSON.stringify(replay));
      const report = await a().airgapImport(other);
      assert.ok(['BUNDLE_BAD_SIGNATURE', 'BUNDLE_TAMPERED', 'BUNDLE_MALFORMED'].includes(report.refused[0]?.code ?? ''), JSON.stringify(report.refused));
      assert.equal(running(target.sessionId), true, 'the other session runs on');
    }
    // Signed by B, but its body names the other session (or another node) than its header: refused as inconsistent.
    const third = freshFolder();
    for (const body of [{ sessionId: refused.sessionId }, { node: ids[2]! }]) {
      const mixed = await refusalBundle(1, target.sessionId, 'Mixed up.', third);
      const resealed = sealBundle(await b().identity(), { ...mixed.header, kind: 'refusal' }, { envelopes: [], refusal: { ...mixed.body.refusal!, ...body } });
      writeBundle(third, resealed);
      const report = await a().airgapImport(third);
      assert.equal(report.refused[0]?.code, 'BUNDLE_MALFORMED', JSON.stringify(report.refused));
      assert.equal(running(target.sessionId), true, 'the other session runs on');
    }
  });

  it('a refusal for a session that already completed does not change it; an oversized reason is refused', async () => {
    const folder = freshFolder();
    const request = await a().airgapRequest(keysetId, { purpose: 'key-check' }, ids[1]!, folder);
    const oversized = await refusalBundle(1, request.sessionId, 'y'.repeat(5_000), folder);
    writeBundle(folder, oversized);
    const first = await a().airgapImport(folder);
    assert.equal(first.refused[0]?.code, 'AIRGAP_REFUSAL_REASON_INVALID');
    assert.match(first.refused[0]!.message, /5000 characters; a reason is 1 to 500/);
    assert.equal(running(request.sessionId), true, 'an oversized refusal does not end the session');
    rmSync(join(folder, bundleFileName(oversized.header)));

    await b().airgapImport(folder, folder, { approve: new Set([request.sessionId]) });
    const out = await exchangeUntilDone(request, folder);
    writeBundle(folder, await refusalBundle(1, request.sessionId, 'Too late, but no.', folder));
    const late = await a().airgapImport(folder);
    assert.equal(late.refused.find((r) => r.file.includes('-refusal-'))?.code, 'AIRGAP_SESSION_ENDED');
    const view = a().sessions().find((x) => x.sessionId === request.sessionId)!;
    assert.equal(view.state, 'completed');
    assert.equal(view.signature, out.signature);
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
