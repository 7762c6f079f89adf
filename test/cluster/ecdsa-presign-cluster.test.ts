import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Signature, Transaction } from 'ethers';
import type { Coordinator } from '../../main/coordinator/server';
import type { KeysetRecord, PresignatureRecord, SignOutcome } from '../../main/cluster/cluster-service';
import { AppFailure } from '../../main/errors';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import { enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

function unsignedTx(nonce: number): Transaction {
  return Transaction.from({
    type: 2,
    chainId: 1,
    nonce,
    maxPriorityFeePerGas: 1_000_000_000n,
    maxFeePerGas: 30_000_000_000n,
    gasLimit: 21_000n,
    to: '0x000000000000000000000000000000000000dEaD',
    value: 10n ** 15n,
    data: '0x',
  });
}

/** Attaches the cluster's signature and returns the sender ethers recovers from the signed transaction. */
function signedSender(tx: Transaction, out: SignOutcome): string {
  const sig = Buffer.from(out.signature, 'hex');
  const signed = tx.clone();
  signed.signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, yParity: (out.recoveryId ?? 0) as 0 | 1 });
  return Transaction.from(signed.serialized).from!;
}

const preimage = (tx: Transaction) => Buffer.from(tx.unsignedSerialized.slice(2), 'hex');

// One ECDSA key generation for the whole file: it takes ≈13 s.
describe('ECDSA presignature pool through the coordinator', { timeout: 400_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let keyset: KeysetRecord;
  let ids: string[] = [];
  let quorums: string[][] = [];
  const primes = testPrimes();
  const secretsLeft = (n: TestNode) => (n.services.db.prepare(`SELECT COUNT(*) AS c FROM sealed_records WHERE record_type = 'mpc-presignature'`).get() as { c: number }).c;
  // Every node runs the real PermitAuthorizer, set up as a headless node's operator would: one
  // trusted issuer, an EVM policy for the keyset and an execution authorization.
  const issuer = generateIssuerKey();
  const DEAD = '0x000000000000000000000000000000000000dead';
  const setUp = (n: TestNode) => {
    n.services.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'online issuer', lab: false }], false, 'test');
    n.services.policy.applyNodeSetup(
      {
        policies: [{ keysetId: keyset.keysetId, allowlist: [DEAD], assets: { native: { symbol: 'ETH', decimals: 18, perTxMax: '1', dailyCap: '10', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 60 }],
        authorizations: [{ id: '6a1e0c1e-0000-4000-8000-0000000ec0a1', scope: { keysetId: keyset.keysetId, destinations: [DEAD], assets: { native: { perTxMax: '1', dailyCap: '10' } }, validForMinutes: 60 } }],
      },
      false,
      'test',
    );
  };
  /** The issuer permits exactly this transaction; the console requests it, every node verifies the permit. */
  const signTx = (tx: Transaction, prefer: string[]) => {
    const permit = issuePermit({ keysetId: keyset.keysetId, chain: { kind: 'evm', chainId: 1 }, payload: tx.unsignedSerialized, issuedAt: Date.now() }, issuer.secretKey);
    return nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, preimage(tx), { prefer });
  };
  const ready = (n: TestNode) => n.services.cluster.presignatures(keyset.keysetId).filter((p) => p.state === 'ready');

  before(async () => {
    coordinator = await startCoordinator();
    nodes = [await startNode('console', primes[0], undefined, { authorizer: 'permits' }), await startNode('node-b', primes[1], undefined, { authorizer: 'permits' }), await startNode('node-c', primes[2], undefined, { authorizer: 'permits' })];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa');
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
    for (const n of nodes) setUp(n);
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    quorums = [[ids[0]!, ids[1]!], [ids[0]!, ids[2]!], [ids[1]!, ids[2]!]];
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('fills the pool with one presignature per quorum; each quorum signs an EIP-1559 transaction in one round that recovers to the keyset address', async () => {
    const made: PresignatureRecord[] = [];
    for (const q of quorums) made.push(await nodes[0]!.services.cluster.presign(keyset.keysetId, { prefer: q }));
    // The other parties store theirs when the coordinator's session end reaches them.
    await until(() => nodes.map((n) => n.services.cluster.presignatures(keyset.keysetId).length).join() === '3,2,2');
    for (const [i, q] of quorums.entries()) {
      assert.deepEqual([...made[i]!.quorum].sort(), [...q].sort());
      for (const [k, n] of nodes.entries()) {
        const row = n.services.cluster.presignatures(keyset.keysetId).find((p) => p.presignatureId === made[i]!.presignatureId);
        // Quorum members hold the sealed secret; the requester outside the quorum only the id.
        if (k === 0 || q.includes(ids[k]!)) {
          assert.equal(row?.state, 'ready');
          assert.equal(row?.holdsSecret, q.includes(ids[k]!));
        } else {
          assert.equal(row, undefined);
        }
      }
    }
    assert.deepEqual(nodes.map(secretsLeft), [2, 2, 2]);

    for (const [i, q] of quorums.entries()) {
      const tx = unsignedTx(i);
      const out = await signTx(tx, q);
      assert.equal(out.mode, 'presigned');
      assert.equal(out.presignatureId, made[i]!.presignatureId);
      assert.deepEqual([...out.parties].sort(), [...q].sort());
      assert.equal(out.digest, tx.unsignedHash.slice(2));
      assert.equal(signedSender(tx, out), keyset.address);
    }
    // Every copy is spent and every secret is gone, at every node.
    await until(() => nodes.every((n) => ready(n).length === 0));
    assert.deepEqual(nodes.map(secretsLeft), [0, 0, 0]);
  });

  it('never signs twice with one presignature: the spent pool falls back to the full protocol; parties refuse a spent id and the permit is not retried', async () => {
    const tx = unsignedTx(10);
    const out = await signTx(tx, quorums[2]!);
    assert.equal(out.mode, 'full');
    assert.equal(out.presignatureId, null);
    assert.equal(signedSender(tx, out), keyset.address);

    // A requester whose record says "ready" (e.g. a stale copy of its database) asks for a spent
    // presignature: the quorum refuses it. The permit may be spent where a node accepted it, so
    // the requester does not retry it on another quorum; a new permit signs with the full protocol.
    const spent = nodes[0]!.services.cluster.presignatures(keyset.keysetId).find((p) => !p.holdsSecret)!;
    nodes[0]!.services.db.prepare(`UPDATE mpc_presignatures SET state = 'ready', used_at = NULL WHERE presignature_id = ?`).run(spent.presignatureId);
    const again = unsignedTx(11);
    const refused = await signTx(again, quorums[2]!).then(
      () => assert.fail('a refused presignature must not fall back with the same permit'),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof AppFailure && refused.code === 'MPC_SESSION_FAILED', String(refused));
    assert.equal(refused.details?.permitSpent, true);
    assert.match(refused.message, /not retried on another quorum/);
    const out2 = await signTx(again, quorums[2]!);
    assert.equal(out2.mode, 'full');
    assert.equal(out2.attempts, 1);
    assert.equal(signedSender(again, out2), keyset.address);
    for (const n of [nodes[1]!, nodes[2]!]) assert.equal(n.services.cluster.presignatures(keyset.keysetId).find((p) => p.presignatureId === spent.presignatureId)?.state, 'used');
    assert.equal(ready(nodes[0]!).length, 0);
  });

  it('keeps used presignatures used across a node restart, and ready ones usable', async () => {
    const fresh = await nodes[0]!.services.cluster.presign(keyset.keysetId, { prefer: quorums[0] });
    await until(() => ready(nodes[1]!).length === 1);
    const beforeRestart = nodes[1]!.services.cluster.presignatures(keyset.keysetId);
    await stopNode(nodes[1]!, false);
    nodes[1] = await startNode('node-b', primes[1], nodes[1]!.dir, { authorizer: 'permits' });
    await nodes[1].services.cluster.connect(coordinator.url);
    await until(() => coordinator.connectedNodes.includes(ids[1]!));
    assert.deepEqual(nodes[1].services.cluster.presignatures(keyset.keysetId), beforeRestart);
    assert.deepEqual(ready(nodes[1]).map((p) => p.presignatureId), [fresh.presignatureId]);

    const tx = unsignedTx(20);
    const out = await signTx(tx, quorums[0]!);
    assert.equal(out.mode, 'presigned');
    assert.equal(signedSender(tx, out), keyset.address);
    assert.equal(ready(nodes[1]).length, 0);
  });

  it('discards a keyset’s presignatures with their secrets (as a key refresh must)', async () => {
    await nodes[0]!.services.cluster.presign(keyset.keysetId, { prefer: quorums[1] });
    await until(() => secretsLeft(nodes[0]!) === 1 && secretsLeft(nodes[2]!) === 1);
    for (const n of nodes) n.services.cluster.discardPresignatures(keyset.keysetId, 'key refresh');
    assert.deepEqual(nodes.map((n) => n.services.cluster.presignatures(keyset.keysetId).length), [0, 0, 0]);
    assert.deepEqual(nodes.map(secretsLeft), [0, 0, 0]);
  });
});
