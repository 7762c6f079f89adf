/**
 * Emergency exit on a real loopback cluster (EdDSA; the Ethereum keystore in
 * emergency-exit-ecdsa.test.ts): nodes A and B back up their shares, two guardians approve, A
 * rebuilds the key from the two backups and writes a Solana keystore whose key signs a transfer
 * litesvm accepts. Every refusal is tried first and leaves nothing behind; a fourth attempt in an
 * hour is refused, also after a restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Keypair, PublicKey, SystemProgram, Transaction } from '@solana/web3.js';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import { parseBackupFile, type BackupFile } from '../../main/backup/backup-format';
import { SHARE_RECORD } from '../../main/cluster/cluster-service';
import type { Coordinator } from '../../main/coordinator/server';
import { openSolanaKeystore } from '../../main/exit/keystore';
import { MpcSigner, runLocal } from '../../main/mpc/index';
import { TRUSTED } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { approve, backupPassphrases, enrolGuardians, makeGuardians, rejectsWith, REQUESTER, unlock, type Guardian } from './backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';

const EXIT_PASSPHRASE = 'granite willow exit keystore 93';

describe('emergency exit: two current backups, the guardian quorum, a Solana keystore', { timeout: 600_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let guardians: Guardian[] = [];
  const media = tempDir('vk-exit-medium-');
  const out = tempDir('vk-exit-out-');
  const signer = new MpcSigner();
  let keysetId = '';
  let otherKeyset = '';
  const files: Record<string, string> = {};
  let clockOffset = 0;
  const clock = { now: () => Date.now() + clockOffset };

  before(async () => {
    guardians = await makeGuardians();
    coordinator = await startCoordinator();
    nodes = [await startNode('console', undefined, undefined, { clock }), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    for (const n of nodes) await enrolGuardians(n.services, guardians);
    keysetId = (await a().cluster.createKeyset('eddsa')).keysetId;
    otherKeyset = (await a().cluster.createKeyset('eddsa')).keysetId;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active' && n.services.cluster.keyset(otherKeyset)?.status === 'active'), 30_000);
    for (const [i, n] of nodes.entries()) {
      const ids = new Map(n.services.guardians.registry().guardians.map((g) => [g.name, g.id]));
      files[`${i}`] = (await n.services.backup.backups.create(keysetId, media.path, backupPassphrases(guardians, ids))).filePath;
    }
    const ids = new Map(a().guardians.registry().guardians.map((g) => [g.name, g.id]));
    files.other = (await a().backup.backups.create(otherKeyset, media.path, backupPassphrases(guardians, ids))).filePath;
    files.secondOfA = (await a().backup.backups.create(keysetId, media.path, backupPassphrases(guardians, ids))).filePath;
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
    media.cleanup();
    out.cleanup();
  });

  const a = () => nodes[0]!.services;
  const fileOf = (path: string): BackupFile => parseBackupFile(readFileSync(path, 'utf8'));
  const opened = (path: string, names = ['Lena', 'Sam']) => ({ file: path, guardians: unlock(guardians, names, fileOf(path)) });
  const exportRequest = (requestId: string, over: Partial<Parameters<Services['exit']['exportKey']>[0]> = {}) => ({
    keysetId,
    backups: [opened(files['0']!), opened(files['1']!)],
    passphrase: EXIT_PASSPHRASE,
    confirmation: EXIT_PASSPHRASE,
    folder: out.path,
    requestId,
    ...over,
  });
  const approved = async (paths: string[], who = [guardians[0]!, guardians[1]!], keyset = keysetId): Promise<string> => {
    const request = await a().exit.requestExit(keyset, paths, 'the cluster cannot be kept running', REQUESTER, 60);
    await approve(a(), request.id, who);
    return request.id;
  };
  const attempts = () => (a().db.prepare('SELECT count(*) AS n FROM emergency_exit_attempts').get() as { n: number }).n;
  const nothingWritten = (attemptsBefore = 0) => {
    assert.deepEqual(readdirSync(out.path), [], 'no file in the output folder');
    assert.equal(a().exit.records.exports().length, 0, 'keyset not marked exported');
    assert.equal(attempts(), attemptsBefore, 'no attempt counted');
  };

  it('checks the two backups without secrets and shows the warning', () => {
    const check = a().exit.check(keysetId, [files['0']!, files['1']!]);
    assert.equal(check.output, 'solana-keystore');
    assert.deepEqual(check.backups.map((b) => b.partyIndex).sort(), [0, 1]);
    assert.match(check.warning, /controls the funds alone/);
    assert.equal(check.attemptsLeft, 3);
  });

  it('refuses two backups of the same node, a backup of another keyset, a tampered backup; nothing written', async () => {
    await rejectsWith(() => a().exit.check(keysetId, [files['0']!]), 'EXIT_BACKUPS_REQUIRED');
    const same = await rejectsWith(() => a().exit.check(keysetId, [files['0']!, files.secondOfA!]), 'EXIT_SAME_NODE');
    assert.match(same.message, /one node's share twice is still one share/);
    const wrongKeyset = await rejectsWith(() => a().exit.check(keysetId, [files['0']!, files.other!]), 'BACKUP_WRONG_KEYSET');
    assert.match(wrongKeyset.message, new RegExp(`holds a share of keyset ${otherKeyset}, not of ${keysetId}`));
    const tampered = join(media.path, 'tampered.json');
    const t = fileOf(files['1']!);
    t.createdAt = new Date(0).toISOString();
    writeFileSync(tampered, JSON.stringify(t));
    await rejectsWith(() => a().exit.check(keysetId, [files['0']!, tampered]), 'BACKUP_BAD_SIGNATURE');
    // The export itself refuses them too, even with an approval for the right pair.
    const requestId = await approved([files['0']!, files['1']!]);
    await rejectsWith(a().exit.exportKey(exportRequest(requestId, { backups: [opened(files['0']!), opened(files.secondOfA!)] })), 'EXIT_SAME_NODE');
    await rejectsWith(a().exit.exportKey(exportRequest(requestId, { backups: [opened(files['0']!), opened(files.other!)] })), 'BACKUP_WRONG_KEYSET');
    await rejectsWith(a().exit.exportKey(exportRequest(requestId, { backups: [opened(files['0']!), opened(tampered)] })), 'BACKUP_BAD_SIGNATURE');
    nothingWritten();
  });

  it('refuses a mistyped passphrase confirmation, and a weak passphrase; nothing written', async () => {
    const requestId = await approved([files['0']!, files['1']!]);
    const typo = await rejectsWith(a().exit.exportKey(exportRequest(requestId, { confirmation: `${EXIT_PASSPHRASE}x` })), 'EXIT_PASSPHRASE_MISMATCH');
    assert.match(typo.message, /Type the same passphrase twice/);
    await rejectsWith(a().exit.exportKey(exportRequest(requestId, { passphrase: 'short', confirmation: 'short' })), 'EXIT_PASSPHRASE_REFUSED');
    nothingWritten();
  });

  it('refuses one guardian, and an approval of other backup files; nothing written', async () => {
    const one = await approved([files['0']!, files['1']!], [guardians[0]!]);
    await rejectsWith(a().exit.exportKey(exportRequest(one)), 'QUORUM_NOT_MET');
    const otherPair = await approved([files['0']!, files['2']!]);
    await rejectsWith(a().exit.exportKey(exportRequest(otherPair)), 'GUARD_PAYLOAD_MISMATCH');
    nothingWritten();
  });

  it('exports a Solana keystore whose key signs a transfer litesvm accepts; the keyset is marked exported; audited without the key', async () => {
    const requestId = await approved([files['0']!, files['1']!]);
    const outcome = await a().exit.exportKey(exportRequest(requestId, { backups: [opened(files['0']!, ['Sam', 'Sofia']), opened(files['1']!, ['Lena', 'Sofia'])] }));
    const keyset = a().cluster.keyset(keysetId)!;
    assert.equal(outcome.address, keyset.address);
    assert.equal(outcome.format, 'solana-keystore');
    assert.match(outcome.warning, /single point of failure/);
    const text = readFileSync(outcome.filePath, 'utf8');
    assert.equal(await openSolanaKeystore(text, 'not the passphrase at all 11'), null);
    const key = (await openSolanaKeystore(text, EXIT_PASSPHRASE))!;
    assert.equal(key.address, keyset.address);

    const svm = new LiteSVM();
    const from = new PublicKey(keyset.address!);
    const to = Keypair.generate().publicKey;
    svm.airdrop(from, 5_000_000_000n);
    const tx = new Transaction({ feePayer: from, recentBlockhash: svm.latestBlockhash() }).add(SystemProgram.transfer({ fromPubkey: from, toPubkey: to, lamports: 1_234_567 }));
    tx.addSignature(from, signer.signWithEd25519Scalar(key.secretScalar, key.publicKey, tx.serializeMessage()));
    const result = svm.sendTransaction(tx);
    assert.ok(!(result instanceof FailedTransactionMetadata), `litesvm refused the transfer: ${result instanceof FailedTransactionMetadata ? result.toString() : ''}`);
    assert.equal(svm.getBalance(to), 1_234_567n);

    assert.ok(a().exit.records.exportedKeysets().has(keysetId));
    const views = await a().router.dispatch('cluster.keysets', {}, TRUSTED);
    assert.ok(views.ok);
    assert.ok((views.value as { keysetId: string; exportedAt: string | null }[]).find((k) => k.keysetId === keysetId)!.exportedAt);
    const audit = a().audit.list({ type: 'KEYSET_EXPORTED' });
    assert.equal(audit.total, 1);
    const logged = JSON.stringify(a().audit.list({}).entries);
    for (const secret of [key.secretScalar.toString('hex'), key.secretScalar.toString('base64')]) assert.ok(!logged.includes(secret), 'no key in the audit log');
    key.secretScalar.fill(0);
    // The approval was consumed: it does not export a second time.
    await rejectsWith(a().exit.exportKey(exportRequest(requestId)), 'APPROVAL_REQUEST_CLOSED');
  });

  it('a fourth attempt within an hour is refused, also after a restart, and allowed an hour later', async () => {
    const requestId = await approved([files['0']!, files['1']!]);
    // Two attempts that reach the backups and fail there (a wrong guardian backup passphrase) count.
    const wrong = { file: files['1']!, guardians: unlock(guardians, ['Lena', 'Sam'], fileOf(files['1']!)).map((u, i) => (i === 0 ? { ...u, passphrase: 'lena wrong guess 1234 abc' } : u)) };
    for (let i = 0; i < 2; i++) await rejectsWith(a().exit.exportKey(exportRequest(requestId, { backups: [opened(files['0']!), wrong] })), 'BACKUP_GUARDIAN_UNLOCK');
    assert.equal(attempts(), 3);
    const limited = await rejectsWith(a().exit.exportKey(exportRequest(requestId)), 'EXIT_RATE_LIMITED');
    assert.match(limited.message, /at most 3 per hour/);
    assert.equal(attempts(), 3, 'a refused attempt is not counted');

    await stopNode(nodes[0]!, false);
    nodes[0] = await startNode('console', undefined, nodes[0]!.dir, { clock });
    await rejectsWith(a().exit.exportKey(exportRequest(requestId)), 'EXIT_RATE_LIMITED');
    // A clock set back does not reopen the limit.
    clockOffset = -2 * 60 * 60 * 1000;
    await rejectsWith(a().exit.exportKey(exportRequest(await approved([files['0']!, files['1']!]))), 'EXIT_RATE_LIMITED');
    clockOffset = 61 * 60 * 1000;
    const later = await approved([files['0']!, files['1']!]);
    const outcome = await a().exit.exportKey(exportRequest(later, { folder: media.path }));
    assert.equal(outcome.address, a().cluster.keyset(keysetId)!.address);
  });

  it('refuses backups from before a refresh of the keyset, even two that agree with each other', async () => {
    // A refresh (every share re-randomized, same key), run on the three nodes' shares; A takes its new share.
    const shares = nodes.map((n) => n.services.vault.records.get(SHARE_RECORD.type, keysetId)!.plaintext);
    const signers = nodes.map(() => new MpcSigner());
    const sessionId = Buffer.alloc(32, 7);
    const refreshed = await runLocal(nodes.map((_, p) => signers[p]!.start({ protocol: 'eddsa-refresh', sessionId, partyIndex: p, parties: [0, 1, 2], threshold: 2, share: shares[p] })));
    a().vault.records.put(SHARE_RECORD.type, keysetId, SHARE_RECORD.schemaVersion, refreshed.results.get(0)!.share!);
    const dead = await rejectsWith(() => a().exit.check(keysetId, [files['0']!, files['1']!]), 'BACKUP_DEAD');
    assert.match(dead.message, /from before a refresh/);
    const before = attempts();
    await rejectsWith(a().exit.exportKey(exportRequest(randomUUID(), { backups: [opened(files['2']!), opened(files['1']!)] })), 'BACKUP_DEAD');
    assert.equal(attempts(), before);
  });
});

type Services = TestNode['services'];
