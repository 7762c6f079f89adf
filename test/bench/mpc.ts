// `npm run bench:mpc`: 2-of-3 threshold ECDSA (cggmp24) and EdDSA (FROST) on this machine,
// each next to a single-key signature of the same digest measured in the same run.
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Transaction, getBytes, parseEther, parseUnits } from 'ethers';
import { runLocal } from '../../main/mpc/index';
import { at, keygen, makeNodes, newSessionId, refresh, sharesOf, sign, testPrimes, PARTIES } from '../native/helpers';
import { median, percentile } from './stats';
import { clusterWithAux, signChecked, timed } from './cluster-support';
import type { KeysetRecord } from '../../main/cluster/cluster-service';

const nodes = makeNodes();
const rows: string[][] = [];
let precomputationNote = '';
const bytesRows: string[][] = [];
/** Bytes each party sent, per protocol, in every timed run: the table shows each party's median over the runs it took part in. */
const bytesSent = new Map<string, Map<number, number>[]>();
function tally(name: string, sent: Map<number, number>): void {
  bytesSent.set(name, [...(bytesSent.get(name) ?? []), sent]);
}
function bytesRow(name: string): string[] {
  const runs = bytesSent.get(name) ?? [];
  return [name, ...PARTIES.map((p) => {
    const xs = runs.map((r) => r.get(p)).filter((x): x is number => x !== undefined);
    return xs.length > 0 ? String(median(xs)) : '-';
  })];
}

function singleKey(fn: () => void, runs = 200): number {
  fn();
  const t = performance.now();
  for (let k = 0; k < runs; k += 1) fn();
  return (performance.now() - t) / runs;
}

function row(name: string, endToEnd: number, perParty: number, baseline: number) {
  rows.push([name, endToEnd.toFixed(2), perParty.toFixed(2), baseline.toFixed(3), (endToEnd / baseline).toFixed(endToEnd / baseline < 10 ? 1 : 0) + '×']);
}

function maxOf(m: Map<number, number>): number {
  return Math.max(...m.values());
}

const digest = randomBytes(32);
const secpKey = secp256k1.utils.randomSecretKey();
const edKey = ed25519.utils.randomSecretKey();
const secpSign = singleKey(() => secp256k1.sign(digest, secpKey, { prehash: false }));
const edSign = singleKey(() => ed25519.sign(digest, edKey));

const withPrimes = process.argv.includes('--with-primes');
let primeGenMs = NaN;
if (withPrimes) {
  const t = performance.now();
  await at(nodes, 0).generatePaillierPrimes();
  primeGenMs = performance.now() - t;
}
const primes = await testPrimes(nodes);
const rotated = PARTIES.map((p) => at(primes, (p + 1) % PARTIES.length));

// ECDSA keygen (DKG + aux info, primes pregenerated)
const kgTimes: number[] = [];
const kgCompute: number[] = [];
let kg = await keygen(nodes, 'ecdsa-keygen', primes);
for (let k = 0; k < 3; k += 1) {
  const t = performance.now();
  kg = await keygen(nodes, 'ecdsa-keygen', primes);
  tally('ECDSA keygen', kg.bytesSent);
  kgTimes.push(performance.now() - t);
  kgCompute.push(maxOf(kg.computeMs));
}
row('ECDSA keygen (DKG + aux, primes pregenerated)', median(kgTimes), median(kgCompute), secpSign);
bytesRows.push(bytesRow('ECDSA keygen'));
const shares = sharesOf(kg.results);

const signTimes: number[] = [];
const signCompute: number[] = [];
let sg = await sign(nodes, 'ecdsa-sign', shares, [0, 1], digest);
for (let k = 0; k < 15; k += 1) {
  const t = performance.now();
  sg = await sign(nodes, 'ecdsa-sign', shares, [k % 3 === 2 ? 1 : 0, k % 3 === 0 ? 1 : 2], digest);
  tally('ECDSA sign', sg.bytesSent);
  signTimes.push(performance.now() - t);
  signCompute.push(maxOf(sg.computeMs));
}
row('ECDSA sign 2-of-3', median(signTimes), median(signCompute), secpSign);
bytesRows.push(bytesRow('ECDSA sign'));

// Presigned ECDSA: the interactive presign phase (before the message is known), then the online
// step once it is: each party issues a partial signature locally, one party combines.
const preimage = Buffer.from(
  getBytes(
    Transaction.from({
      type: 2,
      chainId: 1n,
      nonce: 7,
      to: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      value: parseEther('1'),
      gasLimit: 21_000n,
      maxFeePerGas: parseUnits('30', 'gwei'),
      maxPriorityFeePerGas: parseUnits('1', 'gwei'),
    }).unsignedSerialized,
  ),
);
const presignTimes: number[] = [];
const presignCompute: number[] = [];
const presigned: { quorum: number[]; presignatures: Map<number, Buffer>; publicData: Buffer }[] = [];
for (let k = 0; k < 16; k += 1) {
  const quorum = [k % 3 === 2 ? 1 : 0, k % 3 === 0 ? 1 : 2];
  const sessionId = newSessionId();
  const t = performance.now();
  const run = await runLocal(
    quorum.map((p) => at(nodes, p).start({ protocol: 'ecdsa-presign', sessionId, partyIndex: p, parties: quorum, threshold: 2, share: at(shares, p) })),
  );
  const elapsed = performance.now() - t;
  if (k > 0) {
    presignTimes.push(elapsed);
    presignCompute.push(maxOf(run.computeMs));
  }
  tally('ECDSA presign', run.bytesSent);
  const presignatures = new Map(quorum.map((p) => [p, run.results.get(p)?.presignature ?? Buffer.alloc(0)]));
  const publicData = run.results.get(at(quorum, 0))?.presignaturePublic ?? Buffer.alloc(0);
  presigned.push({ quorum, presignatures, publicData });
}
row('ECDSA presign 2-of-3 (interactive, before the message)', median(presignTimes), median(presignCompute), secpSign);
bytesRows.push(bytesRow('ECDSA presign'));

// Half the partials are issued with the share (the presignature is checked against this party's
// share and key epoch, which decodes the share), half without.
const issueTimes: number[] = [];
const issueBareTimes: number[] = [];
const combineTimes: number[] = [];
/** Whole online step per run (both partials issued with the share check, then combined): the in-process baseline for the coordinator figure. */
const onlineRunTimes: number[] = [];
let partialBytes = 0;
for (const [k, { quorum, presignatures, publicData }] of presigned.entries()) {
  const partials = quorum.map((p) => {
    const t = performance.now();
    const partial = at(nodes, p).issuePartialSignature(presignatures.get(p) ?? Buffer.alloc(0), k % 2 === 0 ? at(shares, p) : undefined, preimage);
    (k % 2 === 0 ? issueTimes : issueBareTimes).push(performance.now() - t);
    partialBytes = partial.length;
    return partial;
  });
  const t = performance.now();
  at(nodes, at(quorum, 0)).combinePartialSignatures(partials, preimage, publicData);
  combineTimes.push(performance.now() - t);
  if (k % 2 === 0) onlineRunTimes.push(issueTimes.at(-1)! + issueTimes.at(-2)! + combineTimes.at(-1)!);
}
const issueMs = median(issueTimes);
const combineMs = median(combineTimes);
const issueBareMs = median(issueBareTimes);
row('ECDSA online: issue partial with share check (per party)', issueMs, issueMs, secpSign);
row('ECDSA online: issue partial without share (per party)', issueBareMs, issueBareMs, secpSign);
row('ECDSA online: combine + verify (one party)', combineMs, combineMs, secpSign);
row('ECDSA online step (issue with share check + combine)', issueMs + combineMs, issueMs + combineMs, secpSign);
bytesRows.push(['ECDSA online (partial to the combiner)', ...PARTIES.map(() => String(partialBytes))]);

const rfTimes: number[] = [];
const rfCompute: number[] = [];
let rf = await refresh(nodes, 'ecdsa-refresh', shares, rotated);
for (let k = 0; k < 2; k += 1) {
  const t = performance.now();
  rf = await refresh(nodes, 'ecdsa-refresh', shares, k % 2 === 0 ? primes : rotated);
  tally('ECDSA refresh', rf.bytesSent);
  rfTimes.push(performance.now() - t);
  rfCompute.push(maxOf(rf.computeMs));
}
row('ECDSA refresh (shares + aux, primes pregenerated)', median(rfTimes), median(rfCompute), secpSign);
bytesRows.push(bytesRow('ECDSA refresh'));

// Auxiliary data once per group, then key generation that only runs the DKG and attaches it.
async function auxRun(ps?: readonly (Buffer | undefined)[]) {
  const sessionId = newSessionId();
  return runLocal(PARTIES.map((p) => at(nodes, p).start({ protocol: 'ecdsa-aux', sessionId, partyIndex: p, parties: PARTIES, threshold: 2, ...(ps?.[p] ? { primes: ps[p] } : {}) })));
}
const auxTimes: number[] = [];
const auxCompute: number[] = [];
let ax = await auxRun(primes);
for (let k = 0; k < 2; k += 1) {
  const t = performance.now();
  ax = await auxRun(k % 2 === 0 ? rotated : primes);
  tally('ECDSA aux', ax.bytesSent);
  auxTimes.push(performance.now() - t);
  auxCompute.push(maxOf(ax.computeMs));
}
row('ECDSA aux data for the group (prime pool full)', median(auxTimes), median(auxCompute), secpSign);
bytesRows.push(bytesRow('ECDSA aux'));
if (withPrimes) {
  const t = performance.now();
  const searched = await auxRun();
  row('ECDSA aux data for the group (prime pool empty: in-session search)', performance.now() - t, maxOf(searched.computeMs), secpSign);
}
const groupAux = PARTIES.map((p) => ax.results.get(p)!.aux!);

const dkgTimes: number[] = [];
const dkgCompute: number[] = [];
async function dkgRun() {
  const sessionId = newSessionId();
  return runLocal(PARTIES.map((p) => at(nodes, p).start({ protocol: 'ecdsa-dkg', sessionId, partyIndex: p, parties: PARTIES, threshold: 2, aux: at(groupAux, p) })));
}
let dk = await dkgRun();
for (let k = 0; k < 10; k += 1) {
  const t = performance.now();
  dk = await dkgRun();
  tally('ECDSA keygen, aux ready', dk.bytesSent);
  dkgTimes.push(performance.now() - t);
  dkgCompute.push(maxOf(dk.computeMs));
}
row('ECDSA keygen with aux data ready (DKG + attach)', median(dkgTimes), median(dkgCompute), secpSign);
bytesRows.push(bytesRow('ECDSA keygen, aux ready'));
const reusedShares = sharesOf(dk.results);

async function refreshSharesRun(aux?: Buffer[]) {
  const sessionId = newSessionId();
  return runLocal(PARTIES.map((p) => at(nodes, p).start({ protocol: 'ecdsa-refresh-shares', sessionId, partyIndex: p, parties: PARTIES, threshold: 2, share: at(reusedShares, p), ...(aux ? { aux: at(aux, p) } : {}) })));
}
const rsTimes: number[] = [];
const rsCompute: number[] = [];
await refreshSharesRun();
for (let k = 0; k < 5; k += 1) {
  const t = performance.now();
  const r = await refreshSharesRun();
  rsTimes.push(performance.now() - t);
  rsCompute.push(maxOf(r.computeMs));
}
row('ECDSA refresh of shares alone (aux data kept)', median(rsTimes), median(rsCompute), secpSign);
const rnTimes: number[] = [];
for (let k = 0; k < 2; k += 1) {
  const t = performance.now();
  const fresh = await auxRun(k % 2 === 0 ? primes : rotated);
  await refreshSharesRun(PARTIES.map((p) => fresh.results.get(p)!.aux!));
  rnTimes.push(performance.now() - t);
}
row('ECDSA refresh with new aux data (aux session + refresh switching to it)', median(rnTimes), NaN, secpSign);

// Full signing with and without the engine's precomputation (multi-exponentiation tables).
const preT = performance.now();
const precomputed = PARTIES.map((p) => at(nodes, p).precomputeEcdsaShare(at(reusedShares, p)));
const precomputeMs = (performance.now() - preT) / PARTIES.length;
async function signTimesWith(ss: Buffer[]) {
  const times: number[] = [];
  const compute: number[] = [];
  await sign(nodes, 'ecdsa-sign', ss, [0, 1], digest);
  for (let k = 0; k < 9; k += 1) {
    const t = performance.now();
    const r = await sign(nodes, 'ecdsa-sign', ss, [k % 3 === 2 ? 1 : 0, k % 3 === 0 ? 1 : 2], digest);
    times.push(performance.now() - t);
    compute.push(maxOf(r.computeMs));
  }
  return { e2e: median(times), compute: median(compute) };
}
const plainSign = await signTimesWith(reusedShares);
const preSign = await signTimesWith(precomputed);
row('ECDSA sign 2-of-3, no precomputation (same run)', plainSign.e2e, plainSign.compute, secpSign);
row('ECDSA sign 2-of-3, with precomputation', preSign.e2e, preSign.compute, secpSign);
precomputationNote = `precomputation per party: ${precomputeMs.toFixed(0)} ms, share ${at(reusedShares, 0).length} → ${at(precomputed, 0).length} bytes`;

const fkTimes: number[] = [];
const fkCompute: number[] = [];
let fk = await keygen(nodes, 'eddsa-keygen');
for (let k = 0; k < 10; k += 1) {
  const t = performance.now();
  fk = await keygen(nodes, 'eddsa-keygen');
  tally('FROST keygen', fk.bytesSent);
  fkTimes.push(performance.now() - t);
  fkCompute.push(maxOf(fk.computeMs));
}
row('FROST Ed25519 keygen', median(fkTimes), median(fkCompute), edSign);
bytesRows.push(bytesRow('FROST keygen'));
const edShares = sharesOf(fk.results);

const fsTimes: number[] = [];
const fsCompute: number[] = [];
let fsg = await sign(nodes, 'eddsa-sign', edShares, [0, 1], digest);
for (let k = 0; k < 100; k += 1) {
  const t = performance.now();
  fsg = await sign(nodes, 'eddsa-sign', edShares, [0, 2], digest);
  tally('FROST sign', fsg.bytesSent);
  fsTimes.push(performance.now() - t);
  fsCompute.push(maxOf(fsg.computeMs));
}
row('FROST Ed25519 sign 2-of-3', median(fsTimes), median(fsCompute), edSign);
bytesRows.push(bytesRow('FROST sign'));

const frTimes: number[] = [];
const frCompute: number[] = [];
let fr = await refresh(nodes, 'eddsa-refresh', edShares);
for (let k = 0; k < 10; k += 1) {
  const t = performance.now();
  fr = await refresh(nodes, 'eddsa-refresh', edShares);
  tally('FROST refresh', fr.bytesSent);
  frTimes.push(performance.now() - t);
  frCompute.push(maxOf(fr.computeMs));
}
row('FROST Ed25519 refresh', median(frTimes), median(frCompute), edSign);
bytesRows.push(bytesRow('FROST refresh'));

// The same two steps through a real coordinator and three signer nodes on loopback (sealed,
// signed envelopes over WebSocket; each node's own checks, vault and records), same run.
const COORDINATOR_RUNS = Number(process.env.BENCH_COORDINATOR_RUNS ?? 15);
const through = await clusterWithAux();
let coordinatorKeygen: number[] = [];
const coordinatorOnline: number[] = [];
try {
  const c = at(through.nodes, 0).services.cluster;
  let keyset: KeysetRecord | null = null;
  coordinatorKeygen = await timed(COORDINATOR_RUNS, 1, async () => {
    keyset = await c.createKeyset('ecdsa', { aux: 'reuse' });
  });
  const ks = keyset!;
  for (let k = 0; k <= COORDINATOR_RUNS; k += 1) await c.presign(ks.keysetId);
  // One untimed signature first; every signature is checked (key, address, reported quorum).
  for (let k = -1; k < COORDINATOR_RUNS; k += 1) {
    const out = await signChecked(through, ks, 100 + k, `signature ${k} through the coordinator`, undefined, (ms) => k >= 0 && coordinatorOnline.push(ms));
    if (out.mode !== 'presigned') throw new Error(`signature ${k} through the coordinator did not come from the pool (${out.note ?? 'no note'})`);
  }
} finally {
  await through.close();
}

function table(head: string[], body: string[][]) {
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => (r[k] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, k) => c.padEnd(widths[k] ?? 0)).join(' | ') + ' |';
  console.log(line(head));
  console.log('| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |');
  for (const r of body) console.log(line(r));
}

console.log(`2-of-3 on this machine (medians over all timed runs, after one untimed run; per-party compute is the slowest party of each run; single-key baselines from @noble/curves in the same run)\n`);
table(['protocol', 'end-to-end ms', 'per-party compute ms', 'single-key sign ms', 'ratio'], rows);
console.log(
  '\nPresigned ECDSA: the presign phase runs before the message is known; the online step (times include the' +
    ' N-API crossing) is local to each party plus one message per party to the combiner, no round trips.',
);
const p50p95 = (xs: number[]) => [String(xs.length), median(xs).toFixed(2), percentile(xs, 95).toFixed(2)];
console.log(`\nThrough the coordinator on loopback (coordinator + three signer nodes in this process, sealed envelopes over WebSocket), next to the addon in-process in the same run, ms; after one untimed run each\n`);
table(['step', 'runs', 'p50', 'p95', 'goal'], [
  ['ECDSA keygen with aux data ready, in-process (DKG + attach)', ...p50p95(dkgTimes), ''],
  ['ECDSA keygen with aux data ready, through the coordinator (all three nodes stored it)', ...p50p95(coordinatorKeygen), `≤ 250 p50 (stretch ≤ 50): ${median(coordinatorKeygen) <= 250 ? 'MET' : 'MISSED'}`],
  ['ECDSA online step, in-process (2 partials with share check + combine)', ...p50p95(onlineRunTimes), ''],
  ['ECDSA online step from the pool, through the coordinator (signWithPermit)', ...p50p95(coordinatorOnline), `≤ 15 p50: ${median(coordinatorOnline) <= 15 ? 'MET' : 'MISSED'}`],
]);
console.log(`auxiliary data for the group through the coordinator (once, primes from each node's prime pool): ${through.auxMs.toFixed(0)} ms`);
console.log(`\nPrecomputation (multi-exponentiation tables, memory only, never in a backup): ${precomputationNote}.`);
console.log('\nbytes sent per party, median over every run the party took part in (broadcasts counted once per recipient)\n');
table(['protocol', 'party 0', 'party 1', 'party 2'], bytesRows);
console.log(
  withPrimes
    ? `\nPaillier safe-prime generation for one party (4 × 1536-bit safe primes): ${(primeGenMs / 1000).toFixed(1)} s`
    : '\nPaillier safe-prime generation is not in the keygen/refresh figures; run with --with-primes to measure it.',
);
