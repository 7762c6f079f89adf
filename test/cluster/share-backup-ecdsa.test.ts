/**
 * The ECDSA round trip (test-only Paillier primes): back up node A's share, destroy A's data
 * folder, restore A with two guardians, sign 2-of-3 including A. The attacks on backup files and
 * on the restore are in share-backup.test.ts (the same code for both schemes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseBackupFile } from '../../main/backup/backup-format';
import type { Coordinator } from '../../main/coordinator/server';
import { signatureMatchesKeyset } from '../../main/cluster/signature-check';
import { tempDir } from '../support/temp-dir';
import { approve, backupPassphrases, destroyAndStartFresh, enrolGuardians, makeGuardians, rejoin, unlock, type FreshNode, type Guardian } from './backup-support';
import { startPrimedTrio, until, type TestNode, type TestTrio } from './support';

describe('ECDSA share: backup, lost data folder, guarded restore, 2-of-3 signing with the restored node', { timeout: 600_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let trio: TestTrio | undefined;
  let guardians: Guardian[] = [];
  let fresh: FreshNode | null = null;
  const media = tempDir('vk-backup-medium-');

  before(async () => {
    guardians = await makeGuardians();
    trio = await startPrimedTrio();
    ({ coordinator, nodes } = trio);
  });
  after(async () => {
    await fresh?.cleanup();
    await trio?.stop();
    media.cleanup();
  });

  it('restores A from its backup and signs with it; the address is unchanged', async () => {
    const a = nodes[0]!.services;
    const ids = await enrolGuardians(a, guardians);
    const keyset = await a.cluster.createKeyset('ecdsa', { timeoutMs: 300_000 });
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 30_000);
    const backup = await a.backup.backups.create(keyset.keysetId, media.path, backupPassphrases(guardians, ids));
    const file = parseBackupFile(readFileSync(backup.filePath, 'utf8'));
    assert.equal(file.keyset.scheme, 'ecdsa');
    assert.equal(file.keyset.address, keyset.address);
    const nodeA = file.node.nodeId;

    fresh = await destroyAndStartFresh(nodes[0]!);
    const s = fresh.services;
    await s.backup.restore.createVaultFromBackup(backup.filePath, unlock(guardians, ['Sam', 'Sofia'], file), 'restored vault passphrase for node a', 'restored vault passphrase for node a');
    await s.vault.lock();
    await s.vault.unlock('restored vault passphrase for node a');
    await rejoin(s, guardians, [nodes[1]!, nodes[2]!], coordinator.url);
    const request = await s.backup.restore.requestRestore(backup.filePath, keyset.keysetId, 'node A lost its disk', { as: 'operator', vaultPassphrase: 'restored vault passphrase for node a' }, 60);
    await approve(s, request.id, [guardians[0]!, guardians[1]!]);
    const out = await s.backup.restore.restore(backup.filePath, keyset.keysetId, unlock(guardians, ['Lena', 'Sam'], file), request.id);
    assert.ok(out.proofParties.includes(nodeA));
    assert.equal(s.cluster.keyset(keyset.keysetId)?.address, keyset.address);

    // Requested by the restored node, with C: the signature verifies under the unchanged key.
    const signed = await s.cluster.keyCheck(keyset.keysetId, 'key-check', { prefer: [nodeA, (await nodes[2]!.services.cluster.identity()).nodeId] });
    assert.ok(signed.parties.includes(nodeA));
    assert.ok(signatureMatchesKeyset(keyset, Buffer.from(signed.message, 'hex'), { signature: signed.signature, recoveryId: signed.recoveryId }));
  });
});
