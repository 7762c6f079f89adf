/**
 * Part of npm run bench:permits — end-to-end time to sign 20 permits through the permit queue
 * (re-verification, the 2-of-3 ECDSA session at every node, signed raw transaction, store) on a
 * loopback cluster of three nodes: once with a warm presignature pool (one round online), once
 * with the same number of permits and no pool (the full protocol). The pool's fill time is printed
 * separately: it is paid ahead, while nobody waits.
 */
import { performance } from 'node:perf_hooks';
import { buildEvmTransfer } from '../../main/chains/build';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import { serializeBundle } from '../../main/permits/permit-bundle';
import type { KeysetPolicy } from '../../preload/contract';
import { enrolAll, startCoordinator, startNode, stopNode, testPrimes, until } from '../cluster/support';

const COUNT = Number(process.env.BENCH_QUEUE_SIGN ?? 20);
const RECIPIENT = '0x2222222222222222222222222222222222222222';
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const primes = testPrimes();
const coordinator = await startCoordinator();
const nodes = [await startNode('console', primes[0], undefined, { authorizer: 'permits' }), await startNode('node-b', primes[1], undefined, { authorizer: 'permits' }), await startNode('node-c', primes[2], undefined, { authorizer: 'permits' })];
try {
  await enrolAll(nodes);
  for (const n of nodes) await n.services.cluster.connect(coordinator.url);
  const keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa');
  await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 60_000);
  const issuer = generateIssuerKey();
  const policy: KeysetPolicy = { keysetId: keyset.keysetId, allowlist: [RECIPIENT], assets: { native: { symbol: 'ETH', decimals: 18, perTxMax: '1', dailyCap: '100', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 3600 };
  for (const [i, n] of nodes.entries()) {
    n.services.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'bench issuer', lab: false }], false, 'bench');
    n.services.policy.applyNodeSetup({ policies: [policy], authorizations: i === 0 ? [] : [{ id: '6a1e0c1e-0000-4000-8000-00000000be9c', scope: { keysetId: keyset.keysetId, destinations: [RECIPIENT], assets: { native: { perTxMax: '1', dailyCap: '100' } }, validForMinutes: 120 } }] }, false, 'bench');
  }
  const queue = nodes[0]!.services.permitQueue;
  let nonce = 0;
  /** Imports and approves COUNT permits, signs them all through the queue; returns ms and how many used a presignature. */
  const signBatch = async (label: string): Promise<{ ms: number; presigned: number }> => {
    const permits = Array.from({ length: COUNT }, () => issuePermit({ keysetId: keyset.keysetId, chain: { kind: 'evm', chainId: 1 }, ttlSeconds: 3600, issuedAt: Date.now(), payload: buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: nonce++, to: RECIPIENT, amount: 10n ** 15n }) }, issuer.secretKey));
    const report = queue.importFrom({ from: 'paste', text: serializeBundle(permits) });
    if (report.imported !== COUNT) throw new Error(`${label}: only ${report.imported} of ${COUNT} imported`);
    queue.bulkApprove(report.importedIds);
    const start = performance.now();
    await queue.startSigning(report.importedIds).done;
    const ms = performance.now() - start;
    const signed = report.importedIds.filter((id) => queue.item(id).state === 'signed').length;
    if (signed !== COUNT) throw new Error(`${label}: only ${signed} of ${COUNT} signed`);
    const presigned = nodes[0]!.services.audit.list({ type: 'PERMIT_QUEUE_SIGNED', limit: 1000 }).entries.filter((e) => report.importedIds.includes(e.subject) && (e.details as { mode?: string }).mode === 'presigned').length;
    return { ms, presigned };
  };

  const cold = await signBatch('no pool');
  const start = performance.now();
  for (let i = 0; i < COUNT; i += 1) await nodes[0]!.services.cluster.presign(keyset.keysetId);
  const fillMs = performance.now() - start;
  const warm = await signBatch('warm pool');
  console.log(`permit queue signing, ${COUNT} EVM permits, 2-of-3 ECDSA on loopback (re-verify + session + signed tx + store):`);
  console.log(`  without presignatures: ${fmt(cold.ms)} ms   (${fmt(cold.ms / COUNT)} ms per permit, ${cold.presigned} presigned)`);
  console.log(`  warm presignature pool: ${fmt(warm.ms)} ms   (${fmt(warm.ms / COUNT)} ms per permit, ${warm.presigned} presigned)   speed-up ${fmt(cold.ms / warm.ms, 1)}×`);
  console.log(`  (pool filled ahead of time in ${fmt(fillMs)} ms)`);
} finally {
  for (const n of nodes) await stopNode(n).catch(() => undefined);
  await coordinator.close();
}
