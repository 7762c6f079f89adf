/**
 * Three-party EdDSA key generation entirely by file bundles between three folders: no node opens
 * a socket, every node keeps the keyset only after the three signed completions came by file.
 * Then the refusals: tampered, replayed, foreign, expired, unenrolled, duplicated completions, a
 * completion that never arrives (nobody keeps the keyset).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readBundle, sealBundle, writeBundle, type Bundle } from '../../main/cluster/airgap';
import { airgapRequestView } from '../../main/cluster/airgap-review';
import { serveAirgap } from '../../main/node/cluster-commands';
import { signSessionRequest } from '../../main/cluster/session-request';
import { AppFailure } from '../../main/errors';
import { startNode, stopNode, until } from './support';
import { AIRGAP_CLUSTER, carryAll, carryUntilSettled, startAirgapTrio, withoutSockets, type AirgapTrio } from './airgap-group-support';

const codeOf = (e: unknown) => (e as { code?: string }).code;

const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });

describe('air gap: three-party EdDSA key generation by file bundles', { timeout: 180_000 }, () => {
  let trio: AirgapTrio;

  before(async () => {
    trio = await startAirgapTrio();
  });

  after(async () => {
    await trio?.stop();
  });

  it('every node holds the same keyset after the rounds and three signed completions crossed by file; no socket opened', async () => {
    const { nodes, ids, folders } = trio;
    const { value: run, connects } = await withoutSockets(async () => {
      const started = await nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!);
      // The requester shows where it stands: round 1 written, waiting for both peers' round 1.
      await until(() => nodes[0]!.services.cluster.airgapGroup.status()[0]?.round === 1);
      const [status] = nodes[0]!.services.cluster.airgapGroup.status();
      assert.equal(status!.phase, 'rounds');
      assert.equal(status!.round, 1);
      assert.deepEqual([...status!.waitingFor].sort(), [ids[1]!, ids[2]!].sort());
      return carryUntilSettled(trio, 0, started, [0, 1, 2]);
    });
    assert.deepEqual(run.refused, []);
    assert.equal(connects.length, 0, `no socket may be opened: ${JSON.stringify(connects)}`);
    const keys = [0, 1, 2].map((i) => {
      const o = run.outcomes.get(i);
      assert.ok(o?.ok, `node ${i} finished: ${o && !o.ok ? String(o.error) : 'no outcome'}`);
      return o.value.publicKey;
    });
    assert.ok(keys[0] && keys.every((k) => k === keys[0]));
    const keysetId = run.joined.get(0)!.info.keysetId;
    for (const n of nodes) {
      const k = n.services.cluster.keyset(keysetId);
      assert.equal(k?.status, 'active');
      assert.equal(k?.publicKey, keys[0]);
      assert.equal(k?.clusterId, AIRGAP_CLUSTER);
      assert.equal(n.services.cluster.connected, false);
      assert.equal(n.services.cluster.airgapGroup.status().length, 0);
    }
    // One completion per node, carried as its own bundle.
    assert.equal(readdirSync(folders[0]!).filter((f) => f.includes(run.joined.get(0)!.sessionId.slice(0, 16)) && f.includes('-done-')).length, 3);
    const types = nodes[1]!.services.audit.list().entries.map((e) => e.type);
    assert.ok(types.includes('MPC_KEYGEN_STARTED') && types.includes('MPC_KEYGEN_COMPLETED'));
  });

  it('a headless node serving its folder joins, says which round it waits for, and reports the new key', async () => {
    const { nodes, folders } = trio;
    const lines: string[] = [];
    const stopServing = serveAirgap(nodes[2]!.services, folders[2]!, folders[2]!, (line) => lines.push(line), 50);
    try {
      const started = await nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!);
      const sid = started.sessionId.slice(0, 16);
      const run = await carryUntilSettled(trio, 0, started, [0, 1]);
      assert.ok(run.outcomes.get(0)?.ok && run.outcomes.get(1)?.ok);
      await until(() => lines.some((l) => l.startsWith(`AIRGAP-DONE ${sid}`)), 15_000);
      assert.ok(lines.includes(`AIRGAP-JOINED ${sid} eddsa-keygen keyset ${started.info.keysetId}`), lines.join('\n'));
      // Which round it is in, and whose bundles it waits for when it does (when they came first, it says it is working).
      assert.ok(lines.some((l) => /^AIRGAP-WAITING [0-9a-f]{16} (round [1-9]|completion) (waiting for (console|node-b)|working)/.test(l) && l.includes(sid)), lines.join('\n'));
      const publicKey = nodes[2]!.services.cluster.keyset(started.info.keysetId)?.publicKey;
      assert.ok(publicKey);
      assert.ok(lines.some((l) => l.startsWith(`AIRGAP-DONE ${sid} public key ${publicKey}`)), lines.join('\n'));
    } finally {
      stopServing();
    }
  });

  it('nobody keeps the keyset when a completion never arrives; the node shows whose it waits for', async () => {
    const { nodes, ids, folders } = trio;
    const started = await nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!, { ttlMs: 10_000 });
    const sid = started.sessionId.slice(0, 16);
    const cPrefix = `-done-${ids[2]!.slice(0, 8)}-`;
    const aPrefix = `-done-${ids[0]!.slice(0, 8)}-`;
    // Node C's completion never reaches A and B, and A's never reaches C: each node misses one.
    const keep = (file: string, to: number) => !(file.includes(sid) && ((file.includes(cPrefix) && to !== 2) || (file.includes(aPrefix) && to === 2)));
    let sawCompletionWait = false;
    const watcher = setInterval(() => {
      const s = nodes[0]!.services.cluster.airgapGroup.status().find((x) => x.sessionId === started.sessionId);
      if (s?.phase === 'completion' && s.waitingFor.length === 1 && s.waitingFor[0] === ids[2]) sawCompletionWait = true;
    }, 20);
    const run = await carryUntilSettled(trio, 0, started, [0, 1, 2], { keep, ms: 30_000 });
    clearInterval(watcher);
    assert.ok(sawCompletionWait, 'node A showed it waits for node C’s completion');
    for (const i of [0, 1, 2]) {
      const o = run.outcomes.get(i);
      assert.ok(o && !o.ok, `node ${i} must not keep the keyset`);
      assert.equal(codeOf(o.error), 'COMPLETION_UNPROVEN');
      assert.match(String((o.error as Error).message), /completion of node/);
    }
    for (const n of nodes) {
      assert.equal(n.services.cluster.keyset(started.info.keysetId), null);
      assert.equal(n.services.cluster.sessions().find((s) => s.sessionId === started.sessionId)?.state, 'failed');
    }
  });

  it('nobody but the forger keeps the keyset when a completion carries another outcome', async () => {
    const { nodes, ids, folders } = trio;
    const started = await nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!, { ttlMs: 20_000 });
    const sid = started.sessionId.slice(0, 16);
    const cDone = `-done-${ids[2]!.slice(0, 8)}-`;
    const c = await nodes[2]!.services.cluster.identity();
    let forged = false;
    // Node C's genuine completion stays on C's stick; A and B get one C signed for another public key.
    const keep = (file: string, to: number) => !(file.includes(sid) && file.includes(cDone) && to !== 2);
    const eachRound = () => {
      const mine = readdirSync(folders[2]!).find((f) => f.includes(sid) && f.includes(cDone));
      if (forged || !mine) return;
      const genuine = readBundle(join(folders[2]!, mine));
      const other = { ...genuine.body.attestation!, result: { ...genuine.body.attestation!.result, publicKey: '11'.repeat(32) } };
      const bundle = sealBundle(c, { kind: 'done', clusterId: AIRGAP_CLUSTER, sid: started.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[0]!, ids[1]!] }, { attestation: other, envelopes: [] });
      for (const i of [0, 1]) writeBundle(folders[i]!, bundle);
      forged = true;
    };
    const run = await carryUntilSettled(trio, 0, started, [0, 1, 2], { keep, eachRound, ms: 40_000 });
    assert.ok(forged);
    for (const i of [0, 1]) {
      const o = run.outcomes.get(i);
      assert.ok(o && !o.ok, `node ${i} must not keep the keyset`);
      assert.equal(codeOf(o.error), 'COMPLETION_UNPROVEN');
      assert.match(String((o.error as Error).message), /does not carry its signature/);
      assert.equal(nodes[i]!.services.cluster.keyset(started.info.keysetId), null);
      assert.ok(nodes[i]!.services.audit.list().entries.some((e) => e.type === 'MPC_COMPLETION_UNPROVEN' && e.subject === started.sessionId));
    }
  });

  it('a node restarted mid-session does not resume it: nothing kept, its request and rounds are not taken again', async () => {
    const { ids, folders } = trio;
    const started = await trio.nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!, { ttlMs: 20_000 });
    await until(() => trio.nodes[0]!.services.cluster.airgapGroup.status()[0]?.round === 1);
    carryAll(folders);
    assert.equal((await trio.nodes[1]!.services.cluster.airgapImport(folders[1]!)).joinedGroup.length, 1);
    await until(() => readdirSync(folders[1]!).some((f) => f.includes(started.sessionId.slice(0, 16)) && f.includes(`-r001-${ids[1]!.slice(0, 8)}-`)));
    // Node B's machine restarts: the engine state was only in memory.
    const old = trio.nodes[1]!;
    await stopNode(old, false);
    trio.nodes[1] = await startNode('node-b', undefined, old.dir);
    const b = trio.nodes[1]!.services.cluster;
    const row = b.sessions().find((x) => x.sessionId === started.sessionId);
    assert.equal(row?.state, 'failed');
    assert.ok(['NODE_STOPPED', 'NODE_RESTARTED'].includes(row?.errorCode ?? ''), String(row?.errorCode));
    carryAll(folders);
    const again = await b.airgapImport(folders[1]!);
    assert.equal(again.joinedGroup.length, 0, 'the request is not joined a second time');
    assert.deepEqual(again.refused, []);
    assert.equal(b.airgapGroup.status().length, 0);
    assert.equal(b.keyset(started.info.keysetId), null);
    started.result.catch(() => undefined);
    trio.nodes[0]!.services.cluster.airgapGroup.stopAll();
    assert.equal(trio.nodes[0]!.services.cluster.keyset(started.info.keysetId), null);
  });

  it("a party's operator refuses the key generation: the requester's session ends with that reason; nothing is kept", async () => {
    const { nodes, folders } = trio;
    const started = await nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!);
    started.result.catch(() => undefined);
    const medium = join(folders[1]!, 'refusal-medium');
    mkdirSync(medium);
    for (const f of readdirSync(folders[0]!).filter((f) => f.includes(started.sessionId.slice(0, 16)))) writeBundle(medium, readBundle(join(folders[0]!, f)));
    const b = nodes[1]!.services.cluster;
    // Node B reviews the request and its operator says no, with a reason: a signed refusal goes back.
    assert.deepEqual((await b.airgapPending(medium)).map((r) => r.sessionId), [started.sessionId]);
    await b.airgapRefuse(medium, started.sessionId, 'no key generation was planned for today');
    const refusal = readdirSync(medium).find((f) => f.includes('-refusal-'));
    assert.ok(refusal, 'a refusal bundle for the requester');
    writeBundle(folders[0]!, readBundle(join(medium, refusal)));
    await nodes[0]!.services.cluster.airgapImport(folders[0]!);
    await assert.rejects(started.result, (e: unknown) => codeOf(e) === 'OPERATOR_REFUSED' && /no key generation was planned for today/.test(String((e as Error).message)));
    const row = nodes[0]!.services.cluster.sessions().find((s) => s.sessionId === started.sessionId);
    assert.equal(row?.state, 'failed');
    assert.equal(row?.errorCode, 'OPERATOR_REFUSED');
    assert.equal(nodes[0]!.services.cluster.keyset(started.info.keysetId), null, 'no keyset kept');
    assert.equal(nodes[0]!.services.cluster.airgapGroup.status().length, 0);
  });

  it('refuses tampered, replayed, foreign and duplicated bundles, expired and unenrolled requests', async () => {
    const { nodes, ids, folders } = trio;
    const b = nodes[1]!.services.cluster;
    const roundWritten = (i: number, sid: string) => until(() => trio.nodes[i]!.services.cluster.airgapGroup.status().find((x) => x.sessionId === sid)?.round === 1);
    const started = await nodes[0]!.services.cluster.airgapGroup.keygen('eddsa', folders[0]!, { ttlMs: 20_000 });
    await roundWritten(0, started.sessionId);
    carryAll(folders);
    const joined = await b.airgapImport(folders[1]!);
    assert.equal(joined.joinedGroup.length, 1);
    const other = await nodes[2]!.services.cluster.airgapGroup.keygen('eddsa', folders[2]!, { ttlMs: 20_000 });
    await roundWritten(2, other.sessionId);
    carryAll(folders);
    assert.equal((await b.airgapImport(folders[1]!)).joinedGroup.length, 1);
    const fromA = readdirSync(folders[1]!).filter((f) => f.includes(started.sessionId.slice(0, 16)) && f.includes(`-r001-${ids[0]!.slice(0, 8)}-to-${ids[1]!.slice(0, 8)}`));
    const fromC = readdirSync(folders[1]!).filter((f) => f.includes(other.sessionId.slice(0, 16)) && f.includes(`-r001-${ids[2]!.slice(0, 8)}-to-${ids[1]!.slice(0, 8)}`));
    assert.equal(fromA.length, 1);
    assert.equal(fromC.length, 1);
    const round = readBundle(join(folders[1]!, fromA[0]!));
    const otherRound = readBundle(join(folders[1]!, fromC[0]!));

    // Tampered on the stick: an envelope changed, the header's signed hash no longer matches.
    const tampered: Bundle = JSON.parse(JSON.stringify(round));
    (tampered.body.envelopes[0] as { seq: number }).seq = 9;
    throwsCode(() => b.airgapDeliver(started.sessionId, tampered), 'BUNDLE_TAMPERED');
    // A genuine round of another session, replayed into this one.
    throwsCode(() => b.airgapDeliver(started.sessionId, otherRound), 'BUNDLE_WRONG_SESSION');
    // Re-signed by its sender under this session's id: the envelopes inside still name the other session.
    const a = await nodes[0]!.services.cluster.identity();
    const c = await nodes[2]!.services.cluster.identity();
    throwsCode(() => b.airgapDeliver(started.sessionId, sealBundle(c, { ...otherRound.header, sid: started.sessionId }, otherRound.body)), 'BUNDLE_WRONG_SESSION');
    // Addressed to a party that is not this node.
    throwsCode(() => b.airgapDeliver(started.sessionId, sealBundle(a, { ...round.header, to: [ids[2]!] }, round.body)), 'BUNDLE_NOT_FOR_THIS_NODE');
    // A completion whose attestation names another node than its sender.
    const fakeDone = sealBundle(a, { kind: 'done', clusterId: AIRGAP_CLUSTER, sid: started.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { attestation: { nodeId: ids[2]!, result: { publicKey: 'aa' }, signature: 'a'.repeat(128) }, envelopes: [] });
    throwsCode(() => b.airgapDeliver(started.sessionId, fakeDone), 'BUNDLE_MALFORMED');
    // A completion from A, then a different one from A for the same session: refused.
    const done1 = sealBundle(a, { kind: 'done', clusterId: AIRGAP_CLUSTER, sid: started.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { attestation: { nodeId: ids[0]!, result: { publicKey: 'aa' }, signature: 'a'.repeat(128) }, envelopes: [] });
    const done2 = sealBundle(a, { kind: 'done', clusterId: AIRGAP_CLUSTER, sid: started.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { attestation: { nodeId: ids[0]!, result: { publicKey: 'bb' }, signature: 'b'.repeat(128) }, envelopes: [] });
    assert.equal(b.airgapDeliver(started.sessionId, done1), true);
    assert.equal(b.airgapDeliver(started.sessionId, done1), false, 'an identical re-import is harmless');
    throwsCode(() => b.airgapDeliver(started.sessionId, done2), 'BUNDLE_WRONG_ROUND');

    // An expired request, genuinely signed by A: refused with how long ago it expired.
    const stale = signSessionRequest(a, { clusterId: AIRGAP_CLUSTER, sessionId: 'e'.repeat(64), protocol: 'eddsa-keygen', keysetId: 'ks-expired-test', parties: ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex })), threshold: 2, permitId: null, deadlineAt: Date.now() - 5 * 60_000 });
    let cases = 0;
    const scratch = () => {
      const dir = join(trio.root, `case-${(cases += 1)}`);
      mkdirSync(dir);
      return dir;
    };
    let dir = scratch();
    writeBundle(dir, sealBundle(a, { kind: 'request', clusterId: AIRGAP_CLUSTER, sid: stale.body.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!, ids[2]!] }, { request: stale, envelopes: [] }));
    let report = await b.airgapImport(dir);
    assert.deepEqual(report.refused.map((r) => r.code), ['SESSION_REQUEST_EXPIRED']);
    assert.match(report.refused[0]!.message, /expired 5 min ago/);
    // A request naming a party this node never enrolled.
    const stranger = 'f'.repeat(32);
    const unknownParty = signSessionRequest(a, { clusterId: AIRGAP_CLUSTER, sessionId: 'd'.repeat(64), protocol: 'eddsa-keygen', keysetId: 'ks-stranger-test', parties: [ids[0]!, ids[1]!, stranger].map((nodeId, partyIndex) => ({ nodeId, partyIndex })), threshold: 2, permitId: null, deadlineAt: Date.now() + 60_000 });
    dir = scratch();
    writeBundle(dir, sealBundle(a, { kind: 'request', clusterId: AIRGAP_CLUSTER, sid: unknownParty.body.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { request: unknownParty, envelopes: [] }));
    report = await b.airgapImport(dir);
    assert.deepEqual(report.refused.map((r) => r.code), ['MPC_SESSION_REJECTED']);
    assert.match(report.refused[0]!.message, new RegExp(`${stranger} is not enrolled`));
    assert.ok(!b.sessions().some((s) => s.sessionId === unknownParty.body.sessionId), 'nothing recorded for the refused request');
    // The console joins only what its operator approved: a key generation waits for review, described in words.
    const review = signSessionRequest(a, { clusterId: AIRGAP_CLUSTER, sessionId: '6'.repeat(64), protocol: 'eddsa-keygen', keysetId: 'ks-review-test', parties: ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex })), threshold: 2, permitId: null, deadlineAt: Date.now() + 60_000 });
    dir = scratch();
    writeBundle(dir, sealBundle(a, { kind: 'request', clusterId: AIRGAP_CLUSTER, sid: review.body.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!, ids[2]!] }, { request: review, envelopes: [] }));
    report = await b.airgapImport(dir, dir, { approve: new Set() });
    assert.deepEqual(report.pending, [review.body.sessionId]);
    assert.equal(report.joinedGroup.length, 0);
    const [facts] = await b.airgapPending(dir);
    assert.equal(facts?.problem, null);
    const view = airgapRequestView(facts!, { nodeName: () => 'console', keysetLabel: () => null });
    assert.equal(view.kind, 'setup');
    assert.match(view.description, /^Create a new 2-of-3 EdDSA \(Solana\) keyset/);
    assert.ok(!b.sessions().some((s) => s.sessionId === review.body.sessionId), 'nothing joined before approval');
    // A key generation while this node's operator opened no key-generation window.
    b.closeKeygenWindow();
    const unasked = signSessionRequest(a, { clusterId: AIRGAP_CLUSTER, sessionId: '7'.repeat(64), protocol: 'eddsa-keygen', keysetId: 'ks-unasked-test', parties: ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex })), threshold: 2, permitId: null, deadlineAt: Date.now() + 60_000 });
    dir = scratch();
    writeBundle(dir, sealBundle(a, { kind: 'request', clusterId: AIRGAP_CLUSTER, sid: unasked.body.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { request: unasked, envelopes: [] }));
    report = await b.airgapImport(dir);
    assert.deepEqual(report.refused.map((r) => r.code), ['MPC_SESSION_REJECTED']);
    assert.match(report.refused[0]!.message, /key generation is not open on this node/);
    b.openKeygenWindow(60);
    // A request of another cluster.
    const foreign = signSessionRequest(a, { clusterId: 'someone-else', sessionId: 'c'.repeat(64), protocol: 'eddsa-keygen', keysetId: 'ks-foreign-test', parties: ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex })), threshold: 2, permitId: null, deadlineAt: Date.now() + 60_000 });
    dir = scratch();
    writeBundle(dir, sealBundle(a, { kind: 'request', clusterId: 'someone-else', sid: foreign.body.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { request: foreign, envelopes: [] }));
    report = await b.airgapImport(dir);
    assert.deepEqual(report.refused.map((r) => r.code), ['BUNDLE_WRONG_CLUSTER']);
    // A genuine request altered on the stick (another keyset id): the signed hash no longer holds.
    const genuine = signSessionRequest(a, { clusterId: AIRGAP_CLUSTER, sessionId: 'b'.repeat(64), protocol: 'eddsa-keygen', keysetId: 'ks-genuine-test', parties: ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex })), threshold: 2, permitId: null, deadlineAt: Date.now() + 60_000 });
    const sealed = sealBundle(a, { kind: 'request', clusterId: AIRGAP_CLUSTER, sid: genuine.body.sessionId, protocol: 'eddsa-keygen', round: 0, to: [ids[1]!] }, { request: genuine, envelopes: [] });
    sealed.body.request!.body.keysetId = 'ks-altered';
    dir = scratch();
    writeBundle(dir, sealed);
    report = await b.airgapImport(dir);
    assert.deepEqual(report.refused.map((r) => r.code), ['BUNDLE_TAMPERED']);
    assert.ok(!b.sessions().some((s) => s.sessionId === genuine.body.sessionId));
    started.result.catch(() => undefined);
    other.result.catch(() => undefined);
    nodes.forEach((n) => n.services.cluster.airgapGroup.stopAll());
  });
});
