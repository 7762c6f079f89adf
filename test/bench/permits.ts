/**
 * npm run bench:permits — SigningPermits verified per second by one node, on a bundle of 10,000
 * (half EVM EIP-1559, half Solana SOL transfers): the full PermitAuthorizer decision (schema,
 * issuer Ed25519 verification, tx hash recomputed from the payload, preimage comparison, single
 * use lookups, vault policy and execution-authorization coverage), printed next to bare Ed25519
 * verification of the same permits measured in the same run. Goal ≥ 20,000 permits/s.
 */
import { verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodePayload } from '../../main/chains/payload';
import { issuerPublicKeyObject } from '../../main/permits/issuer-keys';
import { parseBundle, serializeBundle } from '../../main/permits/permit-bundle';
import { defaultWorkerCount } from '../../main/permits/queue/verify-pool';
import { permitSigningBytes } from '../../main/permits/permit-format';
import { EVM_ADDRESS, EVM_KEYSET, evmPayload, factsFor, permitFixture, permitFor, SOL_KEYSET, solPayload } from '../support/permits';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 10_000);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const f = permitFixture();
f.policy.applyNodeSetup(
  {
    policies: [],
    authorizations: [
      { scope: { keysetId: EVM_KEYSET, destinations: ['0x1111111111111111111111111111111111111111'], assets: { native: { perTxMax: '10', dailyCap: '20' } }, validForMinutes: 60 } },
      { scope: { keysetId: SOL_KEYSET, destinations: [f.solana.recipient], assets: { native: { perTxMax: '100', dailyCap: '1000' } }, validForMinutes: 60 } },
    ],
  },
  false,
  'bench',
);

let start = performance.now();
const issued = [];
for (let i = 0; i < PERMITS; i += 1) {
  issued.push(i % 2 === 0 ? permitFor(f, evmPayload({ nonce: i, amount: 1000n + BigInt(i) })) : permitFor(f, solPayload(f, 1000n + BigInt(i))));
}
const issueMs = performance.now() - start;
const text = serializeBundle(issued);
start = performance.now();
const bundle = parseBundle(text);
const parseMs = performance.now() - start;

// The facts a cluster would pass: message = the payload's signing preimage, decoded beforehand
// (the cluster has it from the session request; decoding it is not the authorizer's cost).
const facts = bundle.permits.map((p) => factsFor(f, p, { message: decodePayload(p.permit.chain, p.permit.payload).signingPreimage }));

// Baseline: bare Ed25519 verification of the same permits' signed bytes, key object prepared once.
const key = issuerPublicKeyObject(f.issuer.publicKey);
const signedBytes = bundle.permits.map((p) => permitSigningBytes(p.permit));
const signatures = bundle.permits.map((p) => Buffer.from(p.signature, 'hex'));
start = performance.now();
let valid = 0;
for (let i = 0; i < PERMITS; i += 1) if (verify(null, signedBytes[i]!, key, signatures[i]!)) valid += 1;
const bareRate = PERMITS / ((performance.now() - start) / 1000);

start = performance.now();
let accepted = 0;
for (const fact of facts) if (f.authorizer.authorize(fact).ok) accepted += 1;
const fullRate = PERMITS / ((performance.now() - start) / 1000);

console.log(`permit bundle: ${fmt(PERMITS)} permits, ${fmt(text.length / 1024 / 1024, 1)} MiB, issued in ${fmt(issueMs)} ms, parsed and shape-checked in ${fmt(parseMs)} ms`);
console.log(`  bare Ed25519 verify (node:crypto):      ${fmt(bareRate)} /s   (${valid} valid)`);
console.log(`  full authorization (verify + tx hash + policy + single use + authorization): ${fmt(fullRate)} permits/s   (${accepted} accepted)`);
console.log(`  ratio full / bare Ed25519: ${fmt(fullRate / bareRate, 2)}   goal ≥ 20,000 permits/s ${fullRate >= 20_000 ? 'MET' : 'MISSED'}`);
// The permit queue: the same bundle imported from a file, every permit verified as on signing
// (without consuming single use) and stored in one transaction. Goal ≤ 2 s for 10,000. Measured
// on one thread and with the import workers (warmed first, as the console does at start), each
// next to a bare-verify baseline taken right before it: the machine may be shared.
const keysets = (id: string) => (id === EVM_KEYSET ? { keysetId: id, scheme: 'ecdsa' as const, address: EVM_ADDRESS, publicKey: null, lab: false, status: 'active' as const } : id === SOL_KEYSET ? { keysetId: id, scheme: 'eddsa' as const, address: f.solana.address, publicKey: null, lab: false, status: 'active' as const } : null);
const cluster = { keyset: keysets, signWithPermit: () => Promise.reject(new Error('the import bench signs nothing')) };
const bundleFile = join(f.dataDir, 'bench-bundle.json');
writeFileSync(bundleFile, text);
function bareVerifyMs(): number {
  const t0 = performance.now();
  for (let i = 0; i < PERMITS; i += 1) if (!verify(null, signedBytes[i]!, key, signatures[i]!)) throw new Error('baseline signature did not verify');
  return performance.now() - t0;
}
let imports: Array<{ label: string; ms: number; baselineMs: number; imported: number }> = [];
for (const workers of [0, defaultWorkerCount()]) {
  f.db.exec('DELETE FROM permit_queue');
  const queue = f.queue(cluster, { importWorkers: { minimumPermits: 1, workers } });
  const warmStart = performance.now();
  const ready = queue.warmImportWorkers();
  const warmMs = performance.now() - warmStart;
  const baselineMs = bareVerifyMs();
  start = performance.now();
  const report = queue.importFrom({ from: 'file', path: bundleFile });
  const ms = performance.now() - start;
  await queue.close();
  const label = workers === 0 ? 'one thread' : `${ready} worker${ready === 1 ? '' : 's'} + main thread (workers started in ${fmt(warmMs)} ms, before the timing)`;
  imports.push({ label, ms, baselineMs, imported: report.imported });
  if (report.imported !== PERMITS || report.refusedPermits.length > 0) {
    console.error(`not every permit was imported (${report.imported}, ${report.refusedPermits.length} refused): the measurement is void`);
    process.exit(1);
  }
}
for (const i of imports) {
  console.log(`  queue import of the ${fmt(PERMITS)}-permit bundle (read, parse, verify each, store), ${i.label}: ${fmt(i.ms)} ms   bare verify of the same signatures just before: ${fmt(i.baselineMs)} ms   ratio import / bare verify ${fmt(i.ms / i.baselineMs, 2)}   goal ≤ 2,000 ms ${i.ms <= 2_000 ? 'MET' : 'MISSED'}`);
}
imports = [];
f.cleanup();
if (accepted !== PERMITS || valid !== PERMITS) {
  console.error('not every permit was accepted: the measurement is void');
  process.exit(1);
}
