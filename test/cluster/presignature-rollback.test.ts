/**
 * The presignature rollback attack, end to end: a node restored from a copy of its data folder
 * taken while a presignature was ready must never issue a second partial signature with it
 * (two signatures sharing a nonce reveal the key). A hostile peer keeps its own copy of the
 * presignature and asks again after the restore.
 */
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Transaction } from 'ethers';
import type { Coordinator } from '../../main/coordinator/server';
import type { KeysetRecord } from '../../main/cluster/cluster-service';
import { MpcSigner } from '../../main/mpc/index';
import { tempDir } from '../support/temp-dir';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

/** Counts the partial signatures a node's engine issues, across restarts of that node. */
const issued = { partials: 0 };
class CountingSigner extends MpcSigner {
  override issuePartialSignature(presignature: Buffer, share: Buffer | undefined, preimage: Buffer): Buffer {
    issued.partials += 1;
    return super.issuePartialSignature(presignature, share, preimage);
  }
}

function preimage(nonce: number): Buffer {
  const tx = Transaction.from({ type: 2, chainId: 1, nonce, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21_000n, to: '0x000000000000000000000000000000000000dEaD', value: 1n, data: '0x' });
  return Buffer.from(tx.unsignedSerialized.slice(2), 'hex');
}

type Row = Record<string, unknown>;

function insertRow(db: TestNode['services']['db'], table: string, row: Row): void {
  const cols = Object.keys(row);
  db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
}

describe('presignature rollback', { timeout: 400_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let keyset: KeysetRecord;
  const primes = testPrimes();
  const copy = tempDir('vk-node-b-copy-');

  before(async () => {
    coordinator = await startCoordinator();
    nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1], undefined, { signer: new CountingSigner() }), await startNode('node-c', primes[2])];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa', { timeoutMs: 540_000 });
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
    copy.cleanup();
  });

  /** Stops node-b and starts it again on `fromCopy` (or its own folder), as a fresh process would. */
  async function restartB(fromCopy: string | null): Promise<TestNode> {
    const b = nodes[1]!;
    await stopNode(b, false);
    if (fromCopy) {
      rmSync(b.dir.path, { recursive: true, force: true });
      cpSync(fromCopy, b.dir.path, { recursive: true });
    }
    const again = await startNode('node-b', primes[1], b.dir, { stateDir: b.stateDir, signer: new CountingSigner() });
    nodes[1] = again;
    return again;
  }

  it('a node restored from a copy taken while a presignature was ready discards its pool on unlock and never issues a second partial with it', async () => {
    const [a] = nodes;
    const ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    const quorum = [ids[0]!, ids[1]!];
    const made = await a!.services.cluster.presign(keyset.keysetId, { prefer: quorum });
    await until(() => nodes[1]!.services.cluster.presignatures(keyset.keysetId).some((p) => p.presignatureId === made.presignatureId && p.state === 'ready'));

    // The copy of node-b's data folder, taken while the presignature is ready.
    await restartB(null);
    await stopNode(nodes[1]!, false);
    cpSync(nodes[1]!.dir.path, copy.path, { recursive: true });
    let b = await restartB(null);
    await b.services.cluster.connect(coordinator.url);
    // The hostile peer keeps its own copy of the presignature (row and sealed secret).
    const aRow = a!.services.db.prepare('SELECT * FROM mpc_presignatures WHERE presignature_id = ?').get(made.presignatureId) as Row;
    const aSecret = a!.services.db.prepare(`SELECT * FROM sealed_records WHERE record_type = 'mpc-presignature' AND record_id = ?`).get(made.presignatureId) as Row;
    assert.ok(aRow && aSecret);

    const first = await a!.services.cluster.signWithPermit(keyset.keysetId, allowEverywhere(nodes, testPermit(keyset.keysetId, preimage(0))), preimage(0), { prefer: quorum });
    assert.equal(first.mode, 'presigned');
    assert.equal(first.presignatureId, made.presignatureId);
    assert.equal(issued.partials, 1, 'node-b issued one partial for the first signature');

    // Restore node-b's data folder from the copy; its vault opens again.
    b = await restartB(copy.path);
    const secretsLeft = (b.services.db.prepare(`SELECT COUNT(*) AS c FROM sealed_records WHERE record_type = 'mpc-presignature'`).get() as { c: number }).c;
    assert.equal(secretsLeft, 0, 'the restored presignature secret is gone after unlock');
    assert.deepEqual(b.services.cluster.presignatures(keyset.keysetId), [], 'the pool is empty after unlock');
    const rollback = (b.services.db.prepare('SELECT entry FROM audit_log').all() as Array<{ entry: string }>).filter((r) => r.entry.includes('"ROLLBACK_DETECTED"'));
    assert.equal(rollback.length, 1, 'the rollback is recorded');
    await b.services.cluster.connect(coordinator.url);

    // The hostile peer puts its copy back and asks for the same presignature on another message.
    a!.services.db.prepare('DELETE FROM mpc_presignatures WHERE presignature_id = ?').run(made.presignatureId);
    insertRow(a!.services.db, 'mpc_presignatures', aRow);
    insertRow(a!.services.db, 'sealed_records', aSecret);
    // node-b refuses the presigned step: no second partial leaves its engine. The permit is spent
    // by the attempt, so the requester does not retry it; a fresh permit signs with the full protocol.
    await assert.rejects(a!.services.cluster.signWithPermit(keyset.keysetId, allowEverywhere(nodes, testPermit(keyset.keysetId, preimage(1))), preimage(1), { prefer: quorum }));
    assert.equal(issued.partials, 1, 'node-b issued no second partial with the restored presignature');
    const second = await a!.services.cluster.signWithPermit(keyset.keysetId, allowEverywhere(nodes, testPermit(keyset.keysetId, preimage(2))), preimage(2), { prefer: quorum, presigned: 'never' });
    assert.equal(second.mode, 'full');
    assert.notEqual(second.signature.slice(0, 64), first.signature.slice(0, 64), 'the two signatures do not share r');
  });
});
