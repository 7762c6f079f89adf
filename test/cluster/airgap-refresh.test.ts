/**
 * Refresh of every share of an EdDSA keyset entirely by file bundles between three folders: the
 * requester's signed request carries the guardians' approval, each node checks it against its
 * own guardian registry, seals the new share as pending and switches only once every party's
 * signed completion came by file; then two quorums sign under the same key. Attacks: no, forged
 * or expired approval, a rolled-back starting epoch, a party list differing from the record, a
 * replayed round bundle, and a completion that never comes back (nobody switches).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { readBundle, sealBundle, writeBundle } from '../../main/cluster/airgap';
import { airgapRequestView } from '../../main/cluster/airgap-review';
import type { AirgapHandle } from '../../main/cluster/airgap-types';
import { newSessionId, signSessionRequest } from '../../main/cluster/session-request';
import type { RefreshApproval, SessionRequestBody } from '../../main/coordinator/protocol';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, payloadHash } from '../../main/guardians/typed-data';
import { REFRESH_OPERATION, refreshParameters, termsOf } from '../../main/refresh/refresh-approval';
import { approve, enrolGuardians, makeGuardians, rejectsWith, REQUESTER, type Guardian } from './backup-support';
import { carryAll, carryUntilSettled, startAirgapTrio, withoutSockets, type AirgapTrio } from './airgap-group-support';
import { until } from './support';

describe('air gap: EdDSA share refresh by file bundles', { timeout: 300_000 }, () => {
  let trio: AirgapTrio;
  let guardians: Guardian[] = [];
  let keysetId = '';
  /** The approval the refresh by files ran on (spent at every node that joined it). */
  let spent: RefreshApproval | null = null;
  const svc = (i: number) => trio.nodes[i]!.services;

  before(async () => {
    guardians = await makeGuardians();
    trio = await startAirgapTrio();
    // Each node checks approvals against its own registry: the same three guardians everywhere.
    for (const n of trio.nodes) await enrolGuardians(n.services, guardians);
    const started = await svc(0).cluster.airgapGroup.keygen('eddsa', trio.folders[0]!);
    const run = await carryUntilSettled(trio, 0, started, [0, 1, 2]);
    assert.ok([0, 1, 2].every((i) => run.outcomes.get(i)?.ok), 'the key generation by files finished everywhere');
    keysetId = started.info.keysetId;
  });

  after(async () => {
    for (const n of trio?.nodes ?? []) n.services.cluster.airgapGroup.stopAll();
    await trio?.stop();
  });

  /** A refresh request made at node 0 and approved there by two guardians; returns its id. */
  async function approved(): Promise<string> {
    const view = await svc(0).refresh.requestApproval(keysetId, { reason: 'quarterly refresh, offline cluster', requester: REQUESTER, ttlMinutes: 60 });
    await approve(svc(0), view.id, [guardians[0]!, guardians[1]!]);
    return view.id;
  }

  /** A refresh request signed by node 0 with `over` applied, put on node `to`'s medium; the code it is refused with. */
  async function refusedAt(to: number, over: Partial<SessionRequestBody> & { refresh?: RefreshApproval | undefined }): Promise<{ code: string; message: string }> {
    const keyset = svc(0).cluster.keyset(keysetId)!;
    const me = await svc(0).cluster.identity();
    const body = {
      clusterId: keyset.clusterId,
      sessionId: newSessionId(),
      protocol: 'eddsa-refresh' as const,
      keysetId,
      parties: [...keyset.participants].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: 2,
      shareEpoch: keyset.shareEpoch,
      permitId: null,
      deadlineAt: Date.now() + 600_000,
      ...over,
    };
    if ('refresh' in over && over.refresh === undefined) delete (body as { refresh?: unknown }).refresh;
    const request = signSessionRequest(me, body);
    const others = trio.ids.filter((id) => id !== me.nodeId);
    const file = writeBundle(trio.folders[to]!, sealBundle(me, { kind: 'request', clusterId: body.clusterId, sid: body.sessionId, protocol: body.protocol, round: 0, to: others }, { request, envelopes: [] }));
    const report = await svc(to).cluster.airgapImport(trio.folders[to]!);
    // Taken off the medium again, so that it is never carried to the other nodes.
    rmSync(file);
    const mine = report.refused.filter((r) => r.file.includes(body.sessionId.slice(0, 16)));
    assert.equal(mine.length, 1, `node ${to} refuses the request: ${JSON.stringify(report)}`);
    assert.equal(report.joinedGroup.length, 0);
    return mine[0]!;
  }

  const epochs = () => trio.nodes.map((n) => n.services.cluster.keyset(keysetId)!.shareEpoch);
  const pendings = () => trio.nodes.map((n) => n.services.cluster.keysetRefreshes.pending(keysetId)?.toEpoch ?? null);

  /** A key check signed by nodes `a` (requester) and `b` by files; resolves with the signature. */
  async function signByFiles(a: number, b: number): Promise<string> {
    const request = await svc(a).cluster.airgapRequest(keysetId, { purpose: 'key-check' }, trio.ids[b]!, trio.folders[a]!);
    let outcome: { ok: boolean; value?: string; error?: unknown } | undefined;
    request.result.then(
      (r) => (outcome = { ok: true, value: r.signature }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    let joined: AirgapHandle | undefined;
    const refused: Array<{ code: string; message: string }> = [];
    const end = Date.now() + 60_000;
    while (!outcome && Date.now() < end) {
      carryAll(trio.folders, (_file, to) => to === a || to === b);
      const there = await svc(b).cluster.airgapImport(trio.folders[b]!);
      const here = await svc(a).cluster.airgapImport(trio.folders[a]!);
      refused.push(...there.refused, ...here.refused);
      joined ??= there.joined.find((h) => h.sessionId === request.sessionId);
      await new Promise((r) => setTimeout(r, 40));
    }
    assert.deepEqual(refused, []);
    assert.ok(outcome?.ok, `key check by ${a}+${b}: ${String(outcome?.error)}`);
    assert.ok(joined, 'the partner joined by file');
    return outcome.value!;
  }

  it('refuses a refresh request without, with a forged or with an expired guardian approval, or naming other parties; nothing changes', async () => {
    const proof = svc(0).refresh.approvalProof(await approved());

    const missing = await refusedAt(1, { refresh: undefined });
    assert.equal(missing.code, 'REFRESH_APPROVAL_MISSING');
    assert.match(missing.message, /carries no guardian approval/);

    // Two keys that sign exactly these terms but are not guardians on the checking node.
    const terms = termsOf({ body: { requester: trio.ids[0]! } } as never, svc(1).cluster.keyset(keysetId)!);
    const hash = payloadHash(proof.vaultId, REFRESH_OPERATION, keysetId, refreshParameters(terms), proof.context);
    const forged = await Promise.all(
      [Wallet.createRandom(), Wallet.createRandom()].map(async (w) => {
        const nonce = `0x${'ef'.repeat(32)}`;
        return { address: w.address, nonce, signature: await w.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, { requestId: proof.requestId, payloadHash: hash, operation: REFRESH_OPERATION, nonce, expiry: Math.floor(proof.expiresAt / 1000), decision: 'approve' }) };
      }),
    );
    const stranger = await refusedAt(2, { refresh: { ...proof, approvals: forged } });
    assert.equal(stranger.code, 'REFRESH_APPROVAL_QUORUM');
    assert.match(stranger.message, /2 are signed by keys this node does not know as guardians/);

    const expired = await refusedAt(1, { refresh: { ...proof, expiresAt: Date.now() - 5 * 60_000 } });
    assert.equal(expired.code, 'REFRESH_APPROVAL_EXPIRED');
    assert.match(expired.message, /expired \d+ min ago/);

    // Every share changes: a request leaving a share holder out, or moving one to another index.
    const keyset = svc(0).cluster.keyset(keysetId)!;
    const sorted = [...keyset.participants].sort((a, b) => a.partyIndex - b.partyIndex);
    const two = await refusedAt(1, { refresh: proof, parties: sorted.filter((p) => p.nodeId !== trio.ids[2]) });
    assert.equal(two.code, 'REFRESH_NEEDS_ALL_NODES');
    const swapped = sorted.map((p, i) => ({ nodeId: sorted[(i + 1) % sorted.length]!.nodeId, partyIndex: p.partyIndex }));
    const moved = await refusedAt(2, { refresh: proof, parties: swapped });
    assert.equal(moved.code, 'SESSION_REQUEST_WRONG_PARTIES');

    assert.deepEqual(epochs(), [0, 0, 0]);
    assert.deepEqual(pendings(), [null, null, null]);
  });

  it('refreshes every share by files with no socket: each node switches only after the three completions, and two quorums sign under the same key', async () => {
    const before = svc(0).cluster.keyset(keysetId)!;
    const requestId = await approved();
    spent = svc(0).refresh.approvalProof(requestId);
    const { value: run, connects } = await withoutSockets(async () => {
      const started = await svc(0).refresh.runByFiles(keysetId, requestId, trio.folders[0]!);
      assert.equal(started.info.protocol, 'eddsa-refresh');
      // Every node holds the new share sealed, and stays on the old one, until all completions are in.
      let sawSealed = false;
      const run = await carryUntilSettled(trio, 0, started, [0, 1, 2], {
        eachRound: () => {
          const s = svc(0).cluster.airgapGroup.status()[0];
          if (s?.phase === 'completion') {
            assert.equal(svc(0).cluster.keyset(keysetId)!.shareEpoch, 0);
            assert.equal(svc(0).cluster.keysetRefreshes.pending(keysetId)?.toEpoch, 1);
            sawSealed = true;
          }
        },
        // The completions cross only once every node finished its rounds.
        keep: (file) => !file.includes('-done-') || trio.nodes.every((n) => n.services.cluster.airgapGroup.status().every((s) => s.phase === 'completion')),
      });
      assert.ok(sawSealed, 'the requester was seen waiting for completions with its new share sealed');
      return run;
    });
    assert.equal(connects.length, 0, `no socket may be opened: ${JSON.stringify(connects)}`);
    assert.deepEqual(run.refused, []);
    for (const i of [0, 1, 2]) assert.ok(run.outcomes.get(i)?.ok, `node ${i} switched: ${String((run.outcomes.get(i) as { error?: unknown })?.error)}`);
    assert.deepEqual(epochs(), [1, 1, 1]);
    assert.deepEqual(pendings(), [null, null, null]);
    for (const n of trio.nodes) {
      const k = n.services.cluster.keyset(keysetId)!;
      assert.equal(k.publicKey, before.publicKey);
      assert.equal(k.address, before.address);
      assert.ok(n.services.audit.list({ type: 'KEYSET_REFRESHED' }).total >= 1);
    }
    // The approval named epoch 0: it runs no second refresh from epoch 1.
    await rejectsWith(svc(0).refresh.runByFiles(keysetId, requestId, trio.folders[0]!), 'GUARD_PAYLOAD_MISMATCH');
    // Two different quorums sign under the same group key with their new shares.
    assert.ok(await signByFiles(0, 1));
    assert.ok(await signByFiles(1, 2));
  });

  it('refuses a request starting from a rolled-back epoch, and a round bundle replayed from another session', async () => {
    // An approval the guardians gave for epoch 1, and a request claiming the keyset is still at epoch 0.
    const proof = svc(0).refresh.approvalProof(await approved());
    const rolledBack = await refusedAt(1, { refresh: proof, shareEpoch: 0 });
    assert.equal(rolledBack.code, 'SHARE_EPOCH_MISMATCH');
    assert.match(rolledBack.message, /holds epoch 1/);
    // The approval the refresh ran on, presented again in a new request: each node that joined spent it.
    for (const to of [1, 2]) assert.equal((await refusedAt(to, { refresh: spent! })).code, 'REFRESH_APPROVAL_REPLAYED');

    // A refresh starts; a round bundle of the refresh that already ran is offered to it.
    const started = await svc(0).refresh.runByFiles(keysetId, await approved(), trio.folders[0]!, { ttlMs: 120_000 });
    const oldRound = readdirSync(trio.folders[0]!).find((f) => /-r001-/.test(f) && !f.startsWith(`vk-${started.sessionId.slice(0, 16)}`) && readBundle(join(trio.folders[0]!, f)).header.protocol === 'eddsa-refresh' && readBundle(join(trio.folders[0]!, f)).header.to.includes(trio.ids[0]!));
    assert.ok(oldRound, 'a round bundle of the earlier refresh, addressed to this node, is on the medium');
    await rejectsWith(async () => svc(0).cluster.airgapDeliver(started.sessionId, readBundle(join(trio.folders[0]!, oldRound))), 'BUNDLE_WRONG_SESSION');
    // The operator of another node reads what the request asks before approving it.
    const review = join(trio.root, 'review');
    mkdirSync(review);
    const requestFile = readdirSync(trio.folders[0]!).find((f) => f.startsWith(`vk-${started.sessionId.slice(0, 16)}-r000-`))!;
    copyFileSync(join(trio.folders[0]!, requestFile), join(review, requestFile));
    const [facts] = await svc(1).cluster.airgapPending(review);
    assert.equal(facts?.problem, null);
    const view = airgapRequestView(facts!, { nodeName: () => 'console', keysetLabel: () => 'Solana' });
    assert.equal(view.kind, 'setup');
    assert.match(view.description, /Refresh every share of this keyset under two guardians' approval/);
    // The earlier refresh's request, imported again, is not joined a second time.
    const again = await svc(1).cluster.airgapImport(trio.folders[1]!);
    assert.deepEqual(again.joinedGroup, []);
    assert.deepEqual(again.refused, []);
    assert.deepEqual(epochs(), [1, 1, 1]);
    svc(0).cluster.airgapGroup.stopAll();
    await assert.rejects(started.result);
    // Its request is taken off the medium: the operator abandoned it.
    for (const f of readdirSync(trio.folders[0]!)) if (f.includes(started.sessionId.slice(0, 16))) rmSync(join(trio.folders[0]!, f));
  });

  it('a completion that never comes back by file leaves every node on its old share, the new one sealed for "Finish interrupted refresh"', async () => {
    // The previous test stopped its refresh before anything was sealed.
    assert.deepEqual(pendings(), [null, null, null]);
    const requestId = await approved();
    const started = await svc(0).refresh.runByFiles(keysetId, requestId, trio.folders[0]!);
    // The rounds cross, the completions never do (the last trip of the stick is lost).
    const keep = (file: string) => !file.includes('-done-');
    const run = carryUntilSettled(trio, 0, started, [0, 1, 2], { keep, ms: 60_000, eachRound: () => undefined });
    await until(() => trio.nodes.every((n) => n.services.cluster.airgapGroup.status().some((s) => s.sessionId === started.sessionId && s.phase === 'completion' && s.waitingFor.length === 2)), 60_000);
    assert.deepEqual(epochs(), [1, 1, 1]);
    assert.deepEqual(pendings(), [2, 2, 2]);
    // The operators give up: each node ends its session; nobody switched.
    for (const n of trio.nodes) n.services.cluster.airgapGroup.stopAll();
    const settled = await run;
    for (const i of [0, 1, 2]) assert.equal(settled.outcomes.get(i)?.ok, false);
    assert.deepEqual(epochs(), [1, 1, 1]);
    assert.deepEqual(pendings(), [2, 2, 2]);
    // The completions arriving late change nothing.
    carryAll(trio.folders);
    const late = await svc(1).cluster.airgapImport(trio.folders[1]!);
    assert.ok(late.refused.every((r) => r.code === 'AIRGAP_SESSION_NOT_FOUND'));
    assert.deepEqual(epochs(), [1, 1, 1]);
    // A new refresh waits for the interrupted one to be finished.
    await rejectsWith(svc(0).refresh.requestApproval(keysetId, { reason: 'again', requester: REQUESTER, ttlMinutes: 60 }), 'REFRESH_INTERRUPTED');
  });
});
