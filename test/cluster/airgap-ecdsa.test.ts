/**
 * The shown case of the air gap for ECDSA: a three-party key generation with its auxiliary data,
 * a presign by two of the three, and a signature with that presignature, every step by file
 * bundles between three folders and no socket connect from any node. The signature recovers to
 * the keyset's address. Then: requests naming parties that differ from the keyset record, rounds
 * from a member outside the session, a replayed signing request; last, a shares-only refresh of
 * the keyset by files under two guardians' approval. One set of three nodes, with the test-only
 * Paillier primes (no prime search).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keccak256, recoverAddress, Signature } from 'ethers';
import { readBundle, sealBundle, writeBundle } from '../../main/cluster/airgap';
import type { AirgapGroupHandle } from '../../main/cluster/airgap-group';
import { signSessionRequest } from '../../main/cluster/session-request';
import { AppFailure } from '../../main/errors';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, testPrimes, until } from './support';
import { approve, enrolGuardians, makeGuardians, REQUESTER } from './backup-support';
import { carryAll, carryUntilSettled, startAirgapTrio, withoutSockets, type AirgapTrio } from './airgap-group-support';

describe('air gap: ECDSA key generation, presign and presigned signature by file bundles', { timeout: 600_000 }, () => {
  let trio: AirgapTrio;
  let keysetId = '';
  let address = '';
  let signRequest: AirgapGroupHandle | null = null;

  before(async () => {
    trio = await startAirgapTrio(testPrimes());
  });

  after(async () => {
    await trio?.stop();
  });

  const settledOk = <T>(o: { ok: true; value: T } | { ok: false; error: unknown } | undefined, who: string): T => {
    assert.ok(o, `${who} settled`);
    if (!o.ok) assert.fail(`${who} failed: ${String((o.error as Error)?.message ?? o.error)}`);
    return o.value;
  };

  it('three nodes make a keyset, two presign, then sign with the presignature; no socket opened', async () => {
    const { nodes, ids, folders } = trio;
    const { connects } = await withoutSockets(async () => {
      // 1. Key generation with auxiliary data, all three parties.
      const keygen = await nodes[0]!.services.cluster.airgapGroup.keygen('ecdsa', folders[0]!);
      const k = await carryUntilSettled(trio, 0, keygen, [0, 1, 2], { ms: 400_000 });
      assert.deepEqual(k.refused, []);
      const addresses = [0, 1, 2].map((i) => settledOk(k.outcomes.get(i), `keygen at node ${i}`).address);
      keysetId = keygen.info.keysetId;
      address = addresses[0]!;
      assert.match(address, /^0x[0-9a-fA-F]{40}$/);
      assert.ok(addresses.every((a) => a === address));
      for (const n of nodes) assert.equal(n.services.cluster.keyset(keysetId)?.address, address);

      // 2. A presign by the console and node B; node C is not asked.
      const presign = await nodes[0]!.services.cluster.airgapGroup.presign(keysetId, ids[1]!, folders[0]!);
      const p = await carryUntilSettled(trio, 0, presign, [0, 1], { ms: 120_000 });
      assert.deepEqual(p.refused, []);
      const presignatureId = settledOk(p.outcomes.get(0), 'presign at the console').presignatureId;
      assert.equal(settledOk(p.outcomes.get(1), 'presign at node B').presignatureId, presignatureId);
      for (const i of [0, 1]) assert.equal(nodes[i]!.services.cluster.pool.list(keysetId).find((x) => x.presignatureId === presignatureId)?.state, 'ready');
      assert.ok(!nodes[2]!.services.cluster.pool.list(keysetId).some((x) => x.presignatureId === presignatureId));

      // 3. The presigned signature under a permit both signers allow.
      const message = Buffer.from('eth transfer 0.5 ETH to the treasury, signed across the gap');
      const permit = allowEverywhere(nodes, testPermit(keysetId, message));
      signRequest = await nodes[0]!.services.cluster.airgapGroup.signPresigned(keysetId, { permit, message }, folders[0]!);
      assert.equal(signRequest.info.protocol, 'ecdsa-sign-presigned');
      assert.equal(signRequest.info.presignatureId, presignatureId);
      const s = await carryUntilSettled(trio, 0, signRequest, [0, 1], { ms: 60_000 });
      assert.deepEqual(s.refused, []);
      const mine = settledOk(s.outcomes.get(0), 'signing at the console');
      const theirs = settledOk(s.outcomes.get(1), 'signing at node B');
      assert.equal(theirs.signature, mine.signature);
      const sig = Buffer.from(mine.signature!, 'hex');
      const signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, v: 27 + mine.recoveryId! });
      assert.equal(recoverAddress(keccak256(message), signature).toLowerCase(), address.toLowerCase());
      // The presignature is spent at both signers.
      for (const i of [0, 1]) assert.notEqual(nodes[i]!.services.cluster.pool.list(keysetId).find((x) => x.presignatureId === presignatureId)?.state, 'ready');
    });
    assert.equal(connects.length, 0, `no socket may be opened: ${JSON.stringify(connects)}`);
    for (const n of nodes) assert.equal(n.services.cluster.connected, false);
  });

  it('refuses parties that differ from the keyset record, rounds from a member outside the session, and a replayed signing request', async () => {
    const { nodes, ids, folders } = trio;
    assert.ok(keysetId, 'the keyset of the first test exists');
    const a = await nodes[0]!.services.cluster.identity();
    const b = nodes[1]!.services.cluster;
    const keyset = nodes[0]!.services.cluster.keyset(keysetId)!;
    const dir = join(trio.root, 'ecdsa-cases');
    mkdirSync(dir);
    // A presign naming node C as the party index of node B: refused against B's own record.
    const swapped = keyset.participants.map((p) => (p.nodeId === ids[1] ? { nodeId: ids[1]!, partyIndex: keyset.participants.find((x) => x.nodeId === ids[2])!.partyIndex } : p)).filter((p) => p.nodeId !== ids[2]).sort((x, y) => x.partyIndex - y.partyIndex);
    const wrong = signSessionRequest(a, { clusterId: keyset.clusterId, sessionId: '9'.repeat(64), protocol: 'ecdsa-presign', keysetId, parties: swapped, threshold: 2, shareEpoch: 0, permitId: null, deadlineAt: Date.now() + 60_000 });
    writeBundle(dir, sealBundle(a, { kind: 'request', clusterId: keyset.clusterId, sid: wrong.body.sessionId, protocol: 'ecdsa-presign', round: 0, to: [ids[1]!] }, { request: wrong, envelopes: [] }));
    const report = await b.airgapImport(dir);
    assert.deepEqual(report.refused.map((r) => r.code), ['SESSION_REQUEST_WRONG_PARTIES']);
    assert.match(report.refused[0]!.message, /does not match keyset/);

    // A presign of A and B: a round bundle sealed by C (a member, but not in this session) is refused.
    const presign = await nodes[0]!.services.cluster.airgapGroup.presign(keysetId, ids[1]!, folders[0]!);
    await until(() => readdirSync(folders[0]!).some((f) => f.includes(presign.sessionId.slice(0, 16)) && f.includes('-r001-')), 30_000);
    carryAll(folders);
    assert.equal((await b.airgapImport(folders[1]!)).joinedGroup.length, 1);
    const roundFile = readdirSync(folders[1]!).find((f) => f.includes(presign.sessionId.slice(0, 16)) && f.includes('-r001-'))!;
    const round = readBundle(join(folders[1]!, roundFile));
    const c = await nodes[2]!.services.cluster.identity();
    assert.throws(
      () => b.airgapDeliver(presign.sessionId, sealBundle(c, round.header, round.body)),
      (e: unknown) => e instanceof AppFailure && e.code === 'BUNDLE_UNKNOWN_SENDER' && /not an enrolled, non-quarantined participant/.test(e.message),
    );
    presign.result.catch(() => undefined);
    for (const n of nodes) n.services.cluster.airgapGroup.stopAll();

    // The signing request of the first test, carried again: the session is known, nothing is signed twice.
    assert.ok(signRequest);
    const before = nodes[1]!.authorizer && 'decisions' in nodes[1]!.authorizer ? (nodes[1]!.authorizer as { decisions: unknown[] }).decisions.length : 0;
    const again = await b.airgapImport(folders[1]!);
    assert.equal(again.joinedGroup.length, 0);
    assert.deepEqual(again.refused, []);
    const afterCount = nodes[1]!.authorizer && 'decisions' in nodes[1]!.authorizer ? (nodes[1]!.authorizer as { decisions: unknown[] }).decisions.length : 0;
    assert.equal(afterCount, before, 'the authorizer was not even asked again');
  });

  it('refreshes the ECDSA shares by files (auxiliary data kept): every node switches to epoch 1 under the same address', async () => {
    const { nodes, folders } = trio;
    const guardians = await makeGuardians();
    for (const n of nodes) await enrolGuardians(n.services, guardians);
    const asked = await nodes[0]!.services.refresh.requestApproval(keysetId, { reason: 'quarterly refresh, offline cluster', requester: REQUESTER, ttlMinutes: 60 });
    await approve(nodes[0]!.services, asked.id, [guardians[0]!, guardians[2]!]);
    const started = await nodes[0]!.services.refresh.runByFiles(keysetId, asked.id, folders[0]!);
    assert.equal(started.info.protocol, 'ecdsa-refresh-shares');
    assert.equal(started.info.auxId, undefined);
    const run = await carryUntilSettled(trio, 0, started, [0, 1, 2], { ms: 300_000 });
    assert.deepEqual(run.refused, []);
    for (const i of [0, 1, 2]) settledOk(run.outcomes.get(i), `node ${i}`);
    for (const n of nodes) {
      const k = n.services.cluster.keyset(keysetId)!;
      assert.equal(k.shareEpoch, 1);
      assert.equal(k.address, address);
      assert.equal(n.services.cluster.keysetRefreshes.pending(keysetId), null);
    }
  });
});
