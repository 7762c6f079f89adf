/**
 * End-to-end 2-of-3 EdDSA signing latency through the coordinator on loopback (three signer
 * nodes in this process, sealed envelopes, WebSocket relay), next to the addon's in-process
 * figure for the same protocol, so the transport's cost is visible.
 * ECDSA full signing is left out (see npm run bench:mpc); the ECDSA online step with a pre-filled
 * presignature pool is measured, after one key generation with the test-only primes.
 */
import { randomBytes } from 'node:crypto';
import { MpcSigner, runLocal } from '../../main/mpc/index';
import { Transaction } from 'ethers';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, testPrimes } from '../cluster/support';

const N = Number(process.env.BENCH_SIGNATURES ?? 200);
const NP = Number(process.env.BENCH_PRESIGNED ?? 20);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function inProcess(): Promise<number[]> {
  const nodes = [new MpcSigner(), new MpcSigner(), new MpcSigner()];
  const sid = randomBytes(32);
  const kg = await runLocal(nodes.map((n, i) => n.start({ protocol: 'eddsa-keygen', sessionId: sid, partyIndex: i, parties: [0, 1, 2], threshold: 2 })));
  const shares = [0, 1, 2].map((p) => kg.results.get(p)!.share!);
  const times: number[] = [];
  for (let i = 0; i < N; i += 1) {
    const q = [[0, 1], [0, 2], [1, 2]][i % 3]!;
    const s = randomBytes(32);
    const t0 = performance.now();
    await runLocal(q.map((p) => nodes[p]!.start({ protocol: 'eddsa-sign', sessionId: s, partyIndex: p, parties: q, threshold: 2, share: shares[p]!, message: Buffer.from(`m${i}`) })));
    times.push(performance.now() - t0);
  }
  return times;
}

async function throughCoordinator(): Promise<number[]> {
  const coordinator = await startCoordinator();
  const nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
  try {
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    const ids = keyset.participants.map((p) => p.nodeId);
    const times: number[] = [];
    for (let i = 0; i < N; i += 1) {
      const prefer = [[ids[0]!, ids[1]!], [ids[0]!, ids[2]!], [ids[1]!, ids[2]!]][i % 3]!;
      const t0 = performance.now();
      const message = Buffer.from(`m${i}`);
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, message));
      await nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, message, { prefer });
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  }
}

/** ECDSA: presign session and one-round online step (signWithPermit) through the coordinator. */
async function presignedThroughCoordinator(): Promise<{ presign: number[]; online: number[] }> {
  const coordinator = await startCoordinator();
  const primes = testPrimes();
  const nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1]), await startNode('node-c', primes[2])];
  try {
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa');
    const ids = keyset.participants.map((p) => p.nodeId);
    const quorum = (i: number) => [[ids[0]!, ids[1]!], [ids[0]!, ids[2]!], [ids[1]!, ids[2]!]][i % 3]!;
    const presign: number[] = [];
    for (let i = 0; i < NP; i += 1) {
      const t0 = performance.now();
      await nodes[0]!.services.cluster.presign(keyset.keysetId, { prefer: quorum(i) });
      presign.push(performance.now() - t0);
    }
    // Let every party store its presignature before the online steps start.
    await new Promise((r) => setTimeout(r, 200));
    const online: number[] = [];
    for (let i = 0; i < NP; i += 1) {
      const tx = Transaction.from({ type: 2, chainId: 1, nonce: i, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21_000n, to: '0x000000000000000000000000000000000000dEaD', value: 1n });
      const t0 = performance.now();
      const preimage = Buffer.from(tx.unsignedSerialized.slice(2), 'hex');
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, preimage));
      const out = await nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, preimage, { prefer: quorum(i) });
      online.push(performance.now() - t0);
      if (out.mode !== 'presigned') throw new Error(`signature ${i} did not use the pool`);
    }
    return { presign, online };
  } finally {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  }
}

const local = await inProcess();
const remote = await throughCoordinator();
const row = (name: string, xs: number[]) => `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 95).toFixed(2)} |`;
console.log('2-of-3 EdDSA (FROST Ed25519) signing, ms');
console.log('| path | signatures | median | p95 |');
console.log('| --- | --- | --- | --- |');
console.log(row('addon in-process (runLocal)', local));
console.log(row('through coordinator on loopback (HPKE + Ed25519 envelopes, WebSocket, session bookkeeping)', remote));
console.log(`transport cost at the median: ${(pct(remote, 50) - pct(local, 50)).toFixed(2)} ms (goal ≤ 20 ms)`);
const ecdsa = await presignedThroughCoordinator();
console.log('');
console.log('2-of-3 ECDSA (CGGMP24) with a presignature pool, through coordinator on loopback, ms');
console.log('| step | signatures | median | p95 |');
console.log('| --- | --- | --- | --- |');
console.log(row('presign session (3 rounds, before the message is known)', ecdsa.presign));
console.log(row('online step: signWithPermit, one round (partials sealed, relayed, combined, verified)', ecdsa.online));
console.log('ECDSA full signing: not measured here (see npm run bench:mpc).');
