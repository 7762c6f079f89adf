/**
 * npm run bench:cluster — 2-of-3 signing through the coordinator on loopback (three signer nodes in
 * this process, sealed envelopes, WebSocket relay), each section next to the addon's in-process
 * figure for the same protocol measured in the same run, so the transport's cost is visible:
 *   - EdDSA (FROST) signing;
 *   - ECDSA with the group's auxiliary data ready: key generation (DKG + attach), presign
 *     sessions and the one-round online step from the pool;
 *   - a sustained run of permitted ECDSA signatures with the pool refilling in the background:
 *     p50/p95 and how often the full protocol ran instead (fallback).
 * Every timed section is preceded by untimed warm-up runs. Every signature the cluster returns is
 * checked against the keyset's public key (ECDSA: and address), and it must come from the quorum
 * it reports: distinct members, as many as the threshold, the quorum asked for, the parties of
 * the session the coordinator ran, each of which recorded that session completed.
 * ECDSA full signing is left out (see npm run bench:mpc).
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { KeysetRecord, SignOutcome } from '../../main/cluster/cluster-service';
import { MpcSigner, runLocal } from '../../main/mpc/index';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, testPrimes } from '../cluster/support';
import { median, percentile } from './stats';
import { assertEcdsa, assertQuorum, assertSessionParties, clusterWithAux, preimageOf, signChecked, timed, unsignedTx } from './cluster-support';

const N = Number(process.env.BENCH_SIGNATURES ?? 200);
const NP = Number(process.env.BENCH_PRESIGNED ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const SUSTAINED = Number(process.env.BENCH_SUSTAINED ?? 100);
const POOL_TARGET = Number(process.env.BENCH_POOL_TARGET ?? 8);
const KEYGENS = Number(process.env.BENCH_KEYGENS ?? 10);
const SUSTAINED_WARMUP = 5;
const QUORUMS = [[0, 1], [0, 2], [1, 2]] as const;
/** Run i (negative for warm-up runs) rotates through the three quorums. */
const quorumOf = (i: number) => QUORUMS[((i % 3) + 3) % 3]!;

function assertEddsa(keyset: KeysetRecord, message: Buffer, out: SignOutcome, asked: readonly string[], what: string): void {
  if (!ed25519.verify(Buffer.from(out.signature, 'hex'), message, Buffer.from(keyset.publicKey!, 'hex'))) throw new Error(`${what}: signature does not verify under the keyset public key`);
  assertQuorum(keyset, out, asked, what);
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
    const times: number[] = [];
    for (let i = -WARMUP; i < N; i += 1) {
      const asked = quorumOf(i).map((p) => ids[p]!);
      const message = Buffer.from(`m${i}`);
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, message));
      const t0 = performance.now();
      const out = await nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, message, { prefer: asked });
      if (i >= 0) times.push(performance.now() - t0);
      assertEddsa(keyset, message, out, asked, `EdDSA signature ${i}`);
      await assertSessionParties({ coordinator, nodes, close: async () => undefined }, out, `EdDSA signature ${i}`);
    }
    return times;
  } finally {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  }
}

/** Baseline: key generation with the aux data ready, the same presign protocol and online step in one process through the addon, no transport. */
async function ecdsaInProcess(): Promise<{ keygen: number[]; presign: number[]; online: number[] }> {
  const nodes = [new MpcSigner(), new MpcSigner(), new MpcSigner()];
  const primes = testPrimes();
  const parties = [0, 1, 2];
  const auxSid = randomBytes(32);
  const ax = await runLocal(nodes.map((n, i) => n.start({ protocol: 'ecdsa-aux', sessionId: auxSid, partyIndex: i, parties, threshold: 2, primes: primes[i]! })));
  const aux = parties.map((p) => ax.results.get(p)!.aux!);
  let shares: Buffer[] = [];
  const keygen = await timed(KEYGENS, 1, async () => {
    const sid = randomBytes(32);
    const kg = await runLocal(nodes.map((n, i) => n.start({ protocol: 'ecdsa-dkg', sessionId: sid, partyIndex: i, parties, threshold: 2, aux: aux[i]! })));
    shares = parties.map((p) => kg.results.get(p)!.share!);
  });
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
  return { keygen, presign, online };
}

/**
 * ECDSA through the coordinator, one cluster: the group's auxiliary data once (primes from each
 * node's pool), key generation with it ready, presign sessions and the one-round online step
 * (signWithPermit) for each quorum in turn, then SUSTAINED permitted signatures in a row while
 * the pool refills in the background. Only the calls themselves are timed, not the checks.
 */
async function ecdsaThroughCoordinator(): Promise<{ aux: number; keygen: number[]; presign: number[]; online: number[]; sustained: number[]; presigned: number[]; fallbacks: number }> {
  const cluster = await clusterWithAux();
  const { nodes } = cluster;
  const c = nodes[0]!.services.cluster;
  try {
    let keyset: KeysetRecord | null = null;
    const keygen = await timed(KEYGENS, 1, async () => {
      keyset = await c.createKeyset('ecdsa', { aux: 'reuse' });
    });
    const ks = keyset!;
    const ids = ks.participants.map((p) => p.nodeId);
    const quorum = (i: number) => quorumOf(i).map((p) => ids[p]!);
    // One untimed presign + online step warms both paths; the timed pool is then NP presignatures.
    const presign = await timed(NP, 1, async (i) => {
      const record = await c.presign(ks.keysetId, { prefer: quorum(i) });
      assertQuorum(ks, { parties: record.quorum }, quorum(i), `presignature ${i}`);
    });
    const online: number[] = [];
    for (let i = -1; i < NP; i += 1) {
      const tx = unsignedTx(i + 1);
      const preimage = preimageOf(tx);
      const permit = allowEverywhere(nodes, testPermit(ks.keysetId, preimage));
      const t = performance.now();
      const out = await c.signWithPermit(ks.keysetId, permit, preimage, { prefer: quorum(i) });
      if (i >= 0) online.push(performance.now() - t);
      if (out.mode !== 'presigned') throw new Error(`signature ${i} did not use the pool`);
      assertEcdsa(ks, tx, out, quorum(i), `ECDSA signature ${i}`);
      await assertSessionParties(cluster, out, `ECDSA signature ${i}`);
    }

    c.setPresignatureTarget(ks.keysetId, POOL_TARGET);
    while (c.presignaturePoolLevel(ks.keysetId).ready < POOL_TARGET) await new Promise((r) => setTimeout(r, 100));
    let fallbacks = 0;
    const presigned: number[] = [];
    const sustained: number[] = [];
    for (let i = -SUSTAINED_WARMUP; i < SUSTAINED; i += 1) {
      let ms = 0;
      const out = await signChecked(cluster, ks, 1_000 + SUSTAINED_WARMUP + i, `sustained ECDSA signature ${i}`, undefined, (t) => (ms = t));
      if (i < 0) continue;
      sustained.push(ms);
      if (out.mode === 'full') fallbacks += 1;
      else presigned.push(ms);
    }
    c.setPresignatureTarget(ks.keysetId, 0);
    return { aux: cluster.auxMs, keygen, presign, online, sustained, presigned, fallbacks };
  } finally {
    await cluster.close();
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
console.log(`2-of-3 ECDSA (CGGMP24) with the group's auxiliary data ready and a presignature pool, ms (after 1 untimed warm-up each)`);
console.log(`auxiliary data for the group through the coordinator (once, primes from each node's prime pool): ${ecdsa.aux.toFixed(0)} ms`);
console.log(header.join('\n').replace('signatures', 'runs'));
console.log(row('key generation with aux data ready, addon in-process (DKG + attach)', ecdsaLocal.keygen));
console.log(row('key generation with aux data ready through coordinator (DKG + attach, all three nodes stored)', ecdsa.keygen) + ' goal ≤ 250 ms (stretch ≤ 50 ms)');
console.log(row('presign, addon in-process (runLocal, 3 rounds)', ecdsaLocal.presign));
console.log(row('presign session through coordinator on loopback', ecdsa.presign));
console.log(row('online step, addon in-process (2 partials issued with share check + combine)', ecdsaLocal.online));
console.log(row('online step through coordinator: signWithPermit, one round (partials sealed, relayed, combined, verified)', ecdsa.online) + ' goal ≤ 15 ms p50');
console.log(`transport cost at the median: key generation ${(median(ecdsa.keygen) - median(ecdsaLocal.keygen)).toFixed(2)} ms, presign ${(median(ecdsa.presign) - median(ecdsaLocal.presign)).toFixed(2)} ms, online step ${(median(ecdsa.online) - median(ecdsaLocal.online)).toFixed(2)} ms`);
console.log(`each of the ${ecdsa.online.length + 1} ECDSA signatures verified under the keyset public key and address, from the quorum asked for (the coordinator's session and each party's own record)`);
console.log('ECDSA full signing: not measured here (see npm run bench:mpc).');
console.log('');
console.log(`sustained: ${SUSTAINED} permitted signatures in a row (after ${SUSTAINED_WARMUP} untimed), pool target ${POOL_TARGET} refilling in the background, ms`);
console.log(header.join('\n'));
console.log(row('every signature (signWithPermit)', ecdsa.sustained));
if (ecdsa.presigned.length > 0) console.log(row('of which from the pool (one-round online step)', ecdsa.presigned) + ' goal ≤ 15 ms p50');
console.log(`fallback to the full protocol: ${ecdsa.fallbacks} of ${SUSTAINED}`);
console.log(`each verified under the keyset key and address; its reported parties are the session's parties at the coordinator, each recorded it completed with that signature`);
