/**
 * Share refresh of an EdDSA keyset on a loopback cluster: requested by one node, approved by two
 * guardians, checked by every node for itself; the group key and address stay, every quorum
 * signs afterwards, presignature-free EdDSA keeps signing, the backup made before is dead and
 * its restore is refused with its reason. Attacks first (no or one approval, a node reusing
 * another's approval, tampered keyset and parties, expired, replayed), then a node killed after
 * the protocol finished at the others but before it switched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Coordinator } from '../../main/coordinator/server';
import type { RefreshApproval, SessionRequestBody } from '../../main/coordinator/protocol';
import { newSessionId, sessionInfoOf, signSessionRequest } from '../../main/cluster/session-request';
import { PENDING_SHARE_RECORD } from '../../main/cluster/keyset-refresh';
import { AppFailure } from '../../main/errors';
import { approve, backupPassphrases, destroyAndStartFresh, enrolGuardians, makeGuardians, rejectsWith, rejoin, REQUESTER, unlock, type Guardian } from './backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';
import { parseBackupFile } from '../../main/backup/backup-format';
import { readFileSync } from 'node:fs';
import { tempDir } from '../support/temp-dir';
import { GOOD_PASSPHRASE, TRUSTED } from '../support/services';
import type { JobView, KeysetRefreshView, OverviewView, ApprovalRequestView } from '../../preload/contract';
import { Wallet } from 'ethers';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, payloadHash } from '../../main/guardians/typed-data';
import { REFRESH_OPERATION, refreshParameters, termsOf } from '../../main/refresh/refresh-approval';
import { ClusterError } from '../../main/cluster/errors';

describe('keyset share refresh through the cluster (EdDSA)', { timeout: 900_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let GUARDIANS: Guardian[] = [];
  let keysetId = '';
  let otherKeyset = '';
  let address = '';
  let oldBackup = '';
  const media = tempDir('vk-refresh-medium-');
  const svc = (i: number) => nodes[i]!.services;
  const id = async (i: number) => (await svc(i).cluster.identity()).nodeId;

  before(async () => {
    GUARDIANS = await makeGuardians();
    coordinator = await startCoordinator();
    nodes = [await startNode('node-a'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    // Each node checks approvals against its own registry: the same three guardians everywhere.
    for (const n of nodes) await enrolGuardians(n.services, GUARDIANS);
    keysetId = (await svc(0).cluster.createKeyset('eddsa')).keysetId;
    otherKeyset = (await svc(0).cluster.createKeyset('eddsa')).keysetId;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active' && n.services.cluster.keyset(otherKeyset)?.status === 'active'), 30_000);
    address = svc(0).cluster.keyset(keysetId)!.address!;
    const ids = new Map(svc(0).guardians.registry().guardians.map((g) => [g.name, g.id]));
    oldBackup = (await svc(0).backup.backups.create(keysetId, media.path, backupPassphrases(GUARDIANS, ids))).filePath;
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
    media.cleanup();
  });

  /** A refresh request made at node `i` and approved there by `who`. */
  async function approved(i: number, who: Guardian[], keyset = keysetId): Promise<string> {
    const view = await svc(i).refresh.requestApproval(keyset, { reason: 'node B may be compromised', requester: REQUESTER, ttlMinutes: 60 });
    await approve(svc(i), view.id, who);
    return view.id;
  }

  /** Feeds node `to` a refresh invite signed by node `from` (as a relay would) and returns its refusal code, or null. */
  async function inviteRefusal(from: number, to: number, over: Partial<SessionRequestBody> & { refresh?: RefreshApproval | undefined }): Promise<{ code: string; reason: string } | null> {
    const keyset = svc(from).cluster.keyset(over.keysetId ?? keysetId)!;
    const before = svc(to).audit.list({ type: 'MPC_SESSION_REFUSED' }).total;
    const body = {
      clusterId: 'test',
      sessionId: newSessionId(),
      protocol: 'eddsa-refresh' as const,
      keysetId: keyset.keysetId,
      parties: [...keyset.participants].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: 2,
      shareEpoch: keyset.shareEpoch,
      permitId: null,
      deadlineAt: Date.now() + 30_000,
      ...over,
    };
    if ('refresh' in over && over.refresh === undefined) delete (body as { refresh?: unknown }).refresh;
    const request = signSessionRequest(await svc(from).cluster.identity(), body);
    await svc(to).cluster.handleNetworkMessage({ t: 'invite', session: sessionInfoOf(request.body), request });
    const page = svc(to).audit.list({ type: 'MPC_SESSION_REFUSED' });
    if (page.total === before) return null;
    const details = page.entries[0]!.details as { code: string; reason: string };
    return { code: details.code, reason: details.reason };
  }

  const nothingChanged = () => {
    for (const n of nodes) {
      assert.equal(n.services.cluster.keyset(keysetId)!.shareEpoch, 0);
      assert.equal(n.services.cluster.keysetRefreshes.pending(keysetId), null);
    }
  };

  it('every node refuses a refresh without two guardians of its own registry approving exactly it', async () => {
    const good = await approved(0, [GUARDIANS[0]!, GUARDIANS[1]!]);
    const proof = svc(0).refresh.approvalProof(good);

    const missing = await inviteRefusal(0, 1, { refresh: undefined });
    assert.equal(missing?.code, 'REFRESH_APPROVAL_MISSING');

    const none = await inviteRefusal(0, 1, { refresh: { ...proof, approvals: [] } });
    assert.equal(none?.code, 'REFRESH_APPROVAL_QUORUM');
    assert.match(none!.reason, /carries no guardian approval/);

    const one = await inviteRefusal(0, 2, { refresh: { ...proof, approvals: proof.approvals.slice(0, 1) } });
    assert.equal(one?.code, 'REFRESH_APPROVAL_QUORUM');
    assert.match(one!.reason, /1 of the 1 approvals/);

    // The same approval counted twice is still one guardian.
    const doubled = await inviteRefusal(0, 2, { refresh: { ...proof, approvals: [proof.approvals[0]!, proof.approvals[0]!] } });
    assert.equal(doubled?.code, 'REFRESH_APPROVAL_QUORUM');

    // Node B presents A's approval as its own request: the guardians approved A as requester.
    const borrowed = await inviteRefusal(1, 2, { refresh: proof });
    assert.equal(borrowed?.code, 'REFRESH_APPROVAL_QUORUM');

    // The approval of keyset K used for another keyset of the same nodes.
    const otherKeysetUse = await inviteRefusal(0, 1, { keysetId: otherKeyset, refresh: proof });
    assert.equal(otherKeysetUse?.code, 'REFRESH_APPROVAL_QUORUM');

    // Guardian signatures over another request id, expiry or context do not count either.
    const altered = await inviteRefusal(0, 1, { refresh: { ...proof, context: { ...proof.context, reason: 'routine' } } });
    assert.equal(altered?.code, 'REFRESH_APPROVAL_QUORUM');

    // The approval presented as another console's request.
    const strangers = await inviteRefusal(0, 1, { refresh: { ...proof, vaultId: 'another-vault' } });
    assert.equal(strangers?.code, 'REFRESH_APPROVAL_QUORUM');

    // Two keys that sign exactly these terms but are not guardians on the checking node.
    const keyset = svc(0).cluster.keyset(keysetId)!;
    const terms = termsOf({ body: { requester: await id(0) } } as never, keyset);
    const hash = payloadHash(proof.vaultId, REFRESH_OPERATION, keysetId, refreshParameters(terms), proof.context);
    const strangerApprovals = await Promise.all([Wallet.createRandom(), Wallet.createRandom()].map(async (w) => {
      const nonce = `0x${'ab'.repeat(32)}`;
      const signature = await w.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, { requestId: proof.requestId, payloadHash: hash, operation: REFRESH_OPERATION, nonce, expiry: Math.floor(proof.expiresAt / 1000), decision: 'approve' });
      return { address: w.address, nonce, signature };
    }));
    const unknown = await inviteRefusal(0, 1, { refresh: { ...proof, approvals: strangerApprovals } });
    assert.equal(unknown?.code, 'REFRESH_APPROVAL_QUORUM');
    assert.match(unknown!.reason, /2 are signed by keys this node does not know as guardians/);

    // A guardian who requested the refresh does not approve it: with Lena as requester, Lena and Sam make one approval.
    const [lena, sam] = await Promise.all([GUARDIANS[0]!, GUARDIANS[1]!].map((g) => Wallet.fromEncryptedJson(g.keyFile, g.keyPassphrase)));
    const asLena = { ...proof.context, requesterAddress: lena!.address };
    const lenaHash = payloadHash(proof.vaultId, REFRESH_OPERATION, keysetId, refreshParameters(terms), asLena);
    const selfApproved = await Promise.all([lena!, sam!].map(async (w) => {
      const nonce = `0x${'cd'.repeat(32)}`;
      const signature = await w.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, { requestId: proof.requestId, payloadHash: lenaHash, operation: REFRESH_OPERATION, nonce, expiry: Math.floor(proof.expiresAt / 1000), decision: 'approve' });
      return { address: w.address, nonce, signature };
    }));
    const byRequester = await inviteRefusal(0, 1, { refresh: { ...proof, context: asLena, approvals: selfApproved } });
    assert.equal(byRequester?.code, 'REFRESH_APPROVAL_QUORUM');
    assert.match(byRequester!.reason, /1 of the 2 approvals/);

    const expired = await inviteRefusal(0, 1, { refresh: { ...proof, expiresAt: Date.now() - 5 * 60_000 } });
    assert.equal(expired?.code, 'REFRESH_APPROVAL_EXPIRED');
    assert.match(expired!.reason, /expired \d+ min ago/);

    nothingChanged();
  });

  it('every node refuses tampered parties, a partial quorum, and another epoch', async () => {
    const proof = svc(0).refresh.approvalProof(await approved(0, [GUARDIANS[1]!, GUARDIANS[2]!]));
    const parties = [...svc(0).cluster.keyset(keysetId)!.participants].sort((a, b) => a.partyIndex - b.partyIndex);
    const twoOnly = await inviteRefusal(0, 1, { parties: parties.slice(0, 2), refresh: proof });
    assert.ok(twoOnly?.code === 'REFRESH_NEEDS_ALL_NODES' || twoOnly?.code === 'SESSION_REQUEST_WRONG_PARTIES', JSON.stringify(twoOnly));
    const b = await id(1);
    const withB = [parties.find((p) => p.nodeId === b)!, parties.find((p) => p.nodeId !== b)!].sort((x, y) => x.partyIndex - y.partyIndex);
    const onlyTwo = await inviteRefusal(0, 1, { parties: withB, refresh: proof });
    assert.equal(onlyTwo?.code, 'REFRESH_NEEDS_ALL_NODES');
    const swapped = parties.map((p, i) => ({ nodeId: parties[(i + 1) % parties.length]!.nodeId, partyIndex: p.partyIndex }));
    const swap = await inviteRefusal(0, 1, { parties: swapped, refresh: proof });
    assert.equal(swap?.code, 'SESSION_REQUEST_WRONG_PARTIES');
    const epoch = await inviteRefusal(0, 1, { shareEpoch: 1, refresh: proof });
    assert.equal(epoch?.code, 'SHARE_EPOCH_MISMATCH');
    // A refresh result for another key (here: another keyset's share) is never kept.
    const foreign = svc(1).cluster.keysetRefreshes.shareFor({ keysetId: otherKeyset, sessionId: '', protocol: 'eddsa-sign', clusterId: 'test', parties: [], threshold: 2, requester: b, deadlineAt: 0 })!;
    assert.throws(
      () => svc(1).cluster.keysetRefreshes.sealPending({ keysetId, sessionId: 'f'.repeat(64), protocol: 'eddsa-refresh', clusterId: 'test', parties, threshold: 2, requester: b, deadlineAt: 0 }, { share: foreign }),
      (e: unknown) => e instanceof ClusterError && e.code === 'REFRESH_KEY_CHANGED',
    );
    nothingChanged();
  });

  it('a refresh with two approvals changes every share, keeps the address, and every quorum signs', async () => {
    // Without the quorum at the requesting console, nothing starts there.
    const single = await approved(0, [GUARDIANS[0]!]);
    await rejectsWith(svc(0).refresh.run(keysetId, single), 'QUORUM_NOT_MET');
    nothingChanged();

    const requestId = await approved(0, [GUARDIANS[0]!, GUARDIANS[2]!]);
    const sharesBefore = await Promise.all(nodes.map(async (n) => n.services.cluster.keysetRefreshes.shareFor({ keysetId, sessionId: '', protocol: 'eddsa-sign', clusterId: 'test', parties: [], threshold: 2, requester: await id(0), deadlineAt: 0 })!.toString('hex')));
    const out = await svc(0).refresh.run(keysetId, requestId);
    assert.equal(out.address, address);
    assert.equal(out.fromEpoch, 0);
    assert.equal(out.toEpoch, 1);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.shareEpoch === 1), 10_000);
    for (const [i, n] of nodes.entries()) {
      const k = n.services.cluster.keyset(keysetId)!;
      assert.equal(k.address, address, 'address unchanged at every node');
      assert.ok(k.refreshedAt);
      assert.equal(n.services.vault.records.get(PENDING_SHARE_RECORD.type, keysetId), null, 'no sealed new share left');
      assert.notEqual(n.services.cluster.keysetRefreshes.shareFor({ keysetId, sessionId: '', protocol: 'eddsa-sign', clusterId: 'test', parties: [], threshold: 2, requester: await id(0), deadlineAt: 0 })!.toString('hex'), sharesBefore[i], 'the share changed');
      assert.ok(n.services.audit.list({ type: 'KEYSET_REFRESHED' }).total >= 1);
    }
    assert.equal(svc(0).guardians.view(requestId).status, 'executed');
    // Every quorum of two signs with the refreshed shares.
    const [a, b, c] = [await id(0), await id(1), await id(2)];
    for (const [requester, pair] of [[0, [a, b]], [1, [b, c]], [2, [a, c]]] as const) {
      const check = await svc(requester).cluster.keyCheck(keysetId, 'key-check', { prefer: [...pair] });
      assert.deepEqual([...check.parties].sort(), [...pair].sort());
    }
    // The backup made before the refresh is listed as dead.
    const listed = svc(0).backup.backups.list().find((x) => x.filePath === oldBackup)!;
    assert.equal(listed.status, 'dead');
    const view = svc(0).refresh.list().find((k) => k.keysetId === keysetId)!;
    assert.deepEqual(view.backups, { current: 0, dead: 1 });
    assert.equal(view.state, 'ok');
  });

  it('the same approval never runs a second refresh (replayed at the nodes, spent at the console)', async () => {
    const requestId = (svc(0).audit.list({ type: 'KEYSET_REFRESH_STARTED' }).entries[0]!.details as { requestId: string }).requestId;
    const proof = svc(0).refresh.approvalProof(requestId);
    // Even presented at the new epoch, the nodes that ran it refuse the approval.
    const replay = await inviteRefusal(0, 1, { shareEpoch: 1, refresh: proof });
    assert.equal(replay?.code, 'REFRESH_APPROVAL_REPLAYED');
    // At the old epoch the request is out of date.
    const stale = await inviteRefusal(0, 2, { shareEpoch: 0, refresh: proof });
    assert.equal(stale?.code, 'SHARE_EPOCH_MISMATCH');
    // At the console the approval named epoch 0: it approves nothing at epoch 1 (and is spent).
    await rejectsWith(svc(0).refresh.run(keysetId, requestId), 'GUARD_PAYLOAD_MISMATCH');
    assert.equal(svc(0).guardians.view(requestId).status, 'executed');
    for (const n of nodes) assert.equal(n.services.cluster.keyset(keysetId)!.shareEpoch, 1);
  });

  it('a node killed after the others switched is refused with what to do, and finishes by proving its sealed share', async () => {
    const requestId = await approved(0, [GUARDIANS[1]!, GUARDIANS[2]!], otherKeyset);
    // Node C dies after it sealed the new share and reported it finished, before it switched.
    const c = nodes[2]!;
    c.services.cluster.keysetRefreshes.sessionEnded = () => undefined;
    await svc(0).refresh.run(otherKeyset, requestId);
    await until(() => svc(1).cluster.keyset(otherKeyset)?.shareEpoch === 1, 10_000);
    await stopNode(c, false);
    nodes[2] = await startNode('node-c', undefined, c.dir, { stateDir: c.stateDir });
    await nodes[2]!.services.cluster.connect(coordinator.url);
    const cId = await id(2);
    const restarted = svc(2).cluster.keyset(otherKeyset)!;
    assert.equal(restarted.shareEpoch, 0, 'C came back on its old share');
    assert.equal(svc(2).cluster.keysetRefreshes.pending(otherKeyset)?.toEpoch, 1, 'with the new one sealed');
    const listed = svc(2).refresh.list().find((k) => k.keysetId === otherKeyset)!;
    assert.equal(listed.interrupted?.toEpoch, 1);

    // A asks C to sign: C refuses at its epoch, naming the action.
    const refused = await rejectsWith(svc(0).cluster.keyCheck(otherKeyset, 'key-check', { prefer: [cId] }), 'MPC_SESSION_REJECTED');
    assert.equal(refused.details?.code, 'SHARE_EPOCH_MISMATCH');
    assert.match(refused.message, /Finish interrupted refresh/);
    // C asks: the others refuse at theirs, naming C.
    const fromC = await rejectsWith(svc(2).cluster.keyCheck(otherKeyset, 'key-check'), 'MPC_SESSION_REJECTED');
    assert.equal(fromC.details?.code, 'SHARE_EPOCH_MISMATCH');
    assert.match(fromC.message, /the refresh did not finish on node/);
    // A and B, both switched, keep signing meanwhile.
    await svc(0).cluster.keyCheck(otherKeyset, 'key-check', { prefer: [await id(1)] });

    const finished = await svc(2).refresh.finishInterrupted(otherKeyset);
    assert.equal(finished.kept, 'new');
    assert.equal(svc(2).cluster.keyset(otherKeyset)!.shareEpoch, 1);
    assert.equal(svc(2).vault.records.get(PENDING_SHARE_RECORD.type, otherKeyset), null);
    const together = await svc(2).cluster.keyCheck(otherKeyset, 'key-check', { prefer: [await id(0)] });
    assert.ok(together.parties.includes(cId));
    assert.equal(svc(2).cluster.keyset(otherKeyset)!.address, svc(0).cluster.keyset(otherKeyset)!.address);
    await rejectsWith(svc(2).refresh.finishInterrupted(otherKeyset), 'REFRESH_NOT_INTERRUPTED');
  });

  it('a refresh that never finished at the others: the node proves its old share and drops the new one', async () => {
    // Both B and C die before switching; A switches alone... then is restarted as if it had not.
    const requestId = await approved(0, [GUARDIANS[0]!, GUARDIANS[1]!], otherKeyset);
    for (const i of [0, 1, 2]) svc(i).cluster.keysetRefreshes.sessionEnded = () => undefined;
    await rejectsWith(svc(0).refresh.run(otherKeyset, requestId), 'REFRESH_INTERRUPTED');
    for (const i of [0, 1, 2]) {
      assert.equal(svc(i).cluster.keyset(otherKeyset)!.shareEpoch, 1);
      assert.equal(svc(i).cluster.keysetRefreshes.pending(otherKeyset)?.toEpoch, 2);
    }
    // Every node resolves for itself: no peer has switched, so the old share (epoch 1) proves itself.
    for (const i of [0, 1, 2]) {
      const out = await svc(i).refresh.finishInterrupted(otherKeyset);
      assert.equal(out.kept, 'old', `node ${i}`);
      assert.equal(svc(i).cluster.keyset(otherKeyset)!.shareEpoch, 1);
      assert.equal(svc(i).vault.records.get(PENDING_SHARE_RECORD.type, otherKeyset), null);
    }
    await svc(1).cluster.keyCheck(otherKeyset, 'key-check', { prefer: [await id(2)] });
    // The nodes live on: they switch again when a session completes.
    for (const i of [0, 1, 2]) delete (svc(i).cluster.keysetRefreshes as { sessionEnded?: unknown }).sessionEnded;
  });

  it('through the console channels: a refresh runs as a job, and the schedule flags an overdue keyset', async () => {
    const r = svc(0).router;
    const bad = await r.dispatch('refresh.setInterval', { keysetId, days: 0 }, TRUSTED);
    assert.ok(!bad.ok && bad.error.code === 'VALIDATION_FAILED');
    const asked = await r.dispatch('refresh.requestApproval', { keysetId, reason: 'quarterly refresh', requester: REQUESTER, ttlMinutes: 60 }, TRUSTED);
    assert.ok(asked.ok, JSON.stringify(asked));
    const requestId = (asked.value as ApprovalRequestView).id;
    await approve(svc(0), requestId, [GUARDIANS[1]!, GUARDIANS[2]!]);
    const started = await r.dispatch('refresh.start', { keysetId, requestId }, TRUSTED);
    assert.ok(started.ok, JSON.stringify(started));
    const jobId = (started.value as JobView).id;
    let job: JobView | undefined;
    await until(() => {
      job = svc(0).jobs.list().find((j) => j.id === jobId);
      return job?.state !== 'running';
    }, 30_000);
    assert.equal(job?.state, 'succeeded', JSON.stringify(job?.error));
    assert.match(job!.result!.summary, /epoch 1 → 2/);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.shareEpoch === 2), 10_000);

    // A keyset last refreshed 40 days ago on a 30-day schedule is overdue, on the list and the overview.
    svc(0).db.prepare('UPDATE mpc_keysets SET refreshed_at = ? WHERE keyset_id = ?').run(new Date(Date.now() - 40 * 86_400_000).toISOString(), keysetId);
    const listed = await r.dispatch('refresh.list', {}, TRUSTED);
    assert.ok(listed.ok);
    const mine = (listed.value as KeysetRefreshView[]).find((k) => k.keysetId === keysetId)!;
    assert.equal(mine.state, 'overdue');
    assert.equal(mine.daysLeft, -10);
    const overview = await r.dispatch('overview.get', {}, TRUSTED);
    assert.ok(overview.ok);
    const item = (overview.value as OverviewView).items.find((i) => i.id === 'refresh')!;
    assert.equal(item.tone, 'attention');
    assert.ok(item.lines.some((l) => l.includes('refresh OVERDUE by 10 day(s)')), item.lines.join('\n'));
    const set = await r.dispatch('refresh.setInterval', { keysetId, days: 60 }, TRUSTED);
    assert.ok(set.ok && (set.value as KeysetRefreshView).state === 'ok');
  });

  it('a backup made before the refresh is refused with its reason, nothing kept, while signing works', async () => {
    const b = await id(1);
    const fresh = await destroyAndStartFresh(nodes[0]!);
    try {
      const file = parseBackupFile(readFileSync(oldBackup, 'utf8'));
      await fresh.services.backup.restore.createVaultFromBackup(oldBackup, unlock(GUARDIANS, ['Lena', 'Sam'], file), GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      await rejoin(fresh.services, GUARDIANS, [nodes[1]!, nodes[2]!], coordinator.url);
      const request = await fresh.services.backup.restore.requestRestore(oldBackup, keysetId, 'node A lost its disk', REQUESTER, 60);
      await approve(fresh.services, request.id, [GUARDIANS[0]!, GUARDIANS[1]!]);
      const refused = await rejectsWith(fresh.services.backup.restore.restore(oldBackup, keysetId, unlock(GUARDIANS, ['Lena', 'Sam'], file), request.id), 'BACKUP_BEFORE_REFRESH');
      assert.match(refused.message, /^This backup was made before the refresh of \d{4}-\d\d-\d\d \d\d:\d\d UTC; it no longer matches the keyset — use a backup made after it/);
      assert.equal(fresh.services.cluster.keysets().length, 0, 'nothing was installed');
      // B and C sign as before, same address.
      const check = await svc(1).cluster.keyCheck(keysetId, 'key-check', { prefer: [b, await id(2)] });
      assert.equal(check.parties.length, 2);
      assert.equal(svc(1).cluster.keyset(keysetId)!.address, address);
    } catch (error) {
      if (error instanceof AppFailure) error.message += ` [${error.code}]`;
      throw error;
    } finally {
      await fresh.cleanup();
    }
  });
});
