/**
 * The same permitted transaction signs with each of the three quorums {A,B}, {A,C}, {B,C}, with
 * ECDSA (full protocol and presigned) and with EdDSA. A is the console (a person there approves
 * each permit); B and C are headless signer nodes (`npm run node` as child processes) that
 * co-sign unattended only under an execution authorization from their setup files. The keysets
 * are made first, so the policy and authorization are added to B's and C's setup files afterwards
 * and the nodes re-read them on SIGHUP; before that reload they decline.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Keypair } from '@solana/web3.js';
import Database from 'better-sqlite3';
import { Signature, Transaction } from 'ethers';
import { buildSolanaTransfer } from '../../main/chains/build';
import { decodePayload } from '../../main/chains/payload';
import type { KeysetRecord, SignOutcome } from '../../main/cluster/cluster-service';
import type { NodeCard } from '../../main/cluster/identity';
import type { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import type { SignedPermit } from '../../main/permits/permit-format';
import { GOOD_PASSPHRASE } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

const DEAD = '0x000000000000000000000000000000000000dead';
const SOL_RECIPIENT = Keypair.generate().publicKey.toBase58();
const EVM_AUTHORIZATION = '6a1e0c1e-0000-4000-8000-0000000ec0a2';
const SOL_AUTHORIZATION = '6a1e0c1e-0000-4000-8000-0000000ed0a2';

interface Headless {
  name: string;
  proc: ChildProcess;
  out: string[];
  dir: string;
}

describe('each quorum signs a permitted transaction with ECDSA and EdDSA; headless peers co-sign under an execution authorization', { timeout: 900_000 }, () => {
  let coordinator: Coordinator;
  let console_: TestNode;
  const headless: Headless[] = [];
  const dir = tempDir('vk-quorums-');
  const primes = testPrimes();
  const issuer = generateIssuerKey();
  const files = { issuers: join(dir.path, 'issuers.json'), policy: join(dir.path, 'policy.json'), authorizations: join(dir.path, 'authorizations.json'), peers: join(dir.path, 'peers.json') };
  let ids: [string, string, string];
  let ecdsa: KeysetRecord;
  let eddsa: KeysetRecord;
  let quorums: Array<[string, string]>;
  const names = (q: readonly string[]) => q.map((id) => ['A', 'B', 'C'][ids.indexOf(id)]).join('+');

  const spawnHeadless = (name: string, i: number): Headless => {
    const home = join(dir.path, name);
    const primesFile = join(dir.path, `${name}-primes.hex`);
    writeFileSync(primesFile, primes[i]!.toString('hex'));
    const args = [
      '--import', 'tsx', 'main/node/cli.ts', '--data', join(home, 'data'), '--init', '--coordinator', coordinator.url, '--name', name, '--peers', files.peers,
      '--trusted-issuers', files.issuers, '--policy', files.policy, '--execution-authorizations', files.authorizations,
      '--accept-keygen-minutes', '30', '--state-dir', join(home, 'state'), '--kdf-test-cost', '--insecure-test-primes', primesFile,
    ];
    const proc = spawn(process.execPath, args, { env: { ...process.env, VAULTKEEPER_NODE_PASSPHRASE: GOOD_PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe'] });
    const node: Headless = { name, proc, out: [], dir: home };
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => node.out.push(...chunk.split('\n').filter(Boolean)));
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => node.out.push(...chunk.split('\n').filter(Boolean).map((l) => `stderr: ${l}`)));
    return node;
  };

  /** The audit rows a headless node wrote, read from its database (the node keeps running). */
  const auditOf = (h: Headless, type: string): Array<{ subject: string; details: Record<string, unknown> }> => {
    const db = new Database(join(h.dir, 'data', 'vaultkeeper.sqlite3'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT entry FROM audit_log WHERE type = ? ORDER BY seq').all(type) as Array<{ entry: string }>).map((r) => JSON.parse(r.entry) as { subject: string; details: Record<string, unknown> });
    } finally {
      db.close();
    }
  };

  const policies = () => [
    { keysetId: ecdsa.keysetId, allowlist: [DEAD], assets: { native: { symbol: 'ETH', decimals: 18, perTxMax: '1', dailyCap: '10', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 60 },
    { keysetId: eddsa.keysetId, allowlist: [SOL_RECIPIENT], assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '5', dailyCap: '50', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 60 },
  ];
  const authorizations = () => [
    { id: EVM_AUTHORIZATION, scope: { keysetId: ecdsa.keysetId, destinations: [DEAD], assets: { native: { perTxMax: '1', dailyCap: '10' } }, validForMinutes: 60 } },
    { id: SOL_AUTHORIZATION, scope: { keysetId: eddsa.keysetId, destinations: [SOL_RECIPIENT], assets: { native: { perTxMax: '5', dailyCap: '50' } }, validForMinutes: 60 } },
  ];

  /** The same transfer each time (only the nonce or blockhash differs: a tx hash is signed once). */
  const evmTx = (nonce: number) =>
    Transaction.from({ type: 2, chainId: 1, nonce, maxPriorityFeePerGas: 1_000_000_000n, maxFeePerGas: 30_000_000_000n, gasLimit: 21_000n, to: DEAD, value: 10n ** 15n, data: '0x' });
  const solTransfer = (blockhashSeed: number) => {
    const recentBlockhash = Keypair.fromSeed(Buffer.alloc(32, blockhashSeed)).publicKey.toBase58();
    return buildSolanaTransfer({ type: 'sol', from: eddsa.address!, to: SOL_RECIPIENT, amount: 1_000_000_000n, recentBlockhash });
  };

  /** The issuer permits exactly this payload; the person at the console approves it; the console requests the signature. */
  const sign = (keyset: KeysetRecord, chain: { kind: 'evm'; chainId: number } | { kind: 'solana'; cluster: 'devnet' }, payload: string, quorum: readonly string[], presigned: 'prefer' | 'never' = 'never') => {
    const permit: SignedPermit = issuePermit({ keysetId: keyset.keysetId, chain, payload, issuedAt: Date.now(), ttlSeconds: 60 }, issuer.secretKey);
    console_.services.permits.approvePermit(permit.permit.permitId);
    const message = decodePayload(permit.permit.chain, permit.permit.payload).signingPreimage;
    // Generous deadlines: this machine's cores are shared, and a timed-out permit is spent, not retried.
    return { permit, message, run: () => console_.services.cluster.signWithPermit(keyset.keysetId, permit, message, { prefer: [...quorum], presigned, timeoutMs: 120_000 }) };
  };

  const signedSender = (tx: Transaction, out: SignOutcome): string => {
    const sig = Buffer.from(out.signature, 'hex');
    const signed = tx.clone();
    signed.signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, yParity: (out.recoveryId ?? 0) as 0 | 1 });
    return Transaction.from(signed.serialized).from!;
  };

  /** B and C co-signed this permit under their execution authorization (nobody approved it there). */
  const assertHeadlessCosigned = (quorum: readonly string[], permitId: string, authorizationId: string) => {
    for (const [i, h] of headless.entries()) {
      const accepted = auditOf(h, 'SIGN_PERMIT_ACCEPTED').find((e) => e.subject === permitId);
      if (quorum.includes(ids[i + 1]!)) assert.equal(accepted?.details.approvedBy, `execution authorization ${authorizationId}`, `${h.name} co-signed ${permitId} under its authorization`);
      else assert.equal(accepted, undefined, `${h.name} is outside the quorum and accepted nothing`);
    }
  };

  before(async () => {
    coordinator = await startCoordinator();
    writeFileSync(files.issuers, JSON.stringify([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'online issuer' }]));
    writeFileSync(files.policy, '[]');
    writeFileSync(files.authorizations, '[]');
    console_ = await startNode('console', primes[0], undefined, { authorizer: 'permits' });
    console_.services.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'online issuer', lab: false }], false, 'test');
    headless.push(spawnHeadless('node-b', 1), spawnHeadless('node-c', 2));
    const cards = headless.map((h) => join(h.dir, 'data', 'node-card.json'));
    await until(() => cards.every((c) => existsSync(c)), 60_000);
    const theirs = cards.map((c) => JSON.parse(readFileSync(c, 'utf8')) as { card: NodeCard; fingerprint: string });
    const me = await console_.services.cluster.identity();
    // Each operator confirms the fingerprints the others show.
    for (const t of theirs) console_.services.cluster.enrolPeer(t.card, t.fingerprint);
    writeFileSync(files.peers, JSON.stringify([{ card: me.card, fingerprint: me.fingerprint }, ...theirs]));
    ids = [me.nodeId, theirs[0]!.card.nodeId, theirs[1]!.card.nodeId];
    await console_.services.cluster.connect(coordinator.url);
    await until(() => ids.every((id) => coordinator.connectedNodes.includes(id)), 60_000);
    // Enrolment on the headless side happens before they connect; both are connected now.
    quorums = [[ids[0], ids[1]], [ids[0], ids[2]], [ids[1], ids[2]]];
    ecdsa = await console_.services.cluster.createKeyset('ecdsa', { timeoutMs: 600_000 });
    eddsa = await console_.services.cluster.createKeyset('eddsa', { timeoutMs: 120_000 });
    console_.services.policy.applyNodeSetup({ policies: policies(), authorizations: [] }, false, 'test');
  });

  after(async () => {
    for (const h of headless) if (h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill('SIGTERM');
    await Promise.all(headless.map((h) => (h.proc.exitCode !== null || h.proc.signalCode !== null ? undefined : new Promise((r) => h.proc.once('exit', r)))));
    if (console_) await stopNode(console_).catch(() => undefined);
    await coordinator?.close();
    dir.cleanup();
  });

  it('before their setup names the keysets, the headless nodes decline and the console shows which node said no and why', async () => {
    const { run } = sign(eddsa, { kind: 'solana', cluster: 'devnet' }, solTransfer(1), quorums[2]!);
    const refusal = await run().then(
      () => assert.fail('a headless node without a policy for the keyset must not co-sign'),
      (e: unknown) => e,
    );
    assert.ok(refusal instanceof AppFailure && refusal.code === 'MPC_SESSION_REJECTED', String(refusal));
    assert.match(refusal.message, /refused: Keyset .* has no vault policy on this node, so this node co-signs nothing for it/);
    assert.equal(refusal.details?.code, 'POLICY_NOT_SET');
    // Which node said no, by the name the console enrolled it under; and why nothing is retried.
    assert.match(refusal.message, /^Node "node-[bc]" \([0-9a-f]{8}…\) refused: /);
    assert.match(refusal.message, /not retried on another quorum/);
    assert.ok([ids[1], ids[2]].includes(refusal.details?.blamedNode as string));
  });

  it('SIGHUP makes B and C re-read their setup files: policy and execution authorization for both keysets', async () => {
    writeFileSync(files.policy, JSON.stringify(policies()));
    writeFileSync(files.authorizations, JSON.stringify(authorizations()));
    for (const h of headless) h.proc.kill('SIGHUP');
    await until(() => headless.every((h) => h.out.some((l) => l.startsWith('SETUP-RELOADED '))), 30_000);
    for (const h of headless) assert.ok(h.out.includes('SETUP-RELOADED 1 trusted issuer(s), 2 keyset policies, 2 execution authorization(s)'), h.out.join('\n'));
    // A broken file on a later reload changes nothing and leaves the node running.
    writeFileSync(files.policy, '[{');
    headless[0]!.proc.kill('SIGHUP');
    await until(() => headless[0]!.out.some((l) => l.includes('SETUP-RELOAD-REFUSED')), 30_000);
    assert.equal(headless[0]!.proc.exitCode, null);
    writeFileSync(files.policy, JSON.stringify(policies()));
  });

  it('EdDSA: each quorum signs the Solana transfer; signatures verify under the keyset key', async () => {
    for (const [i, q] of quorums.entries()) {
      const { permit, message, run } = sign(eddsa, { kind: 'solana', cluster: 'devnet' }, solTransfer(10 + i), q);
      const out = await run();
      assert.deepEqual([...out.parties].sort(), [...q].sort(), names(q));
      assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), message, Buffer.from(eddsa.publicKey!, 'hex')), names(q));
      assertHeadlessCosigned(q, permit.permit.permitId, SOL_AUTHORIZATION);
    }
  });

  it('ECDSA, full protocol: each quorum signs the EIP-1559 transfer, recovering to the keyset address', async () => {
    for (const [i, q] of quorums.entries()) {
      const tx = evmTx(i);
      const { permit, run } = sign(ecdsa, { kind: 'evm', chainId: 1 }, tx.unsignedSerialized, q);
      const out = await run();
      assert.equal(out.mode, 'full');
      assert.deepEqual([...out.parties].sort(), [...q].sort(), names(q));
      assert.equal(signedSender(tx, out), ecdsa.address, names(q));
      assertHeadlessCosigned(q, permit.permit.permitId, EVM_AUTHORIZATION);
    }
  });

  it('ECDSA, presigned: each quorum makes a presignature with the headless peers, then signs in one round, recovering to the keyset address', async () => {
    for (const [i, q] of quorums.entries()) {
      const made = await console_.services.cluster.presign(ecdsa.keysetId, { prefer: [...q], timeoutMs: 300_000 });
      assert.deepEqual([...made.quorum].sort(), [...q].sort(), `presignature of ${names(q)}`);
      const tx = evmTx(10 + i);
      const { permit, run } = sign(ecdsa, { kind: 'evm', chainId: 1 }, tx.unsignedSerialized, q, 'prefer');
      const out = await run();
      assert.equal(out.mode, 'presigned', `${names(q)}: ${out.note ?? ''}`);
      assert.deepEqual([...out.parties].sort(), [...q].sort(), names(q));
      assert.equal(signedSender(tx, out), ecdsa.address, names(q));
      assertHeadlessCosigned(q, permit.permit.permitId, EVM_AUTHORIZATION);
    }
  });
});
