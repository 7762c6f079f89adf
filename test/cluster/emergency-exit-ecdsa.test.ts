/**
 * Emergency exit of an ECDSA keyset (test-only Paillier primes): backups of nodes B and C, the
 * guardian quorum, and an Ethereum JSON keystore that ethers decrypts to a key whose address is
 * the keyset's. The refusals are in emergency-exit.test.ts (the same code for both schemes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { parseBackupFile } from '../../main/backup/backup-format';
import { tempDir } from '../support/temp-dir';
import { approve, backupPassphrases, enrolGuardians, makeGuardians, REQUESTER, unlock, type Guardian } from './backup-support';
import { startPrimedTrio, until, type TestNode, type TestTrio } from './support';

const EXIT_PASSPHRASE = 'copper lantern exit keystore 27';

describe('emergency exit of an ECDSA keyset: an Ethereum keystore ethers opens', { timeout: 900_000 }, () => {
  let nodes: TestNode[] = [];
  let trio: TestTrio | undefined;
  let guardians: Guardian[] = [];
  const media = tempDir('vk-exit-medium-');

  before(async () => {
    guardians = await makeGuardians();
    trio = await startPrimedTrio();
    ({ nodes } = trio);
  });
  after(async () => {
    await trio?.stop();
    media.cleanup();
  });

  it('rebuilds the key from the backups of two other nodes; the keystore decrypts to the keyset address', async () => {
    const a = nodes[0]!.services;
    const keyset = await a.cluster.createKeyset('ecdsa', { timeoutMs: 300_000 });
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 30_000);
    const files: string[] = [];
    for (const n of [nodes[1]!, nodes[2]!]) {
      const ids = await enrolGuardians(n.services, guardians);
      files.push((await n.services.backup.backups.create(keyset.keysetId, media.path, backupPassphrases(guardians, ids))).filePath);
    }
    await enrolGuardians(a, guardians);
    assert.equal(a.exit.check(keyset.keysetId, files).output, 'ethereum-keystore');
    const request = await a.exit.requestExit(keyset.keysetId, files, 'the cluster cannot be kept running', REQUESTER, 60);
    await approve(a, request.id, [guardians[1]!, guardians[2]!]);
    const backups = files.map((file) => ({ file, guardians: unlock(guardians, ['Lena', 'Sofia'], parseBackupFile(readFileSync(file, 'utf8'))) }));
    const outcome = await a.exit.exportKey({ keysetId: keyset.keysetId, backups, passphrase: EXIT_PASSPHRASE, confirmation: EXIT_PASSPHRASE, folder: media.path, requestId: request.id });
    assert.equal(outcome.format, 'ethereum-keystore');
    const wallet = await Wallet.fromEncryptedJson(readFileSync(outcome.filePath, 'utf8'), EXIT_PASSPHRASE);
    assert.equal(wallet.address, keyset.address);
    await assert.rejects(Wallet.fromEncryptedJson(readFileSync(outcome.filePath, 'utf8'), 'another passphrase entirely 55'));
    assert.ok(a.exit.records.exportedKeysets().has(keyset.keysetId));
    assert.ok(!JSON.stringify(a.audit.list({}).entries).includes(wallet.privateKey.slice(2)), 'no key in the audit log');
  });
});
