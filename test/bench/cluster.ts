/**
 * npm run bench:cluster — 2-of-3 signing through the coordinator on loopback (three signer nodes in
 * this process, sealed envelopes, WebSocket relay), each section next to the addon's in-process
 * figure for the same protocol measured in the same run, so the transport's cost is visible:
 *   - EdDSA (FROST) signing;
 *   - ECDSA presign session and the one-round online step with a pre-filled presignature pool.
 * Every timed section is preceded by untimed warm-up runs. Every signature the cluster returns is
 * checked against the keyset's public key, and the parties it reports must be a quorum of the
 * keyset (distinct members, as many as the threshold, the quorum that was asked for).
 *   - ECDSA with the group's auxiliary data ready: key generation end to end (DKG + attach), and a
 *     sustained run of permitted signatures with the presignature pool refilling in the background.
 * ECDSA full signing is left out (see npm run bench:mpc).
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Signature, Transaction } from 'ethers';
import type { KeysetRecord, SignOutcome } from '../../main/cluster/cluster-service';
import { MpcSigner, runLocal } from '../../main/mpc/index';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, testPrimes } from '../cluster/support';
import { median, percentile } from './stats';

const N = Number(process.env.BENCH_SIGNATURES ?? 200);
const NP = Number(process.env.BENCH_PRESIGNED ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const SUSTAINED = Number(process.env.BENCH_SUSTAINED ?? 100);
const POOL_TARGET = Number(process.env.BENCH_POOL_TARGET ?? 8);
const KEYGENS = Number(process.env.BENCH_KEYGENS ?? 5);
const QUORUMS = [[0, 1], [0, 2], [1, 2]] as const;
/** Run i (negative for warm-up runs) rotates through the three quorums. */
const quorumOf = (i: number) => QUORUMS[((i % 3) + 3) % 3]!;

/** The parties a signer reported must be a quorum of the keyset: the one asked for, distinct, threshold-sized. */
function assertQuorum(keyset: KeysetRecord, out: Pick<SignOutcome, 'parties'>, asked: readonly string[], what: string): void {
  const members = new Set(keyset.participants.map((p) => p.nodeId));
  const parties = new Set(out.parties);
  const valid = parties.size === out.parties.length && out.parties.length === keyset.threshold && out.parties.every((p) => members.has(p));
  const same = parties.size === asked.length && asked.every((p) => parties.has(p));
  if (!valid || !same) throw new Error(`${what}: reported parties [${out.parties.join(', ')}] are not the quorum [${asked.join(', ')}] of keyset ${keyset.keysetId}`);
}

function assertEddsa(keyset: KeysetRecord, message: Buffer, out: SignOutcome, asked: readonly string[], what: string): void {
  if (!ed25519.verify(Buffer.from(out.signature, 'hex'), message, Buffer.from(keyset.publicKey!, 'hex'))) throw new Error(`${what}: signature does not verify under the keyset public key`);
  assertQuorum(keyset, out, asked, what);
}

function assertEcdsa(keyset: KeysetRecord, tx: Transaction, out: SignOutcome, asked: readonly string[], what: string): void {
  const sig = Buffer.from(out.signature, 'hex');
  if (!secp256k1.verify(sig, Buffer.from(tx.unsignedHash.slice(2), 'hex'), Buffer.from(keyset.publicKey!, 'hex'), { prehash: false, lowS: false })) {
    throw new Error(`${what}: signature does not verify under the keyset public key`);
  }
  const signed = tx.clone();
  signed.signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, yParity: (out.recoveryId ?? 0) as 0 | 1 });
  if (signed.from !== keyset.address) throw new Error(`${what}: recovers to ${signed.from}, not the keyset address ${keyset.address}`);
  assertQuorum(keyset, out, asked, what);
}

async function timed(count: number, warmup: number, run: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i += 1) await run(-1 - i);
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  return times;
}

async function eddsaInProcess(): Promise<number[]> {
  const nodes = [new MpcSigner(), new MpcSigner(), new MpcSigner()];
  const keygenSid = randomBytes(32);
  const kg = await runLocal(nodes.map((n, i) => n.start({ protocol: 'eddsa-keygen', sessionId: keygenSid, partyIndex: i, parties: [0, 1, 2], threshold: 2 })));
  const shares = [0, 1, 2].map((p) => kg.results.get(p)!.share!);
  const publicKey = kg.results.get(0)!.publicKey!;
  return timed(N, WARMUP, async (i) => {
    const q = quorumOf(i);
    const message = Buffer.from(`m${i}`);
    const sid = randomBytes(32);
    const run = await runLocal(q.map((p) => nodes[p]!.start({ protocol: 'eddsa-sign', sessionId: sid, partyIndex: p, parties: [...q], threshold: 2, share: shares[p]!, message })));
    if (!ed25519.verify(run.results.get(q[0])!.signature!, message, publicKey)) throw new Error('in-process EdDSA signature does not verify');
  });
}

async function eddsaThroughCoordinator(): Promise<number[]> {
  const coordinator = await startCoordinator();
  const nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
  try {
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    const ids = keyset.participants.map((p) => p.nodeId);
    return await timed(N, WARMUP, async (i) => {
      const asked = quorumOf(i).map((p) => ids[p]!);
      const message = Buffer.from(`m${i}`);
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, message));
      const out = await nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, message, { prefer: asked });
      assertEddsa(keyset, message, out, asked, `EdDSA signature ${i}`);
    });
  } finally {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  }
}

const unsignedTx = (nonce: number) => Transaction.from({ type: 2, chainId: 1, nonce, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21_000n, to: '0x000000000000000000000000000000000000dEaD', value: 1n });
const preimageOf = (tx: Transaction) => Buffer.from(tx.unsignedSerialized.slice(2), 'hex');

/** Baseline: the same presign protocol and online step in one process through the addon, no transport. */
async function ecdsaInProcess(): Promise<{ presign: number[]; online: number[] }> {
  const nodes = [new MpcSigner(), new MpcSigner(), new MpcSigner()];
  const primes = testPrimes();
  const keygenSid = randomBytes(32);
  const kg = await runLocal(nodes.map((n, i) => n.start({ protocol: 'ecdsa-keygen', sessionId: keygenSid, partyIndex: i, parties: [0, 1, 2], threshold: 2, primes: primes[i]! })));
  const shares = [0, 1, 2].map((p) => kg.results.get(p)!.share!);
  const made: Array<{ q: readonly number[]; presignatures: Map<number, Buffer>; publicData: Buffer }> = [];
  const presign = await timed(NP, 1, async (i) => {
    const q = quorumOf(i);
    const sid = randomBytes(32);
    const run = await runLocal(q.map((p) => nodes[p]!.start({ protocol: 'ecdsa-presign', sessionId: sid, partyIndex: p, parties: [...q], threshold: 2, share: shares[p]! })));
    made.push({ q, presignatures: new Map(q.map((p) => [p, run.results.get(p)!.presignature!])), publicData: run.results.get(q[0])!.presignaturePublic! });
  });
  // The online step: each party of the quorum issues its partial (with its share check), one combines.
  const online = await timed(NP, 1, async (i) => {
    const { q, presignatures, publicData } = made[i + 1]!;
    const preimage = preimageOf(unsignedTx(i + 1));
    const partials = q.map((p) => nodes[p]!.issuePartialSignature(presignatures.get(p)!, shares[p]!, preimage));
    nodes[q[0]!]!.combinePartialSignatures(partials, preimage, publicData);
  });
  return { presign, online };
}

/** ECDSA: presign session and one-round online step (signWithPermit) through the coordinator. */
async function ecdsaThroughCoordinator(): Promise<{ presign: number[]; online: number[] }> {
  const coordinator = await startCoordinator();
  const primes = testPrimes();
  const nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1]), await startNode('node-c', primes[2])];
  try {
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa');
    const ids = keyset.participants.map((p) => p.nodeId);
    const quorum = (i: number) => quorumOf(i).map((p) => ids[p]!);
    // One untimed presign + online step warms both paths; the timed pool is then NP presignatures.
    const presign = await timed(NP, 1, async (i) => {
      const record = await nodes[0]!.services.cluster.presign(keyset.keysetId, { prefer: quorum(i) });
      assertQuorum(keyset, { parties: record.quorum }, quorum(i), `presignature ${i}`);
    });
    // Let every party store its presignature before the online steps start.
    await new Promise((r) => setTimeout(r, 200));
    const online = await timed(NP, 1, async (i) => {
      const tx = unsignedTx(i + 1);
      const preimage = preimageOf(tx);
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, preimage));
      const out = await nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, preimage, { prefer: quorum(i) });
      if (out.mode !== 'presigned') throw new Error(`signature ${i} did not use the pool`);
      assertEcdsa(keyset, tx, out, quorum(i), `ECDSA signature ${i}`);
    });
    return { presign, online };
  } finally {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  }
}


/**
 * The group's auxiliary data once (primes from each node's pool), then ECDSA key generation with
 * it ready, then SUSTAINED permitted signatures in a row while the pool refills in the background.
 */
async function ecdsaWithAuxAndRefill(): Promise<{ aux: number; keygen: number[]; sustained: number[]; presigned: number[]; fallbacks: number }> {
  const coordinator = await startCoordinator();
  const primes = testPrimes();
  const nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
  try {
    await enrolAll(nodes);
    for (const [i, n] of nodes.entries()) n.services.cluster.primePool.add(primes[i]!);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const t0 = performance.now();
    await nodes[0]!.services.cluster.prepareAuxData();
    const aux = performance.now() - t0;
    let keyset: KeysetRecord | null = null;
    const keygen = await timed(KEYGENS, 1, async () => {
      keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa', { aux: 'reuse' });
    });
    const ks = keyset!;
    const c = nodes[0]!.services.cluster;
    c.setPresignatureTarget(ks.keysetId, POOL_TARGET);
    while (c.presignaturePoolLevel(ks.keysetId).ready < POOL_TARGET) await new Promise((r) => setTimeout(r, 100));
    const ids = ks.participants.map((p) => p.nodeId);
    let fallbacks = 0;
    const presigned: number[] = [];
    const sustained = await timed(SUSTAINED, 0, async (i) => {
      const tx = unsignedTx(1_000 + i);
      const preimage = preimageOf(tx);
      const permit = allowEverywhere(nodes, testPermit(ks.keysetId, preimage));
      const t = performance.now();
      const out = await c.signWithPermit(ks.keysetId, permit, preimage);
      if (out.mode === 'full') fallbacks += 1;
      else presigned.push(performance.now() - t);
      assertEcdsa(ks, tx, out, out.parties.filter((p) => ids.includes(p)), `sustained ECDSA signature ${i}`);
    });
    c.setPresignatureTarget(ks.keysetId, 0);
    return { aux, keygen, sustained, presigned, fallbacks };
  } finally {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  }
}

const row = (name: string, xs: number[]) => `| ${name} | ${xs.length} | ${median(xs).toFixed(2)} | ${percentile(xs, 95).toFixed(2)} |`;
const header = ['| path | signatures | median | p95 |', '| --- | --- | --- | --- |'];

const local = await eddsaInProcess();
const remote = await eddsaThroughCoordinator();
console.log(`2-of-3 EdDSA (FROST Ed25519) signing, ms (after ${WARMUP} untimed warm-up signatures each)`);
console.log(header.join('\n'));
console.log(row('addon in-process (runLocal)', local));
console.log(row('through coordinator on loopback (HPKE + Ed25519 envelopes, WebSocket, session bookkeeping)', remote));
console.log(`transport cost at the median: ${(median(remote) - median(local)).toFixed(2)} ms (goal ≤ 20 ms)`);
console.log(`each of the ${remote.length + WARMUP} signatures verified under the keyset public key, from the quorum asked for`);

const ecdsaLocal = await ecdsaInProcess();
const ecdsa = await ecdsaThroughCoordinator();
console.log('');
console.log('2-of-3 ECDSA (CGGMP24) with a presignature pool, ms (after 1 untimed warm-up each)');
console.log(header.join('\n').replace('signatures', 'runs'));
console.log(row('presign, addon in-process (runLocal, 3 rounds)', ecdsaLocal.presign));
console.log(row('presign session through coordinator on loopback', ecdsa.presign));
console.log(row('online step, addon in-process (2 partials issued with share check + combine)', ecdsaLocal.online));
console.log(row('online step through coordinator: signWithPermit, one round (partials sealed, relayed, combined, verified)', ecdsa.online));
console.log(`transport cost at the median: presign ${(median(ecdsa.presign) - median(ecdsaLocal.presign)).toFixed(2)} ms, online step ${(median(ecdsa.online) - median(ecdsaLocal.online)).toFixed(2)} ms`);
console.log(`each of the ${ecdsa.online.length + 1} ECDSA signatures verified under the keyset public key and address, from the quorum asked for`);
console.log('ECDSA full signing: not measured here (see npm run bench:mpc).');

const sustained = await ecdsaWithAuxAndRefill();
console.log('');
console.log(`2-of-3 ECDSA with the group's auxiliary data ready, through the coordinator on loopback, ms`);
console.log(`auxiliary data for the group (once, primes from each node's pool): ${sustained.aux.toFixed(0)} ms`);
console.log(header.join('\n').replace('signatures', 'runs'));
console.log(row('ECDSA key generation, aux data ready (DKG + attach, all three nodes stored)', sustained.keygen) + ' goal ≤ 250 ms (stretch ≤ 50 ms)');
console.log(row(`sustained: ${SUSTAINED} permitted signatures in a row, pool target ${POOL_TARGET} refilling in the background`, sustained.sustained));
console.log(row('of which from the pool (one-round online step)', sustained.presigned) + ' goal ≤ 15 ms p50');
console.log(`fallback to the full protocol: ${sustained.fallbacks} of ${SUSTAINED}`);
