/**
 * Share backup and guarded restore on a real loopback cluster (EdDSA; the ECDSA round trip is in
 * share-backup-ecdsa.test.ts): node A backs up its share, its data folder is destroyed, and a fresh
 * A is restored from the backup with two guardians, then signs 2-of-3 with the others. Every
 * refusal on the way is tried first: tampered, forged, re-bound, wrong keyset, other guardians,
 * one guardian, expired approval, another keyset's approval, a share already present.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { BACKUP_FORMAT, parseBackupFile, signedBytes, headerOf, type BackupFile } from '../../main/backup/backup-format';
import { shareEpoch } from '../../main/cluster/share-epoch';
import { sealBackupKey } from '../../main/backup/backup-key';
import { sealPayload } from '../../main/backup/backup-payload';
import { SHARE_RECORD } from '../../main/cluster/cluster-service';
import { ed25519PrivateKey, signBytes } from '../../main/cluster/keys';
import type { Coordinator } from '../../main/coordinator/server';
import { nodeIdFromPublicKey } from '../../main/identity/node-identity';
import { MpcSigner } from '../../main/mpc/index';
import type { Services } from '../../main/services';
import { backupJob, restoreJob } from '../../main/jobs/backup-jobs';
import { JobService } from '../../main/jobs/job-service';
import { isAppFailure } from '../../main/errors';
import { GOOD_PASSPHRASE, TEST_KDF_COST, TRUSTED } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { approve, backupPassphrases, destroyAndStartFresh, enrolGuardians, makeGuardians, rejectsWith, rejoin, REQUESTER, unlock as unlockAs, type FreshNode, type Guardian } from './backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';

describe('share backup, verification and guarded restore', { timeout: 600_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  const media = tempDir('vk-backup-medium-');
  const signer = new MpcSigner();
  let eddsaKeyset = '';
  let otherKeyset = '';
  let ids = new Map<string, string>();
  let GUARDIANS: Guardian[] = [];
  const files: Record<string, string> = {};
  const unlock = (names: string[], from: BackupFile) => unlockAs(GUARDIANS, names, from);

  before(async () => {
    GUARDIANS = await makeGuardians();
    coordinator = await startCoordinator();
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    ids = await enrolGuardians(nodes[0]!.services, GUARDIANS);
    eddsaKeyset = (await nodes[0]!.services.cluster.createKeyset('eddsa')).keysetId;
    // A second keyset of the same node: its backup must not restore the first.
    otherKeyset = (await nodes[0]!.services.cluster.createKeyset('eddsa')).keysetId;
    await until(() => nodes.every((n) => n.services.cluster.keyset(eddsaKeyset)?.status === 'active' && n.services.cluster.keyset(otherKeyset)?.status === 'active'), 30_000);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
    media.cleanup();
  });

  const a = () => nodes[0]!.services;
  const passphrases = () => backupPassphrases(GUARDIANS, ids);

  it('refuses weak, missing or shared guardian passphrases and writes nothing', async () => {
    const weak = passphrases().map((p, i) => (i === 0 ? { ...p, passphrase: 'short' } : p));
    await rejectsWith(a().backup.backups.create(eddsaKeyset, media.path, weak), 'BACKUP_PASSPHRASE_REFUSED');
    const same = passphrases().map((p) => ({ ...p, passphrase: GUARDIANS[0]!.backupPassphrase }));
    const shared = await rejectsWith(a().backup.backups.create(eddsaKeyset, media.path, same), 'BACKUP_PASSPHRASE_REFUSED');
    assert.match(shared.message, /same backup passphrase as another guardian/);
    await rejectsWith(a().backup.backups.create(eddsaKeyset, media.path, passphrases().slice(0, 2)), 'BACKUP_PASSPHRASE_REFUSED');
    await rejectsWith(a().backup.backups.create(eddsaKeyset, join(media.path, 'missing'), passphrases()), 'BACKUP_WRITE_FAILED');
    assert.equal(a().backup.backups.list().length, 0);
  });

  it('writes a self-describing backup per keyset, listed as current; no secret in the clear', async () => {
    for (const keysetId of [eddsaKeyset, otherKeyset]) {
      const view = await a().backup.backups.create(keysetId, media.path, passphrases());
      files[keysetId] = view.filePath;
      assert.equal(view.status, 'current');
      const text = readFileSync(view.filePath, 'utf8');
      const file = parseBackupFile(text);
      const keyset = a().cluster.keyset(keysetId)!;
      assert.equal(file.format, BACKUP_FORMAT);
      assert.equal(file.keyset.address, keyset.address);
      assert.equal(file.keyset.publicKey, keyset.publicKey);
      assert.equal(file.node.nodeId, a().vault.nodeId());
      const share = a().vault.records.get(SHARE_RECORD.type, keysetId)!.plaintext;
      const { privatePart } = signer.detachShare(share);
      assert.equal(file.share.epoch, shareEpoch(signer.shareInfo(share).publicShare));
      // Neither the private part nor the whole share appears in the file, in hex or base64.
      for (const secret of [privatePart, share]) {
        assert.ok(!text.includes(secret.toString('hex')) && !text.includes(secret.toString('base64')));
      }
      assert.ok(!/presignature/i.test(text));
    }
    const listed = a().backup.backups.list();
    assert.deepEqual(listed.map((b) => b.status), ['current', 'current']);
    assert.deepEqual(new Set(listed.map((b) => b.keysetId)), new Set([eddsaKeyset, otherKeyset]));
    assert.equal(a().audit.list({ type: 'SHARE_BACKUP_CREATED' }).total, 2);
  });

  it('a backup as a job: one per keyset at a time; a cancel or a lock before the file is written writes nothing; then it writes and names the file', async () => {
    const jobs = a().jobs;
    const listed = a().backup.backups.list().length;
    const written = readdirSync(media.path).length;
    const cancelled = jobs.start(backupJob(a().backup.backups, eddsaKeyset, media.path, passphrases()));
    assert.throws(() => jobs.start(backupJob(a().backup.backups, eddsaKeyset, media.path, passphrases())), (e: unknown) => isAppFailure(e) && e.code === 'JOB_CONFLICT');
    jobs.cancel(cancelled.id);
    const locked = jobs.start(backupJob(a().backup.backups, eddsaKeyset, media.path, passphrases()));
    await jobs.cancelForLock();
    await jobs.settled();
    const view = (id: string) => jobs.list().find((j) => j.id === id)!;
    assert.equal(view(cancelled.id).state, 'cancelled');
    assert.deepEqual(view(locked.id).error, { code: 'VAULT_LOCKED', message: 'The share backup failed: vault locked during share backup.' });
    assert.equal(a().backup.backups.list().length, listed, 'no backup recorded');
    assert.equal(readdirSync(media.path).length, written, 'no file written');
    assert.deepEqual(a().audit.list({ type: 'JOB_CANCELLED' }).entries.slice(0, 2).map((e) => e.subject).sort(), [cancelled.id, locked.id].sort());

    const made = jobs.start(backupJob(a().backup.backups, eddsaKeyset, media.path, passphrases()));
    await jobs.settled();
    assert.equal(view(made.id).state, 'succeeded', JSON.stringify(view(made.id).error));
    const newest = a().backup.backups.list(eddsaKeyset).sort((x, y) => y.createdAt.localeCompare(x.createdAt))[0]!;
    assert.equal(view(made.id).result?.summary.startsWith(`Backup written to ${newest.filePath} `), true);
    assert.equal(a().backup.backups.list().length, listed + 1);
  });

  it('verifies without secrets, and refuses a tampered, malformed, newer or oversized file', async () => {
    const v = a().backup.backups.verify(files[eddsaKeyset]!);
    assert.ok(v.ok, JSON.stringify(v.checks));
    assert.equal(v.depth, 'public');
    const original = readFileSync(files[eddsaKeyset]!, 'utf8');
    const bad = join(media.path, 'tampered.json');
    const write = (f: unknown) => writeFileSync(bad, typeof f === 'string' ? f : JSON.stringify(f));
    const json = () => JSON.parse(original) as BackupFile;

    write({ ...json(), keyset: { ...json().keyset, address: 'So1111111111111111111111111111111111111111' } });
    await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_BAD_SIGNATURE');
    const swapped = json();
    swapped.guardians[0]!.sealed.ciphertext = swapped.guardians[1]!.sealed.ciphertext;
    write(swapped);
    await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_BAD_SIGNATURE');
    // Re-signed by another identity: it then names another node than its key.
    const other = ed25519.utils.randomSecretKey();
    const resigned = { ...json(), node: { ...json().node, signingPublicKey: Buffer.from(ed25519.getPublicKey(other)).toString('hex') } };
    write({ ...resigned, signature: signBytes(ed25519PrivateKey(other), signedBytes(headerOf(resigned), resigned.payload)).toString('hex') });
    const foreign = await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_BAD_SIGNATURE');
    assert.match(foreign.message, /carries another node's signing key/);
    write(resigned);
    await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_BAD_SIGNATURE');
    write('{"format": "vaultkeeper.share-backup", "version": 1,');
    await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_MALFORMED');
    write({ ...json(), version: 2 });
    await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_UNSUPPORTED_VERSION');
    write({ ...json(), extra: 'field' });
    await rejectsWith(() => a().backup.backups.verify(bad), 'BACKUP_MALFORMED');
    write(' '.repeat(1024 * 1024 + 1));
    await rejectsWith(() => a().backup.backups.verify(bad), 'FILE_TOO_LARGE');
  });

  it('lists a backup as dead once the share this node holds changed (what a refresh does), and current again after', () => {
    const records = a().vault.records;
    const mine = records.get(SHARE_RECORD.type, otherKeyset)!.plaintext;
    // Another share of the same keyset stands in for a refreshed one: same key, another public share.
    const replaced = nodes[1]!.services.vault.records.get(SHARE_RECORD.type, otherKeyset)!.plaintext;
    records.put(SHARE_RECORD.type, otherKeyset, SHARE_RECORD.schemaVersion, replaced);
    try {
      const listed = a().backup.backups.list(otherKeyset);
      assert.deepEqual(listed.map((b) => b.status), ['dead']);
      const v = a().backup.backups.verify(files[otherKeyset]!);
      assert.equal(v.ok, false);
      assert.equal(v.status, 'dead');
      assert.match(v.checks.find((c) => c.name === 'epoch')!.detail, /a refresh made this backup dead/);
      assert.equal(a().backup.backups.overview().keysets.find((k) => k.keysetId === otherKeyset)?.hasCurrentBackup, false);
    } finally {
      records.put(SHARE_RECORD.type, otherKeyset, SHARE_RECORD.schemaVersion, mine);
    }
    assert.deepEqual(a().backup.backups.list(otherKeyset).map((b) => b.status), ['current']);
  });

  it('verifies fully with two guardians; one guardian, a wrong passphrase or a re-bound payload is refused', async () => {
    const file = parseBackupFile(readFileSync(files[eddsaKeyset]!, 'utf8'));
    const full = await a().backup.backups.verifyFull(files[eddsaKeyset]!, unlock(['Lena', 'Sofia'], file));
    assert.ok(full.ok && full.depth === 'full', JSON.stringify(full.checks));
    const lena = unlock(['Lena'], file)[0]!;
    await rejectsWith(a().backup.backups.verifyFull(files[eddsaKeyset]!, [lena, lena]), 'BACKUP_GUARDIAN_UNLOCK');
    const wrong = await rejectsWith(a().backup.backups.verifyFull(files[eddsaKeyset]!, [lena, { ...unlock(['Sam'], file)[0]!, passphrase: 'not sams backup passphrase' }]), 'BACKUP_GUARDIAN_UNLOCK');
    assert.match(wrong.message, /Sam's backup passphrase does not open their part/);

    // Signed by the node itself but with another epoch claimed: the payload's associated data no longer fits.
    const me = await a().cluster.identity();
    const rebound = { ...file, share: { ...file.share, epoch: 'f'.repeat(32) } };
    const signed = { ...rebound, signature: me.sign(signedBytes(headerOf(rebound), rebound.payload)).toString('hex') };
    const path = join(media.path, 'rebound.json');
    writeFileSync(path, JSON.stringify(signed));
    await rejectsWith(a().backup.backups.verifyFull(path, unlock(['Lena', 'Sofia'], file)), 'BACKUP_DECRYPT_FAILED');
  });

  it('refuses a backup whose share is not the public share it names (another node\'s share, validly sealed and signed)', async () => {
    const file = parseBackupFile(readFileSync(files[eddsaKeyset]!, 'utf8'));
    const identity = ed25519.utils.randomSecretKey();
    const signingPublicKey = Buffer.from(ed25519.getPublicKey(identity)).toString('hex');
    const nodeId = nodeIdFromPublicKey(Buffer.from(signingPublicKey, 'hex'));
    const backupId = randomUUID();
    const owners = file.guardians.map((g) => ({ guardianId: g.guardianId, name: g.name, address: g.address }));
    const { key, parts } = await sealBackupKey({ backupId, keysetId: eddsaKeyset, nodeId }, owners, passphrases().map((p, i) => ({ ...p, guardianId: owners[i]!.guardianId })), TEST_KDF_COST);
    const header = { ...headerOf(file), backupId, node: { ...file.node, nodeId, signingPublicKey }, keyset: { ...file.keyset, participants: file.keyset.participants.map((p) => (p.partyIndex === file.node.partyIndex ? { ...p, nodeId } : p)) }, guardians: parts };
    const bShare = nodes[1]!.services.vault.records.get(SHARE_RECORD.type, eddsaKeyset)!.plaintext;
    const payload = sealPayload(key, header, { ...signer.detachShare(bShare), identitySecret: Buffer.from(identity), hpkeKeyPair: Buffer.alloc(64, 7) });
    const forged = { ...header, payload, signature: signBytes(ed25519PrivateKey(identity), signedBytes(header, payload)).toString('hex') };
    const path = join(media.path, 'forged.json');
    writeFileSync(path, JSON.stringify(forged));
    const refused = await rejectsWith(a().backup.backups.verifyFull(path, unlock(['Sam', 'Sofia'], forged)), 'BACKUP_SHARE_MISMATCH');
    assert.match(refused.message, /public share/);
  });

  describe('node A loses its data folder and is restored from its backups (EdDSA)', () => {
    let node: FreshNode;
    let fresh: Services;
    let retryRequestId = '';
    const oldNodeId = () => parseBackupFile(readFileSync(files[eddsaKeyset]!, 'utf8')).node.nodeId;
    const ask = (keysetId: string, ttlMinutes = 60, file = files[keysetId]!) => fresh.backup.restore.requestRestore(file, keysetId, 'node A lost its disk', REQUESTER, ttlMinutes);

    before(async () => {
      node = await destroyAndStartFresh(nodes[0]!);
      fresh = node.services;
    });
    after(async () => {
      await node.cleanup();
    });

    it('a fresh vault takes the backed-up identity only when two guardians open the backup', async () => {
      const file = parseBackupFile(readFileSync(files[eddsaKeyset]!, 'utf8'));
      const lena = unlock(['Lena'], file)[0]!;
      const noIdentityWritten = () => {
        assert.equal(fresh.vault.status().state, 'uninitialized');
        for (const table of ['vault_meta', 'sealed_records']) assert.equal((fresh.db.prepare(`SELECT COUNT(*) AS c FROM ${table}`).get() as { c: number }).c, 0, `nothing in ${table}`);
      };
      await rejectsWith(fresh.backup.restore.createVaultFromBackup(files[eddsaKeyset]!, [lena, lena], GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'BACKUP_GUARDIAN_UNLOCK');
      noIdentityWritten();
      // A guardian's wrong passphrase, or a file altered after it was signed: still nothing written.
      await rejectsWith(fresh.backup.restore.createVaultFromBackup(files[eddsaKeyset]!, [lena, { ...unlock(['Sam'], file)[0]!, passphrase: 'not sams backup passphrase' }], GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'BACKUP_GUARDIAN_UNLOCK');
      noIdentityWritten();
      const altered = join(media.path, 'altered-identity.json');
      writeFileSync(altered, JSON.stringify({ ...file, createdAt: new Date(0).toISOString() }));
      await rejectsWith(fresh.backup.restore.createVaultFromBackup(altered, unlock(['Lena', 'Sam'], file), GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'BACKUP_BAD_SIGNATURE');
      noIdentityWritten();
      // Through the IPC router, as the setup screen asks: the file's public part first, then the vault.
      const inspected = await fresh.router.dispatch('backup.inspect', { file: files[eddsaKeyset]! }, TRUSTED);
      assert.ok(inspected.ok && (inspected.value as { nodeId: string }).nodeId === oldNodeId());
      const oneGuardian = await fresh.router.dispatch('backup.createVaultFromBackup', { file: files[eddsaKeyset]!, guardians: [lena], passphrase: GOOD_PASSPHRASE, confirmation: GOOD_PASSPHRASE }, TRUSTED);
      assert.ok(!oneGuardian.ok && oneGuardian.error.code === 'VALIDATION_FAILED');
      const made = await fresh.router.dispatch('backup.createVaultFromBackup', { file: files[eddsaKeyset]!, guardians: unlock(['Lena', 'Sam'], file), passphrase: GOOD_PASSPHRASE, confirmation: GOOD_PASSPHRASE }, TRUSTED);
      assert.ok(made.ok, JSON.stringify(made));
      assert.equal((made.value as { nodeId: string }).nodeId, oldNodeId());
      assert.equal(fresh.vault.nodeId(), oldNodeId());
      // The same card as before (identity and HPKE key): the peers' enrolment still holds.
      const card = (await fresh.cluster.identity()).card;
      assert.deepEqual(nodes[1]!.services.cluster.node(card.nodeId)?.fingerprint, (await fresh.cluster.identity()).fingerprint);
      await rejectsWith(fresh.backup.restore.createVaultFromBackup(files[eddsaKeyset]!, unlock(['Lena', 'Sam'], file), GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'VAULT_ALREADY_EXISTS');
    });

    it('refuses before anything is written: other guardians, wrong keyset, tampered file, one guardian, expired approval', async () => {
      // Guardians not yet enrolled here: no request can be made for them.
      await rejectsWith(ask(eddsaKeyset), 'BACKUP_GUARDIANS_DIFFER');
      await rejoin(fresh, GUARDIANS, [nodes[1]!, nodes[2]!], coordinator.url);
      const file = parseBackupFile(readFileSync(files[eddsaKeyset]!, 'utf8'));
      const two = unlock(['Sam', 'Sofia'], file);

      await rejectsWith(ask('ks-not-this-one', 60, files[eddsaKeyset]!), 'BACKUP_WRONG_KEYSET');
      const request = await ask(eddsaKeyset);
      const wrongKeyset = await rejectsWith(fresh.backup.restore.restore(files[otherKeyset]!, eddsaKeyset, two, request.id), 'BACKUP_WRONG_KEYSET');
      assert.match(wrongKeyset.message, new RegExp(`holds a share of keyset ${otherKeyset}`));

      const tampered = join(media.path, 'tampered-restore.json');
      const json = JSON.parse(readFileSync(files[eddsaKeyset]!, 'utf8')) as BackupFile;
      writeFileSync(tampered, JSON.stringify({ ...json, createdAt: new Date(0).toISOString() }));
      await rejectsWith(fresh.backup.restore.restore(tampered, eddsaKeyset, two, request.id), 'BACKUP_BAD_SIGNATURE');

      await approve(fresh, request.id, [GUARDIANS[1]!]);
      const single = await rejectsWith(fresh.backup.restore.restore(files[eddsaKeyset]!, eddsaKeyset, two, request.id), 'QUORUM_NOT_MET');
      assert.match(single.message, /1 of 2/);

      const shortLived = await ask(eddsaKeyset, 5);
      await approve(fresh, shortLived.id, [GUARDIANS[0]!, GUARDIANS[2]!]);
      node.setOffset(6 * 60_000);
      const expired = await rejectsWith(fresh.backup.restore.restore(files[eddsaKeyset]!, eddsaKeyset, two, shortLived.id), 'APPROVAL_EXPIRED');
      assert.match(expired.message, /expired \d+ min ago/);
      node.setOffset(0);

      // An approval for the ECDSA backup does not restore the EdDSA one.
      const other = await ask(otherKeyset);
      await approve(fresh, other.id, [GUARDIANS[0]!, GUARDIANS[1]!]);
      await rejectsWith(fresh.backup.restore.restore(files[eddsaKeyset]!, eddsaKeyset, two, other.id), 'GUARD_PAYLOAD_MISMATCH');

      // Approved, but one guardian typed a wrong backup passphrase: the approval stays unused.
      await rejectsWith(fresh.backup.restore.restore(files[otherKeyset]!, otherKeyset, [two[0]!, { ...two[1]!, passphrase: 'wrong backup passphrase here' }], other.id), 'BACKUP_GUARDIAN_UNLOCK');
      assert.equal(fresh.guardians.view(other.id).status, 'pending');

      // Another node never takes this node's share.
      await rejectsWith(nodes[1]!.services.backup.restore.requestRestore(files[eddsaKeyset]!, eddsaKeyset, 'wrong machine', REQUESTER, 60), 'BACKUP_WRONG_NODE');

      // Everything checks out and two guardians approved, but the share cannot prove itself (no
      // coordinator, as when the peers reject a dead share): it is taken out again.
      fresh.cluster.stop();
      const proofless = await ask(eddsaKeyset);
      await approve(fresh, proofless.id, [GUARDIANS[0]!, GUARDIANS[1]!]);
      const unproven = await rejectsWith(fresh.backup.restore.restore(files[eddsaKeyset]!, eddsaKeyset, two, proofless.id), 'BACKUP_RESTORE_PROOF_FAILED');
      assert.match(unproven.message, /taken out again/);
      assert.match(unproven.message, /approval was not used/);
      // The approval is not spent by a share that never proved itself: the restore below retries with it.
      assert.equal(fresh.guardians.view(proofless.id).status, 'pending');
      retryRequestId = proofless.id;
      await fresh.cluster.connect(coordinator.url);

      // As a job, cancelled (or ended by a lock) while the backup is opened: stopped before writing, the approval unused.
      for (const stop of ['cancel', 'lock'] as const) {
        const job = fresh.jobs.start(restoreJob(fresh.backup.restore, files[eddsaKeyset]!, eddsaKeyset, two, retryRequestId));
        if (stop === 'cancel') fresh.jobs.cancel(job.id);
        else await fresh.jobs.cancelForLock();
        await fresh.jobs.settled();
        assert.equal(fresh.jobs.list().find((j) => j.id === job.id)?.state, stop === 'cancel' ? 'cancelled' : 'failed');
        const failed = fresh.audit.list({ type: 'SHARE_RESTORE_FAILED' }).entries[0]!.details as { code: string; stage: string };
        assert.deepEqual(failed, { ...failed, code: 'JOB_CANCELLED', stage: 'checks' });
      }
      assert.equal(fresh.guardians.view(retryRequestId).status, 'pending');

      // The console stops while the restored share proves itself (the proof never returns). After
      // the restart the job is listed as interrupted and the unproven share is taken out again.
      const keyCheck = fresh.cluster.keyCheck;
      let endProof: (e: Error) => void = () => undefined;
      fresh.cluster.keyCheck = () => new Promise((_, reject) => (endProof = reject));
      try {
        const job = fresh.jobs.start(restoreJob(fresh.backup.restore, files[eddsaKeyset]!, eddsaKeyset, two, retryRequestId));
        await until(() => fresh.cluster.keyset(eddsaKeyset) !== null, 30_000);
        // What the next start does, on the same database.
        const restarted = new JobService({ clock: fresh.clock, audit: fresh.audit, vault: fresh.vault, db: fresh.db }).list().find((j) => j.id === job.id)!;
        assert.equal(restarted.error?.code, 'JOB_INTERRUPTED');
        assert.match(restarted.error!.message, /interrupted: the console stopped during share restore/);
        assert.deepEqual(fresh.backup.restore.recoverUnproven(), [eddsaKeyset]);
        assert.equal(fresh.cluster.keyset(eddsaKeyset), null);
        assert.equal(fresh.vault.records.get(SHARE_RECORD.type, eddsaKeyset), null);
        const audited = fresh.audit.list({ type: 'SHARE_RESTORE_FAILED' }).entries[0]!.details;
        assert.deepEqual([audited.code, audited.stage, audited.approval], ['JOB_INTERRUPTED', 'interrupted', 'unused']);
        assert.deepEqual(fresh.backup.restore.recoverUnproven(), [], 'a proved or removed share is left alone');
      } finally {
        endProof(new Error('the stopped console never finished this proof'));
        fresh.cluster.keyCheck = keyCheck;
        await fresh.jobs.settled();
      }
      assert.equal(fresh.guardians.view(retryRequestId).status, 'pending');

      assert.equal(fresh.cluster.keysets().length, 0, 'nothing was installed');
      assert.equal(fresh.vault.records.get(SHARE_RECORD.type, eddsaKeyset), null);
      assert.ok(fresh.audit.list({ type: 'SHARE_RESTORE_FAILED' }).total >= 2);
    });

    it('restores both keysets with two guardians, proves each with a 2-of-3 signature including A, then signs again', async () => {
      for (const keysetId of [eddsaKeyset, otherKeyset]) {
        const file = parseBackupFile(readFileSync(files[keysetId]!, 'utf8'));
        // The EdDSA keyset retries with the approval its failed proof left unused.
        const pending = keysetId === eddsaKeyset ? { id: retryRequestId } : fresh.guardians.listRequests().pending.find((r) => r.operation === 'share.restore' && r.subject === keysetId && r.status === 'pending' && r.approvalsCounted === 2);
        const requestId = pending?.id ?? (await ask(keysetId)).id;
        if (!pending) await approve(fresh, requestId, [GUARDIANS[0]!, GUARDIANS[2]!]);
        // The screen names guardians by their ids on this vault (enrolled anew); the file by its own.
        const here = new Map(fresh.guardians.registry().guardians.map((g) => [g.name, g.id]));
        const guardians = keysetId === eddsaKeyset ? unlock(['Lena', 'Sofia'], file) : unlock(['Lena', 'Sofia'], file).map((u, i) => ({ ...u, guardianId: here.get(['Lena', 'Sofia'][i]!)! }));
        assert.ok(keysetId === eddsaKeyset || guardians.every((g) => !file.guardians.some((p) => p.guardianId === g.guardianId)), 'new ids on the fresh vault');
        if (keysetId === eddsaKeyset) {
          // As a job: once the share is being written and proved, neither a cancel nor a lock stops it.
          const job = fresh.jobs.start(restoreJob(fresh.backup.restore, files[keysetId]!, keysetId, guardians, requestId));
          await until(() => fresh.jobs.list().find((j) => j.id === job.id)?.cancelBlocked != null, 30_000);
          const refused = (() => {
            try {
              fresh.jobs.cancel(job.id);
            } catch (e) {
              return e;
            }
            return null;
          })();
          assert.ok(isAppFailure(refused) && refused.code === 'JOB_NOT_CANCELLABLE', String(refused));
          assert.match(refused.message, /cannot be cancelled at this step: the restore is writing the share and then proves it with the other nodes/);
          await fresh.jobs.cancelForLock(0);
          await fresh.jobs.settled();
          const ended = fresh.jobs.list().find((j) => j.id === job.id)!;
          assert.equal(ended.state, 'succeeded', JSON.stringify(ended.error));
          assert.match(ended.result!.summary, new RegExp(`^Restored keyset ${keysetId} \\(${file.keyset.address}\\); the key check signed with 2 nodes`));
        } else {
          const out = await fresh.backup.restore.restore(files[keysetId]!, keysetId, guardians, requestId);
          assert.equal(out.address, file.keyset.address);
          assert.ok(out.proofParties.includes(oldNodeId()), 'A took part in the proof');
          assert.equal(out.proofParties.length, 2);
        }
        assert.equal(fresh.cluster.keyset(keysetId)?.status, 'active');
        assert.equal(fresh.cluster.keyset(keysetId)?.address, nodes[1]!.services.cluster.keyset(keysetId)?.address);
        assert.equal(fresh.guardians.view(requestId).status, 'executed');
        // Signing 2-of-3 with the restored A, requested by a peer and preferring A.
        const again = await nodes[1]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [oldNodeId()] });
        assert.ok(again.parties.includes(oldNodeId()));
        // The restored share is listed as the current one: the old backup is current again.
        assert.equal(fresh.backup.backups.currentEpoch(keysetId), file.share.epoch);
        // A second restore never overwrites the share now held.
        await rejectsWith(ask(keysetId), 'BACKUP_KEYSET_EXISTS');
      }
      const restored = fresh.audit.list({ type: 'SHARE_RESTORED' }).entries.filter((e) => e.details.stage === 'proved');
      assert.equal(restored.length, 2);
      // Proved shares stay at the next start.
      assert.deepEqual(fresh.backup.restore.recoverUnproven(), []);
      assert.equal(fresh.cluster.keysets().length, 2);
    });
  });
});
