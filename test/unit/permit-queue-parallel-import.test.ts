/**
 * Importing a large bundle with the stateless checks spread over worker threads: every bad permit
 * is still refused alone with its own reason wherever it sits in the bundle (in a worker's chunk
 * or the main thread's), the good ones are all queued, and a worker that is gone costs speed only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateIssuerKey } from '../../main/permits/issuer-keys';
import { serializeBundle } from '../../main/permits/permit-bundle';
import type { SignedPermit } from '../../main/permits/permit-format';
import { verifyChunk, type VerificationSnapshot, type VerifyItem } from '../../main/permits/queue/parallel-verification';
import type { QueueKeyset } from '../../main/permits/queue/permit-checker';
import type { PermitQueue } from '../../main/permits/queue/permit-queue';
import { VerifyPool } from '../../main/permits/queue/verify-pool';
import { EVM_ADDRESS, EVM_KEYSET, MALLORY, SOL_KEYSET, evmPayload, permitFixture, permitFor, solPayload, type PermitFixture } from '../support/permits';

/** Three chunks of 250: the first two go to the workers, the third is the main thread's. */
const SIZE = 600;

describe('parallel import of a large bundle', () => {
  let f: PermitFixture;
  let queue: PermitQueue;
  let keysets: (id: string) => QueueKeyset | null;

  before(() => {
    f = permitFixture();
    keysets = (id) =>
      id === EVM_KEYSET ? { keysetId: id, scheme: 'ecdsa', address: EVM_ADDRESS, publicKey: null, lab: false, status: 'active' }
        : id === SOL_KEYSET ? { keysetId: id, scheme: 'eddsa', address: f.solana.address, publicKey: null, lab: false, status: 'active' } : null;
    queue = f.queue({ keyset: keysets, signWithPermit: () => Promise.reject(new Error('nothing is signed here')) }, { importWorkers: { minimumPermits: 100, workers: 2 } });
  });
  after(async () => {
    await queue.close();
    f.cleanup();
  });

  it('refuses each bad permit alone, with its reason, in every chunk', () => {
    assert.equal(queue.warmImportWorkers(), 2, 'both workers start');
    const permits: SignedPermit[] = [];
    for (let i = 0; i < SIZE; i += 1) permits.push(i % 2 === 0 ? permitFor(f, evmPayload({ nonce: i })) : permitFor(f, solPayload(f, 1_000n + BigInt(i))));
    const bad = new Map<number, string>();
    // Chunk 1 (a worker): a signature with one bit flipped, and an expired permit.
    const forged = permits[101]!;
    permits[101] = { ...forged, signature: (forged.signature[0] === '0' ? '1' : '0') + forged.signature.slice(1) };
    bad.set(101, 'PERMIT_SIGNATURE_INVALID');
    permits[140] = permitFor(f, evmPayload({ nonce: 140 }), { issuedAt: f.clock.now() - 120_000 });
    bad.set(140, 'PERMIT_EXPIRED');
    // Chunk 2 (the other worker): an amount changed after signing, an unknown issuer.
    const tampered = permits[300]!;
    permits[300] = { ...tampered, permit: { ...tampered.permit, payload: evmPayload({ nonce: 300, amount: 5n * 10n ** 18n }) } };
    bad.set(300, 'PERMIT_SIGNATURE_INVALID');
    permits[420] = permitFor(f, evmPayload({ nonce: 420 }), {}, generateIssuerKey());
    bad.set(420, 'PERMIT_ISSUER_UNKNOWN');
    // Chunk 3 (the main thread): a destination off the allowlist (a stateful check after the workers).
    permits[560] = permitFor(f, evmPayload({ nonce: 560, to: MALLORY }));
    bad.set(560, 'POLICY_DESTINATION_NOT_ALLOWED');

    const report = queue.importFrom({ from: 'paste', text: serializeBundle(permits) });
    assert.deepEqual(report.refusedBundles, []);
    assert.deepEqual(
      report.refusedPermits.map((r) => [r.permitId, r.code]),
      [...bad].map(([i, code]) => [permits[i]!.permit.permitId, code]),
    );
    const forgedRefusal = report.refusedPermits.find((r) => r.permitId === forged.permit.permitId)!;
    assert.match(forgedRefusal.message, /does not verify for issuer .*forged or changed after it was issued/);
    assert.match(report.refusedPermits.find((r) => r.code === 'PERMIT_EXPIRED')!.message, /expired 1 min ago/);
    assert.equal(report.imported, SIZE - bad.size);
    assert.deepEqual(new Set(report.importedIds), new Set(permits.filter((_, i) => !bad.has(i)).map((p) => p.permit.permitId)));
    assert.equal(queue.overview().counts.pending, SIZE - bad.size);
  });

  it('verifies on the main thread what a worker that is gone cannot', async () => {
    const items: VerifyItem[] = [];
    for (let i = 0; i < 6; i += 1) items.push({ signed: permitFor(f, evmPayload({ nonce: 10_000 + i })), keyset: keysets(EVM_KEYSET)! });
    const forged = items[4]!.signed;
    items[4] = { ...items[4]!, signed: { ...forged, signature: (forged.signature[0] === '0' ? '1' : '0') + forged.signature.slice(1) } };
    const snapshot: VerificationSnapshot = { now: f.clock.now(), issuers: [{ fingerprint: 'x', publicKey: f.issuer.publicKey.toString('hex'), name: 'test issuer', lab: false, enrolledAt: 0 }], ttlSeconds: { [EVM_KEYSET]: 60 } };
    const chunks = [items.slice(0, 2), items.slice(2, 4), items.slice(4)];
    let localChunks = 0;
    const local = (chunk: VerifyItem[]) => {
      localChunks += 1;
      return verifyChunk(chunk, snapshot);
    };
    const pool = new VerifyPool(1);
    assert.equal(pool.waitReady(30_000), 1);
    const live = pool.run(chunks, snapshot, local).flat();
    assert.ok(localChunks < chunks.length, 'a live worker took a chunk');
    await pool.close();
    localChunks = 0;
    const afterExit = pool.run(chunks, snapshot, local).flat();
    assert.equal(localChunks, chunks.length, 'every chunk verified here once the worker is gone');
    for (const outcomes of [live, afterExit]) {
      assert.deepEqual(outcomes.map((o) => (o.ok ? 'ok' : 'code' in o ? o.code : 'internal')), ['ok', 'ok', 'ok', 'ok', 'PERMIT_SIGNATURE_INVALID', 'ok']);
    }
  });
});
