/**
 * The Emergency exit screen in Chromium against the real services: this console is one node of a
 * loopback cluster with an EdDSA keyset; backups of the console and of node B, a guardian request
 * approved by two guardians, then the operator opens both backups with two guardians each, types a
 * new passphrase twice and writes the keystore. The warning shows before and after, and the
 * keyset is marked exported on the Keysets screen.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Coordinator } from '../../main/coordinator/server';
import { approve, backupPassphrases, enrolGuardians, makeGuardians, type Guardian } from '../cluster/backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from '../cluster/support';
import { AllowlistAuthorizer } from '../support/authorizer';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';
const KEYSTORE_PASSPHRASE = 'harbor quartz exit keystore 64';

describe('emergency exit screen in the browser', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let coordinator: Coordinator;
  let peers: TestNode[] = [];
  let guardians: Guardian[] = [];
  const stateDir = tempDir('vk-e2e-state-');
  const medium = tempDir('vk-e2e-medium-');
  const out = tempDir('vk-e2e-exit-');

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name: 'console', stateDir: stateDir.path, authorizer: () => new AllowlistAuthorizer() } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    guardians = await makeGuardians();
  });

  after(async () => {
    await browser?.close();
    for (const p of peers) await stopNode(p).catch(() => undefined);
    await coordinator?.close();
    await harness?.stop();
    stateDir.cleanup();
    medium.cleanup();
    out.cleanup();
  });

  it('writes the keystore after the guardians approve; warns before and after; the keyset shows EXPORTED', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    const s = harness.services;
    await s.cluster.identity();
    s.cluster.openKeygenWindow(30);
    coordinator = await startCoordinator();
    peers = [await startNode('node-b'), await startNode('node-c')];
    await enrolAll([{ name: 'console', services: s, dir: stateDir, stateDir, authorizer: null }, ...peers]);
    for (const n of [s, ...peers.map((p) => p.services)]) await n.cluster.connect(coordinator.url);
    const keyset = await s.cluster.createKeyset('eddsa');
    await until(() => peers.every((p) => p.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
    const files: string[] = [];
    for (const n of [s, peers[0]!.services]) {
      const ids = await enrolGuardians(n, guardians);
      files.push((await n.backup.backups.create(keyset.keysetId, medium.path, backupPassphrases(guardians, ids))).filePath);
    }

    await page.getByRole('button', { name: 'Emergency exit' }).click();
    await page.getByRole('heading', { name: 'Emergency exit' }).waitFor();
    await page.getByTestId('exit-warning-before').getByText('controls the funds alone').waitFor();
    assert.equal(await page.getByTestId('exit-attempts-left').textContent(), '3 left now');
    await page.getByLabel('Keyset', { exact: true }).selectOption(keyset.keysetId);
    await page.getByLabel('Backup 1 (full path; a backup of one node)').fill(files[0]!);
    await page.getByLabel('Backup 2 (full path; a backup of another node)').fill(files[1]!);
    await page.getByRole('button', { name: 'Check the backups (no secret is opened)' }).click();
    await page.getByTestId('exit-check').waitFor();

    // The guardians approve on their own devices; the operator pastes the request id.
    const request = await s.exit.requestExit(keyset.keysetId, files, 'the cluster cannot be kept running', { as: 'operator', vaultPassphrase: PASSPHRASE }, 60);
    await approve(s, request.id, [guardians[0]!, guardians[2]!]);
    await page.getByLabel('Approved request id').fill(request.id);
    const pick = async (backup: number, slot: number, name: string, passphrase: string) => {
      await page.locator(`#exit-b${backup}-g${slot}`).selectOption({ label: name });
      await page.locator(`#exit-b${backup}-p${slot}`).fill(passphrase);
    };
    for (const b of [0, 1]) {
      await pick(b, 0, 'Lena', guardians[0]!.backupPassphrase);
      await pick(b, 1, 'Sam', guardians[1]!.backupPassphrase);
    }
    await page.getByLabel('New passphrase for the keystore').fill(KEYSTORE_PASSPHRASE);
    await page.getByLabel('The same passphrase again').fill(`${KEYSTORE_PASSPHRASE}!`);
    await page.getByLabel('Folder on an offline medium (full path)').fill(out.path);
    const button = page.getByRole('button', { name: 'Rebuild the key and write the keystore' });
    assert.ok(await button.isDisabled(), 'disabled until the warning is acknowledged');
    await page.getByTestId('exit-understood').check();
    await button.click();
    // A mistyped confirmation is refused next to the action; the passphrases are cleared.
    const error = page.locator('#exit-export-title ~ [role=alert]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-error-code'), 'EXIT_PASSPHRASE_MISMATCH');
    assert.equal(s.exit.records.exports().length, 0);

    for (const b of [0, 1]) {
      await pick(b, 0, 'Lena', guardians[0]!.backupPassphrase);
      await pick(b, 1, 'Sam', guardians[1]!.backupPassphrase);
    }
    await page.getByLabel('New passphrase for the keystore').fill(KEYSTORE_PASSPHRASE);
    await page.getByLabel('The same passphrase again').fill(KEYSTORE_PASSPHRASE);
    await button.click();
    const warning = page.getByTestId('exit-warning-after');
    await warning.waitFor({ timeout: 60_000 });
    await warning.getByText('single point of failure').waitFor();
    await page.getByTestId('exit-exports').getByText(keyset.keysetId).waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'exit-written.png'), fullPage: true });
    const outcome = s.exit.records.exports()[0]!;
    assert.ok(existsSync(join(out.path, outcome.fileName)));

    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByTestId('keyset-exported-mark').getByText('single point of failure').waitFor();
  });
});
