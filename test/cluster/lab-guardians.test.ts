/**
 * The lab after a guardian replacement at the console: its nodes, set up with the first three
 * guardians, follow the replacement at the next lab start (each node checks the two approvals
 * itself), so a refresh approved by the new guardian and an old one is admitted there.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../../main/store/database';
import { createServices, type Services } from '../../main/services';
import { approve, enrolGuardians, makeGuardians, REQUESTER, type Guardian } from './backup-support';
import { softwareKey } from '../support/guardians';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { killLeftovers } from '../support/processes';
import { tempDir } from '../support/temp-dir';

describe('lab nodes follow a guardian replacement made at the console', { timeout: 300_000 }, () => {
  const dir = tempDir('vk-lab-guardians-');
  let s: Services;
  let guardians: Guardian[] = [];
  let pids: number[] = [];
  const labGuardians = (name: string): Array<{ name: string; address: string; status: string }> => {
    const db = new Database(join(dir.path, 'data', 'lab', name, DATABASE_FILE), { readonly: true });
    try {
      return db.prepare('SELECT name, address, status FROM guardians ORDER BY slot, enrolled_at').all() as Array<{ name: string; address: string; status: string }>;
    } finally {
      db.close();
    }
  };

  before(async () => {
    s = createServices({ dataDir: join(dir.path, 'data'), kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, idleTimeoutSeconds: 3600, lab: { kdfTestCost: true }, cluster: { stateDir: join(dir.path, 'state') } });
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    guardians = await makeGuardians();
  });
  after(async () => {
    pids = [...new Set([...pids, ...(s?.lab.status().pids ?? [])])];
    await s?.close();
    killLeftovers(pids);
    dir.cleanup();
  });

  it('a lab restart hands the new registry file; each node applies the replacement, and a refresh approved by the new guardian and an old one runs', async () => {
    const ids = await enrolGuardians(s, guardians);
    await s.lab.start();
    pids.push(...s.lab.status().pids);
    await s.lab.stop();
    for (const name of ['lab-node-b', 'lab-node-c']) assert.deepEqual(labGuardians(name).map((g) => g.name), ['Lena', 'Sam', 'Sofia']);

    const [lena, sam] = guardians as [Guardian, Guardian, Guardian];
    const nora = await softwareKey('nora willow granite beacon 23');
    const request = await s.guardians.requestReplacement(ids.get('Sofia')!, { method: 'software', name: 'Nora', keyFile: nora.keyFile, passphrase: 'nora willow granite beacon 23' }, REQUESTER, 60);
    await approve(s, request.id, [lena, sam]);
    s.guardians.executeReplacement(request.id);

    await s.lab.start();
    pids.push(...s.lab.status().pids);
    const current = s.guardians.registry().guardians.map((g) => g.address);
    for (const name of ['lab-node-b', 'lab-node-c']) {
      const rows = labGuardians(name);
      assert.deepEqual(rows.filter((g) => g.status === 'active').map((g) => g.address), current, name);
      assert.deepEqual(rows.filter((g) => g.status === 'replaced').map((g) => g.name), ['Sofia'], name);
    }

    // A refresh approved by Nora (new) and Sam (old) is admitted by both lab nodes and runs.
    s.cluster.openKeygenWindow(30);
    const keyset = await s.cluster.createKeyset('eddsa');
    const refresh = await s.refresh.requestApproval(keyset.keysetId, { reason: 'after the guardian replacement', requester: REQUESTER, ttlMinutes: 60 });
    await s.guardians.signWithKeyFile(refresh.id, nora.keyFile, 'nora willow granite beacon 23', 'approve');
    await approve(s, refresh.id, [sam]);
    const outcome = await s.refresh.run(keyset.keysetId, refresh.id);
    assert.equal(outcome.toEpoch, outcome.fromEpoch + 1);
    assert.deepEqual([...outcome.approvers].sort(), ['Nora', 'Sam']);
    await s.lab.stop();
  });
});
