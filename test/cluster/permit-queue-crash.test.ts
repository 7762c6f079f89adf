/**
 * Crash safety of the permit queue with a real kill -9 of the console process that holds the
 * signing session: (1) after the cluster's signature is back but before the queue stored it —
 * after restart the signature is recovered from this node's own store, checked, and exported;
 * (2) in the middle of the session — after restart the permit is failed with a reason. In both,
 * the permit is never signed a second time: the queue refuses, and so does every node.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Keypair, VersionedTransaction } from '@solana/web3.js';
import { buildSolanaTransfer } from '../../main/chains/build';
import { decodePayload } from '../../main/chains/payload';
import type { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import type { SignedPermit } from '../../main/permits/permit-format';
import { serializeBundle } from '../../main/permits/permit-bundle';
import type { KeysetPolicy } from '../../preload/contract';
import { tempDir } from '../support/temp-dir';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';

describe('permit queue: kill -9 of the console between the MPC signature and the export', { timeout: 240_000 }, () => {
  let coordinator: Coordinator;
  let consoleNode: TestNode;
  let peers: TestNode[] = [];
  let keysetId = '';
  let address = '';
  let publicKey = '';
  let consoleId = '';
  let child: ChildProcess | null = null;
  let holdFrom: string | null = null;
  let held = 0;
  const files = tempDir('vk-queue-crash-');
  const issuer = generateIssuerKey();
  const recipient = Keypair.generate().publicKey.toBase58();

  const permitOf = (id: string, lamports: bigint): SignedPermit =>
    issuePermit({ keysetId, chain: { kind: 'solana', cluster: 'devnet' }, permitId: id, ttlSeconds: 600, issuedAt: Date.now(), payload: buildSolanaTransfer({ type: 'sol', from: address, to: recipient, amount: lamports, recentBlockhash: '11111111111111111111111111111111' }) }, issuer.secretKey);

  /** Runs the console as a child process that signs `permitId`, kills it with SIGKILL at `mode`, restarts the console here. */
  const crashWhileSigning = async (permitId: string, mode: 'after-signature' | 'mid-session'): Promise<void> => {
    const dir = consoleNode.dir;
    const stateDir = consoleNode.stateDir;
    await stopNode(consoleNode, false);
    const marker = join(files.path, `${permitId}.marker`);
    child = spawn(process.execPath, ['--import', 'tsx', 'test/cluster/fixtures/queue-console-child.ts', dir.path, stateDir.path, coordinator.url, permitId, marker, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.resume();
    child.stderr!.resume();
    await until(() => existsSync(marker), 90_000);
    if (mode === 'mid-session') await until(() => held > 0, 30_000);
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    holdFrom = null;
    consoleNode = await startNode('console', undefined, dir, { authorizer: 'permits', stateDir });
    await consoleNode.services.cluster.connect(coordinator.url);
  };

  /** Every node refuses to sign the permit again; at most one completed signature exists among the peers. */
  const neverSignedTwice = async (permit: SignedPermit) => {
    const queue = consoleNode.services.permitQueue;
    assert.throws(() => queue.startSigning([permit.permit.permitId]), (e: unknown) => e instanceof AppFailure && e.code === 'QUEUE_WRONG_STATE');
    const message = decodePayload(permit.permit.chain, permit.permit.payload).signingPreimage;
    await assert.rejects(consoleNode.services.cluster.signWithPermit(keysetId, permit, message), (e: unknown) => e instanceof AppFailure && /already used/.test(e.message));
    for (const p of peers) {
      const refusal = p.services.permits.authorizer.authorize({ sessionId: 'replay', keysetId, scheme: 'eddsa', keysetPublicKey: publicKey, keysetAddress: address, keysetLab: false, protocol: 'eddsa-sign', message, permit, requester: consoleId, requestedHere: false, parties: [] });
      const spent = p.services.db.prepare('SELECT COUNT(*) AS c FROM permits_spent WHERE permit_id = ?').get(permit.permit.permitId) as { c: number };
      if (spent.c === 1) assert.equal(refusal.ok ? 'ok' : refusal.code, 'PERMIT_ALREADY_USED', `${p.name} refuses the spent permit`);
    }
  };

  before(async () => {
    coordinator = await startCoordinator({
      relayFilter: (r) => {
        if (holdFrom && r.from === holdFrom) {
          held += 1;
          return null;
        }
        return r.envelope;
      },
    });
    consoleNode = await startNode('console', undefined, undefined, { authorizer: 'permits' });
    peers = [await startNode('node-b', undefined, undefined, { authorizer: 'permits' }), await startNode('node-c', undefined, undefined, { authorizer: 'permits' })];
    await enrolAll([consoleNode, ...peers]);
    for (const n of [consoleNode, ...peers]) await n.services.cluster.connect(coordinator.url);
    const keyset = await consoleNode.services.cluster.createKeyset('eddsa');
    await until(() => peers.every((p) => p.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 20_000);
    [keysetId, address, publicKey] = [keyset.keysetId, keyset.address!, keyset.publicKey!];
    consoleId = (await consoleNode.services.cluster.identity()).nodeId;
    const policy: KeysetPolicy = { keysetId, allowlist: [recipient], assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '10', dailyCap: '20', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 600 };
    for (const [i, n] of [consoleNode, ...peers].entries()) {
      n.services.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'online issuer', lab: false }], false, 'test');
      n.services.policy.applyNodeSetup({ policies: [policy], authorizations: i === 0 ? [] : [{ id: '6a1e0c1e-0000-4000-8000-0000000c2a54', scope: { keysetId, destinations: [recipient], assets: { native: { perTxMax: '10', dailyCap: '20' } }, validForMinutes: 60 } }] }, false, 'test');
    }
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const n of [consoleNode, ...peers]) await stopNode(n).catch(() => undefined);
    await coordinator?.close();
    files.cleanup();
  });

  it('killed after the signature came back: after restart it is recovered from the store, verifies, and exports once', async () => {
    const permit = permitOf('crash-after-signature', 1_000_000_000n);
    const bundle = join(files.path, 'a.json');
    writeFileSync(bundle, serializeBundle([permit]));
    assert.equal(consoleNode.services.permitQueue.importFrom({ from: 'file', path: bundle }).imported, 1);
    consoleNode.services.permitQueue.approve(permit.permit.permitId);
    await crashWhileSigning(permit.permit.permitId, 'after-signature');
    const queue = consoleNode.services.permitQueue;
    const item = queue.item(permit.permit.permitId);
    assert.equal(item.state, 'signed', item.reason ?? '');
    const result = queue.signedResult(permit.permit.permitId);
    const tx = VersionedTransaction.deserialize(Buffer.from(result.signedTx, 'base64'));
    assert.ok(ed25519.verify(tx.signatures[0]!, tx.message.serialize(), Buffer.from(publicKey, 'hex')));
    const marker = JSON.parse(readFileSync(join(files.path, `${permit.permit.permitId}.marker`), 'utf8')) as { signature: string };
    assert.equal(Buffer.from(tx.signatures[0]!).toString('hex'), marker.signature, 'the very signature the killed process received');
    assert.ok(consoleNode.services.audit.list().entries.some((e) => e.type === 'PERMIT_QUEUE_SIGNED' && e.subject === permit.permit.permitId && (e.details as { recovered?: boolean }).recovered === true));
    assert.equal(queue.export([permit.permit.permitId], files.path, true).items[0]!.state, 'exported');
    await neverSignedTwice(permit);
  });

  it('killed in the middle of the session: after restart the permit is failed with a reason and signed nowhere', async () => {
    const permit = permitOf('crash-mid-session', 2_000_000_000n);
    const bundle = join(files.path, 'b.json');
    writeFileSync(bundle, serializeBundle([permit]));
    assert.equal(consoleNode.services.permitQueue.importFrom({ from: 'file', path: bundle }).imported, 1);
    consoleNode.services.permitQueue.approve(permit.permit.permitId);
    // The console's round messages never reach its peers: the session cannot finish.
    holdFrom = consoleId;
    held = 0;
    await crashWhileSigning(permit.permit.permitId, 'mid-session');
    const item = consoleNode.services.permitQueue.item(permit.permit.permitId);
    assert.equal(item.state, 'failed');
    assert.match(item.reason!, /stopped while permit crash-mid-session was being signed .* never signed again; ask the issuer for a new permit/);
    const spent = consoleNode.services.db.prepare('SELECT session_id FROM permits_spent WHERE permit_id = ?').get(permit.permit.permitId) as { session_id: string };
    for (const p of peers) assert.ok(!p.services.cluster.sessions().some((s) => s.sessionId === spent.session_id && s.state === 'completed'), `${p.name} completed no session for it`);
    assert.notEqual(coordinator.store.get(spent.session_id)?.state, 'completed');
    await neverSignedTwice(permit);
  });
});
