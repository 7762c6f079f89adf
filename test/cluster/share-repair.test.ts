/**
 * Replacing a lost node without its backup (EdDSA share repair) on a loopback cluster: node C's
 * data folder is destroyed, a new machine C' with a new identity is enrolled in C's place on A and
 * B (guarded peer replacement), and A and B rebuild C's share on C' under a guardian quorum that
 * every party checks itself. Afterwards A+C' and B+C' sign under the unchanged group key. Attacks
 * first: a helper asked for a node that is not its enrolled replacement, no or one approval, an
 * expired one, wrong terms, a relay that tampers with the repair messages, a helper that sends a
 * wrong repair value, a rebuilt share that does not match the public share, an ECDSA keyset.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Coordinator } from '../../main/coordinator/server';
import type { RefreshApproval, SessionRequestBody } from '../../main/coordinator/protocol';
import { nodeCardText } from '../../main/cluster/card-file';
import { removeRestoredKeyset } from '../../main/cluster/keyset-install';
import { newSessionId, sessionInfoOf, signSessionRequest } from '../../main/cluster/session-request';
import { MpcSigner } from '../../main/mpc/index';
import type { Services } from '../../main/services';
import { approve, destroyAndStartFresh, enrolGuardians, makeGuardians, rejectsWith, rejoin, REQUESTER, type FreshNode, type Guardian } from './backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';
import { GOOD_PASSPHRASE } from '../support/services';
import { Wallet } from 'ethers';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, payloadHash } from '../../main/guardians/typed-data';
import { REPAIR_OPERATION } from '../../main/repair/repair-approval';
import { repairJob } from '../../main/jobs/repair-job';
import { refreshJob } from '../../main/jobs/refresh-job';
import { JobService, type JobSpec } from '../../main/jobs/job-service';
import { isAppFailure } from '../../main/errors';

/** A helper whose engine output to the node being repaired is altered after it was made (a valid, signed envelope). */
class SigmaCorruptingSigner extends MpcSigner {
  corrupt = false;
  override start(options: Parameters<MpcSigner['start']>[0]): ReturnType<MpcSigner['start']> {
    const handle = super.start(options);
    if (options.protocol !== 'eddsa-repair') return handle;
    const next = handle.next.bind(handle);
    handle.next = async () => {
      const snap = await next();
      if (!this.corrupt) return snap;
      for (const out of snap.outgoing) {
        if (out.to !== options.repairFor) continue;
        // One byte of the sigma scalar (payload offset 14), the addon's envelope checksum recomputed.
        const body = out.bytes.length - 16;
        out.bytes[48 + 14] = out.bytes.readUInt8(48 + 14) ^ 0x01;
        createHash('sha256').update(out.bytes.subarray(0, body)).digest().copy(out.bytes, body, 0, 16);
      }
      return snap;
    };
    return handle;
  }
}

describe('replacing a lost node: the two survivors rebuild its EdDSA share on a new machine', { timeout: 600_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let fresh: FreshNode;
  let GUARDIANS: Guardian[] = [];
  let keysetId = '';
  let address = '';
  let publicKey = '';
  let lostNode = '';
  let newNode = '';
  const corrupting = new SigmaCorruptingSigner();
  let tamper: ((r: { sessionId: string; from: string; to: string; envelope: unknown }) => unknown) | null = null;
  const svc = (i: number): Services => (i === 2 ? fresh.services : nodes[i]!.services);
  const id = async (i: number) => (await svc(i).cluster.identity()).nodeId;

  before(async () => {
    GUARDIANS = await makeGuardians();
    coordinator = await startCoordinator({ relayFilter: (r) => (tamper ? tamper(r) : r.envelope) });
    nodes = [await startNode('node-a'), await startNode('node-b', undefined, undefined, { signer: corrupting }), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    for (const n of nodes) await enrolGuardians(n.services, GUARDIANS);
    keysetId = (await svc(0).cluster.createKeyset('eddsa')).keysetId;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'), 30_000);
    address = svc(0).cluster.keyset(keysetId)!.address!;
    publicKey = svc(0).cluster.keyset(keysetId)!.publicKey!;
    lostNode = (await nodes[2]!.services.cluster.identity()).nodeId;
    // Node C is lost with its data folder and no backup; a new machine gets a new identity.
    fresh = await destroyAndStartFresh(nodes[2]!);
    await fresh.services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    newNode = (await fresh.services.cluster.identity()).nodeId;
    await rejoin(fresh.services, GUARDIANS, nodes.slice(0, 2), coordinator.url);
  });
  after(async () => {
    for (const n of nodes.slice(0, 2)) await stopNode(n).catch(() => undefined);
    await fresh?.cleanup();
    await coordinator.close();
  });

  /** Node i replaces the lost node by the new machine's card (its own guardian request, two approvals). */
  async function replaceOn(i: number): Promise<void> {
    const me = await fresh.services.cluster.identity();
    const text = nodeCardText(me);
    const parameters = await svc(i).cluster.roster.replaceParameters(lostNode, text, me.fingerprint);
    const view = await svc(i).guardians.createRequest({ operation: 'cluster.peer.replace', subject: lostNode, parameters, context: { reason: 'node C was lost' }, requester: REQUESTER, ttlMinutes: 60 });
    await approve(svc(i), view.id, [GUARDIANS[0]!, GUARDIANS[1]!]);
    await svc(i).cluster.roster.replace(lostNode, text, me.fingerprint, view.id, svc(i).guardians);
  }

  /** A repair request made at node 0 and approved there by `who`. */
  async function approved(who: Guardian[], keyset = keysetId): Promise<string> {
    const view = await svc(0).repair.requestApproval(keyset, newNode, { reason: 'node C was lost without a backup', requester: REQUESTER, ttlMinutes: 60 });
    await approve(svc(0), view.id, who);
    return view.id;
  }

  /** Feeds node `to` a repair invite signed by node 0 (as a relay would) and returns its refusal, or null. */
  async function inviteRefusal(to: number, over: Partial<SessionRequestBody>, repairOver: Partial<NonNullable<SessionRequestBody['repair']>> = {}): Promise<{ code: string; reason: string } | null> {
    const plan = await svc(0).cluster.repairRequests.plan(over.keysetId ?? keysetId, newNode);
    const requestId = await approved([GUARDIANS[0]!, GUARDIANS[2]!], plan.keyset.keysetId);
    const approval: RefreshApproval = svc(0).repair.approvalProof(requestId);
    const before = svc(to).audit.list({ type: 'MPC_SESSION_REFUSED' }).total;
    const body: Omit<SessionRequestBody, 'v' | 'requester'> = {
      clusterId: 'test',
      sessionId: newSessionId(),
      protocol: 'eddsa-repair',
      keysetId: plan.keyset.keysetId,
      parties: [...plan.helpers, { nodeId: newNode, partyIndex: plan.partyIndex }].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: 2,
      shareEpoch: plan.keyset.shareEpoch,
      repair: { partyIndex: plan.partyIndex, lostNode: plan.lostNode, newNode, publicKey: plan.keyset.publicKey!, publicShare: plan.publicShare, approval, ...repairOver },
      permitId: null,
      deadlineAt: Date.now() + 30_000,
      ...over,
    };
    const request = signSessionRequest(await svc(0).cluster.identity(), body);
    await svc(to).cluster.handleNetworkMessage({ t: 'invite', session: sessionInfoOf(request.body), request });
    const page = svc(to).audit.list({ type: 'MPC_SESSION_REFUSED' });
    if (page.total === before) return null;
    return page.entries[0]!.details as { code: string; reason: string };
  }

  const nothingChanged = () => {
    for (const i of [0, 1]) assert.ok(svc(i).cluster.keyset(keysetId)!.participants.some((p) => p.nodeId === lostNode && p.partyIndex === 2));
    assert.equal(fresh.services.cluster.keyset(keysetId), null);
  };

  it('a helper refuses a new node it has not enrolled as the lost node\'s replacement', async () => {
    await replaceOn(0);
    const refusal = await inviteRefusal(1, {});
    assert.equal(refusal?.code, 'REPAIR_NOT_REPLACEMENT');
    assert.match(refusal!.reason, /Peers → Replace/);
    // A node enrolled here but not as the replacement of the lost node is refused the same way.
    await replaceOn(1);
    const other = await inviteRefusal(1, {}, { lostNode: await id(0), partyIndex: 0 });
    assert.ok(other?.code === 'REPAIR_WRONG_NODE' || other?.code === 'SESSION_REQUEST_WRONG_PARTIES', JSON.stringify(other));
    nothingChanged();
  });

  it('each helper and the new node refuse without two of their own guardians approving exactly this repair', async () => {
    const proof = svc(0).repair.approvalProof(await approved([GUARDIANS[0]!, GUARDIANS[1]!]));
    for (const to of [1, 2]) {
      const none = await inviteRefusal(to, {}, { approval: { ...proof, approvals: [] } });
      assert.equal(none?.code, 'REPAIR_APPROVAL_QUORUM');
      assert.match(none!.reason, /carries no guardian approval/);
      const one = await inviteRefusal(to, {}, { approval: { ...proof, approvals: proof.approvals.slice(0, 1) } });
      assert.equal(one?.code, 'REPAIR_APPROVAL_QUORUM');
      const doubled = await inviteRefusal(to, {}, { approval: { ...proof, approvals: [proof.approvals[0]!, proof.approvals[0]!] } });
      assert.equal(doubled?.code, 'REPAIR_APPROVAL_QUORUM');
      const expired = await inviteRefusal(to, {}, { approval: { ...proof, expiresAt: Date.now() - 5 * 60_000 } });
      assert.equal(expired?.code, 'REPAIR_APPROVAL_EXPIRED');
      assert.match(expired!.reason, /expired \d+ min ago/);
    }
    // A guardian who requested the repair does not approve it: with Lena as requester, Lena and Sam make one approval.
    const plan = await svc(0).cluster.repairRequests.plan(keysetId, newNode);
    const parameters = svc(0).cluster.shareRepairs.parameters(plan.keyset, { partyIndex: plan.partyIndex, lostNode, newNode, helpers: plan.helpers, requesterNode: await id(0), publicShare: plan.publicShare });
    const [lena, sam] = await Promise.all([GUARDIANS[0]!, GUARDIANS[1]!].map((g) => Wallet.fromEncryptedJson(g.keyFile, g.keyPassphrase)));
    const asLena = { ...proof.context, requesterAddress: lena!.address };
    const lenaHash = payloadHash(proof.vaultId, REPAIR_OPERATION, keysetId, parameters, asLena);
    const selfApproved = await Promise.all([lena!, sam!].map(async (w) => {
      const nonce = `0x${'cd'.repeat(32)}`;
      const signature = await w.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, { requestId: proof.requestId, payloadHash: lenaHash, operation: REPAIR_OPERATION, nonce, expiry: Math.floor(proof.expiresAt / 1000), decision: 'approve' });
      return { address: w.address, nonce, signature };
    }));
    const byRequester = await inviteRefusal(1, {}, { approval: { ...proof, context: asLena, approvals: selfApproved } });
    assert.equal(byRequester?.code, 'REPAIR_APPROVAL_QUORUM');
    assert.match(byRequester!.reason, /only 1 of the 2 approvals/);
    // Approved terms with another public share: the helper's own record disagrees, the new node's guardians did not sign it.
    const otherShare = { publicShare: 'ab'.repeat(32) };
    assert.equal((await inviteRefusal(1, {}, otherShare))?.code, 'REPAIR_WRONG_NODE');
    assert.equal((await inviteRefusal(2, {}, otherShare))?.code, 'REPAIR_APPROVAL_QUORUM');
    // At the requesting console nothing starts with one approval.
    await rejectsWith(svc(0).repair.run(keysetId, newNode, await approved([GUARDIANS[0]!])), 'QUORUM_NOT_MET');
    nothingChanged();
  });

  it('a relay that tampers with a repair message: dropped, the repair fails, nothing is written', async () => {
    tamper = (r) => {
      if (r.to !== newNode) return r.envelope;
      const env = { ...(r.envelope as Record<string, string>) };
      const ct = Buffer.from(env.ct!, 'base64');
      ct[ct.length >> 1]! ^= 0x01;
      env.ct = ct.toString('base64');
      return env;
    };
    try {
      await rejectsWith(svc(0).repair.run(keysetId, newNode, await approved([GUARDIANS[0]!, GUARDIANS[1]!]), { timeoutMs: 2_500 }), 'MPC_SESSION_FAILED');
    } finally {
      tamper = null;
    }
    nothingChanged();
  });

  it('a helper that sends a wrong repair value: the new node\'s share does not match the public share, nothing is written', async () => {
    corrupting.corrupt = true;
    try {
      const e = await rejectsWith(svc(0).repair.run(keysetId, newNode, await approved([GUARDIANS[0]!, GUARDIANS[1]!])), 'MPC_SESSION_REJECTED');
      assert.equal(e.details?.code, 'SHARE_MISMATCH');
    } finally {
      corrupting.corrupt = false;
    }
    nothingChanged();
    // The new node's own check before it stores: a share of another index is refused and audited.
    const other = svc(0).cluster.keysetRefreshes.shareFor({ keysetId, sessionId: '', protocol: 'eddsa-sign', clusterId: 'test', parties: [], threshold: 2, requester: newNode, deadlineAt: 0 })!;
    const info = { sessionId: 'e'.repeat(64), protocol: 'eddsa-repair' as const, clusterId: 'test', keysetId, parties: [], threshold: 2, requester: await id(0), deadlineAt: 0, repair: { partyIndex: 2, lostNode, newNode, publicKey, publicShare: svc(0).cluster.repairRequests ? (await svc(0).cluster.repairRequests.plan(keysetId, newNode)).publicShare : '' } };
    fresh.services.cluster.shareRepairs.sessionEnded(info, newNode, true, { share: other });
    assert.equal(fresh.services.cluster.keyset(keysetId), null);
    assert.ok(fresh.services.audit.list({ type: 'KEYSET_SHARE_REPAIR_REFUSED' }).total >= 1);
  });

  it('the repair as a job: a refresh or second repair of the keyset is refused while it runs; cancel ends the session, nothing is written', async () => {
    // The new node never hears from the helpers: the repair waits until it is cancelled.
    tamper = (r) => (r.to === newNode ? null : r.envelope);
    try {
      const jobs = svc(0).jobs;
      const failedBefore = svc(0).audit.list({ type: 'KEYSET_REPAIR_FAILED' }).total;
      const started = jobs.start(repairJob(svc(0).repair, svc(0).cluster, svc(0).vault, keysetId, newNode, await approved([GUARDIANS[0]!, GUARDIANS[1]!])));
      assert.equal(started.kind, 'repair');
      await until(() => jobs.list().find((j) => j.id === started.id)?.phase.startsWith('Rebuilding the lost share') === true, 10_000);
      const conflict = (spec: JobSpec) => assert.throws(() => jobs.start(spec), (e: unknown) => isAppFailure(e) && e.code === 'JOB_CONFLICT' && /Share repair of .* is still running/.test(e.message));
      conflict(refreshJob(svc(0).refresh, svc(0).cluster, svc(0).vault, keysetId, started.id, false));
      conflict(repairJob(svc(0).repair, svc(0).cluster, svc(0).vault, keysetId, newNode, started.id));
      // A console that stopped here lists the repair as interrupted at its next start (same database).
      const restarted = new JobService({ clock: svc(0).clock, audit: svc(0).audit, vault: svc(0).vault, db: svc(0).db }).list().find((j) => j.id === started.id)!;
      assert.deepEqual([restarted.state, restarted.error?.code], ['failed', 'JOB_INTERRUPTED']);
      assert.match(restarted.error!.message, /interrupted: the console stopped during share repair/);
      const cancelled = jobs.cancel(started.id);
      assert.equal(cancelled.state, 'cancelled');
      assert.match(cancelled.error!.message, /The share repair was cancelled: cancelled by the operator/);
      await jobs.settled();
      assert.equal(jobs.list().find((j) => j.id === started.id)?.state, 'cancelled');
      // The session ended as failed with the cancel's reason, and the repair's failure is audited.
      assert.equal(svc(0).audit.list({ type: 'KEYSET_REPAIR_FAILED' }).total, failedBefore + 1);
      assert.equal(svc(0).audit.list({ type: 'JOB_CANCELLED' }).entries[0]!.subject, started.id);
      // Locking the vault ends a running repair the same way, with the lock as the reason.
      const locked = jobs.start(repairJob(svc(0).repair, svc(0).cluster, svc(0).vault, keysetId, newNode, await approved([GUARDIANS[0]!, GUARDIANS[1]!])));
      await until(() => jobs.list().find((j) => j.id === locked.id)?.phase.startsWith('Rebuilding the lost share') === true, 10_000);
      await jobs.cancelForLock();
      await jobs.settled();
      assert.deepEqual(jobs.list().find((j) => j.id === locked.id)?.error, { code: 'VAULT_LOCKED', message: 'The share repair failed: vault locked during share repair.' });
      assert.equal(svc(0).audit.list({ type: 'KEYSET_REPAIR_FAILED' }).total, failedBefore + 2);
    } finally {
      tamper = null;
    }
    nothingChanged();
  });

  it('A and B rebuild the share on the new node: same address, and A+C\' and B+C\' sign under the group key', async () => {
    const job = svc(0).jobs.start(repairJob(svc(0).repair, svc(0).cluster, svc(0).vault, keysetId, newNode, await approved([GUARDIANS[1]!, GUARDIANS[2]!])));
    await svc(0).jobs.settled();
    const ended = svc(0).jobs.list().find((j) => j.id === job.id)!;
    assert.equal(ended.state, 'succeeded', JSON.stringify(ended.error));
    assert.match(ended.result!.summary, new RegExp(`now holds share 2 of ${keysetId}.*address is unchanged \\(${address}\\)`));
    const out = { address: svc(0).cluster.keyset(keysetId)!.address, partyIndex: svc(0).cluster.keyset(keysetId)!.participants.find((p) => p.nodeId === newNode)!.partyIndex };
    assert.equal(out.address, address);
    assert.equal(out.partyIndex, 2);
    await until(() => svc(1).cluster.keyset(keysetId)!.participants.some((p) => p.nodeId === newNode) && fresh.services.cluster.keyset(keysetId) !== null);
    const mine = fresh.services.cluster.keyset(keysetId)!;
    assert.equal(mine.address, address);
    assert.equal(mine.publicKey, publicKey);
    assert.equal(mine.myPartyIndex, 2);
    for (const i of [0, 1]) assert.deepEqual(svc(i).cluster.keyset(keysetId)!.participants.find((p) => p.partyIndex === 2)?.nodeId, newNode);
    for (const helper of [await id(0), await id(1)]) {
      const check = await fresh.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [newNode, helper] });
      assert.deepEqual([...check.parties].sort(), [newNode, helper].sort());
      assert.ok(ed25519.verify(Buffer.from(check.signature, 'hex'), Buffer.from(check.message, 'hex'), Buffer.from(publicKey, 'hex')));
    }
    // Once the new node holds the share, a second repair is refused by the new node itself.
    assert.equal((await inviteRefusal(2, {}))?.code, 'REPAIR_KEYSET_EXISTS');
  });

  it('a new node killed before it stored the share: the helpers already list it, and the repair runs again', async () => {
    // The new node lost what it received (its data rolled back to before the end of the repair).
    removeRestoredKeyset(fresh.services.db, keysetId);
    const again = await svc(0).repair.run(keysetId, newNode, await approved([GUARDIANS[0]!, GUARDIANS[1]!]));
    assert.equal(again.address, address);
    await until(() => fresh.services.cluster.keyset(keysetId) !== null);
    assert.equal(fresh.services.cluster.keyset(keysetId)?.publicKey, publicKey);
    const check = await fresh.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [newNode, await id(1)] });
    assert.ok(ed25519.verify(Buffer.from(check.signature, 'hex'), Buffer.from(check.message, 'hex'), Buffer.from(publicKey, 'hex')));
  });

  it('an ECDSA keyset is refused with the way out: restore the lost share from its backup', async () => {
    const ecdsaId = 'ks-ecdsa-no-repair';
    const participants = JSON.stringify([{ nodeId: await id(0), partyIndex: 0 }, { nodeId: await id(1), partyIndex: 1 }, { nodeId: lostNode, partyIndex: 2 }]);
    for (const i of [0, 1]) {
      // A record only (no ECDSA key generation needed): the refusal comes before any share is read.
      svc(i).db.prepare(`INSERT INTO mpc_keysets (keyset_id, cluster_id, scheme, key_ref, threshold, participants, my_party_index, public_key, address, status, session_id, created_at, lab) VALUES (?, 'test', 'ecdsa', ?, 2, ?, ?, ?, ?, 'active', 'test', ?, 0)`).run(ecdsaId, `mpc-tecdsa://test/${ecdsaId}`, participants, i, '04'.padEnd(130, '1'), '0x0000000000000000000000000000000000000001', new Date().toISOString());
    }
    const e = await rejectsWith(svc(0).repair.requestApproval(ecdsaId, newNode, { reason: 'lost', requester: REQUESTER, ttlMinutes: 60 }), 'REPAIR_NOT_FOR_ECDSA');
    assert.match(e.message, /no audited share repair.*Restore the lost node's share from its backup/);
    const view = svc(0).repair.candidates().find((c) => c.keysetId === ecdsaId);
    assert.match(view?.refusal ?? '', /backup/);
    const proof = svc(0).repair.approvalProof((await svc(0).guardians.createRequest({ operation: 'keyset.repair', subject: ecdsaId, parameters: {}, context: { reason: 'x' }, requester: REQUESTER, ttlMinutes: 60 })).id);
    const body: Omit<SessionRequestBody, 'v' | 'requester'> = {
      clusterId: 'test', sessionId: newSessionId(), protocol: 'eddsa-repair', keysetId: ecdsaId,
      parties: [{ nodeId: await id(0), partyIndex: 0 }, { nodeId: await id(1), partyIndex: 1 }, { nodeId: newNode, partyIndex: 2 }], threshold: 2, shareEpoch: 0,
      repair: { partyIndex: 2, lostNode, newNode, publicKey: 'cd'.repeat(32), publicShare: 'ef'.repeat(32), approval: proof }, permitId: null, deadlineAt: Date.now() + 30_000,
    };
    const request = signSessionRequest(await svc(0).cluster.identity(), body);
    await svc(1).cluster.handleNetworkMessage({ t: 'invite', session: sessionInfoOf(request.body), request });
    const refused = svc(1).audit.list({ type: 'MPC_SESSION_REFUSED' }).entries[0]!.details as { code: string; reason: string };
    assert.equal(refused.code, 'REPAIR_NOT_FOR_ECDSA');
    assert.match(refused.reason, /backup/);
  });
});
