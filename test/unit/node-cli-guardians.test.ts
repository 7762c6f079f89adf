/**
 * `npm run node -- --guardians FILE` on a signer node that already has guardians, in a child
 * process: a newer console file is followed and each replacement printed; an older one naming a
 * replaced guardian stops the node with GUARDIANS-REFUSED (exit code 2) and changes nothing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../../main/services';
import { enrolThree, guardianFixture, softwareKey, type GuardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const CLI = join(import.meta.dirname, '..', '..', 'main', 'node', 'cli.ts');
const NORA_PASS = 'nora willow granite beacon 23';

describe('node command line: --guardians on a node that has guardians', { timeout: 120_000 }, () => {
  const dir = tempDir('vk-node-guardians-');
  const dataDir = join(dir.path, 'data');
  const oldFile = join(dir.path, 'guardians-old.json');
  const newFile = join(dir.path, 'guardians-new.json');
  let consoleF: GuardianFixture;
  let noraAddress = '';
  const args = (file: string) => ['--import', 'tsx', CLI, '--data', dataDir, '--name', 'node-g', '--guardians', file, '--state-dir', join(dir.path, 'state')];
  const env = { ...process.env, VAULTKEEPER_NODE_PASSPHRASE: GOOD_PASSPHRASE };
  const guardiansOfNode = async (): Promise<string[]> => {
    const services = createServices({ dataDir, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0 });
    try {
      await services.vault.unlock(GOOD_PASSPHRASE);
      return services.guardians.registry().guardians.map((g) => g.name);
    } finally {
      await services.close();
    }
  };

  before(async () => {
    consoleF = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(consoleF);
    const { guardians } = consoleF.services;
    writeFileSync(oldFile, guardians.registryFileJson());
    const nora = await softwareKey(NORA_PASS);
    noraAddress = nora.wallet.address;
    const request = await guardians.requestReplacement(sam.view.id, { method: 'software', name: 'Nora', keyFile: nora.keyFile, passphrase: NORA_PASS }, { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, 60);
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sofia.keyFile, sofia.passphrase, 'approve');
    guardians.executeReplacement(request.id);
    writeFileSync(newFile, guardians.registryFileJson());

    // The node was set up earlier with the console's first three guardians.
    const services = createServices({ dataDir, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0 });
    await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    services.guardians.adoptRegistryFile(readFileSync(oldFile, 'utf8'), oldFile);
    await services.close();
  });
  after(async () => {
    await consoleF.cleanup();
    dir.cleanup();
  });

  it('follows the newer file at start and prints each replacement', async () => {
    const child = spawn(process.execPath, args(newFile), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 90_000;
    while (!/^READY /m.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await ended;
    assert.match(out, new RegExp(`^GUARDIANS replaced 1 from ${newFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), out);
    assert.match(out, new RegExp(`^GUARDIAN-REPLACED slot 2 "Sam" 0x[0-9a-fA-F]{40} -> "Nora" ${noraAddress} \\(request [0-9a-f]{8}, approved by Lena and Sofia\\)$`, 'm'), out);
    assert.deepEqual(await guardiansOfNode(), ['Lena', 'Nora', 'Sofia']);
  });

  it('an older file naming the replaced guardian: GUARDIANS-REFUSED, exit code 2, nothing changed', async () => {
    const run = spawnSync(process.execPath, args(oldFile), { env, encoding: 'utf8', timeout: 90_000 });
    assert.equal(run.status, 2, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /^vaultkeeper node: GUARDIANS-REFUSED GUARDIAN_CHAIN_ROLLBACK: .* names Sam \(0x[0-9a-fA-F]{40}\) as a guardian, but this node replaced that guardian on .*; a replaced guardian never comes back\./m);
    assert.doesNotMatch(run.stdout, /^(GUARDIANS |READY)/m);
    assert.deepEqual(await guardiansOfNode(), ['Lena', 'Nora', 'Sofia']);
  });
});
