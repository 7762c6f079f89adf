/**
 * The Backups screen in Chromium against the real services: this console is one node of a
 * loopback cluster with an EdDSA keyset; the operator writes a backup with the three guardians'
 * backup passphrases, verifies it without secrets, then fully with two guardians.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Coordinator } from '../../main/coordinator/server';
import { enrolGuardians, makeGuardians, type Guardian } from '../cluster/backup-support';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from '../cluster/support';
import { AllowlistAuthorizer } from '../support/authorizer';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('backups screen in the browser', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let coordinator: Coordinator;
  let peers: TestNode[] = [];
  let guardians: Guardian[] = [];
  const stateDir = tempDir('vk-e2e-state-');
  const medium = tempDir('vk-e2e-medium-');

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
  });

  it('writes a backup and verifies it, publicly and with two guardians', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);

    // The cluster and the guardians, set up behind the screen.
    const s = harness.services;
    await s.cluster.identity();
    s.cluster.openKeygenWindow(30);
    coordinator = await startCoordinator();
    peers = [await startNode('node-b'), await startNode('node-c')];
    await enrolAll([{ name: 'console', services: s, dir: stateDir, stateDir, authorizer: null }, ...peers]);
    for (const n of [s, ...peers.map((p) => p.services)]) await n.cluster.connect(coordinator.url);
    const keyset = await s.cluster.createKeyset('eddsa');
    await until(() => peers.every((p) => p.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
    await enrolGuardians(s, guardians);

    await page.getByRole('button', { name: 'Backups' }).click();
    await page.getByRole('heading', { name: "Backups of this node's shares" }).waitFor();
    const keysets = page.getByTestId('backup-keysets');
    await keysets.getByText('NO CURRENT BACKUP').waitFor();

    await page.getByLabel('Keyset', { exact: true }).selectOption(keyset.keysetId);
    await page.getByLabel('Folder on the backup medium (full path)').fill(medium.path);
    for (const g of guardians) await page.getByLabel(`${g.name}: new backup passphrase (only ${g.name} types and keeps it)`).fill(g.backupPassphrase);
    await page.getByRole('button', { name: 'Write the backup' }).click();
    await page.getByTestId('backup-created').waitFor();
    const row = page.getByTestId('backup-list').locator('tbody tr');
    assert.equal(await row.count(), 1);
    assert.equal(await row.first().getAttribute('data-status'), 'current');
    await keysets.getByText('yes').waitFor();

    await page.getByRole('button', { name: 'Verify without secrets' }).click();
    const result = page.getByTestId('backup-verification');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'true');
    assert.equal(await result.getAttribute('data-depth'), 'public');

    await page.getByLabel('Guardian 1', { exact: true }).first().selectOption({ label: 'Lena' });
    await page.getByLabel('Backup passphrase of guardian 1').first().fill(guardians[0]!.backupPassphrase);
    await page.getByLabel('Guardian 2', { exact: true }).first().selectOption({ label: 'Sofia' });
    await page.getByLabel('Backup passphrase of guardian 2').first().fill(guardians[2]!.backupPassphrase);
    await page.getByRole('button', { name: 'Open, check and wipe' }).click();
    await page.locator('[data-testid=backup-verification][data-depth=full]').waitFor();
    assert.equal(await page.getByTestId('backup-verification').getAttribute('data-ok'), 'true');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'backups-verified.png'), fullPage: true });
    assert.equal(s.audit.list({ type: 'SHARE_BACKUP_VERIFIED' }).total, 1);

    // A wrong backup passphrase is refused next to the action, naming the guardian.
    await page.getByLabel('Guardian 1', { exact: true }).first().selectOption({ label: 'Lena' });
    await page.getByLabel('Backup passphrase of guardian 1').first().fill('not lenas backup passphrase');
    await page.getByLabel('Guardian 2', { exact: true }).first().selectOption({ label: 'Sam' });
    await page.getByLabel('Backup passphrase of guardian 2').first().fill(guardians[1]!.backupPassphrase);
    await page.getByRole('button', { name: 'Open, check and wipe' }).click();
    const error = page.locator('#backup-verify-title ~ [role=alert]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-error-code'), 'BACKUP_GUARDIAN_UNLOCK');

    // A replacement machine: its first screen makes a vault from the backup, with two guardians.
    const file = await page.getByLabel('Backup file (full path)').inputValue();
    const replacement = await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name: 'console', stateDir: stateDir.path } });
    try {
      const second = await browser.newPage();
      second.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
      await second.goto(replacement.host.url);
      await second.getByRole('heading', { name: 'Or: restore this node from a share backup' }).waitFor();
      await second.getByLabel('Backup file (full path)').fill(file);
      await second.getByRole('button', { name: 'Read the backup' }).click();
      await second.getByTestId('backup-inspection').waitFor();
      const options = (i: number) => second.locator(`#restore-vault-g${i} option`);
      const byName = async (i: number, name: string) => (await options(i).filter({ hasText: name }).getAttribute('value'))!;
      await second.getByLabel('Guardian 1', { exact: true }).selectOption(await byName(0, 'Sam'));
      await second.getByLabel('Backup passphrase of guardian 1').fill(guardians[1]!.backupPassphrase);
      await second.getByLabel('Guardian 2', { exact: true }).selectOption(await byName(1, 'Sofia'));
      await second.getByLabel('Backup passphrase of guardian 2').fill(guardians[2]!.backupPassphrase);
      await second.getByLabel('New vault passphrase', { exact: true }).fill(PASSPHRASE);
      await second.getByLabel('New vault passphrase again').fill(PASSPHRASE);
      await second.screenshot({ path: join(SCREENSHOT_DIR, 'backups-restore-vault.png'), fullPage: true });
      await second.getByRole('button', { name: 'Create the vault from this backup' }).click();
      await second.getByRole('heading', { name: 'This console' }).waitFor({ timeout: 15_000 });
      assert.equal(replacement.services.vault.nodeId(), s.vault.nodeId(), 'the replacement is the same node');
      assert.equal(replacement.services.cluster.keysets().length, 0, 'the share waits for the guarded restore');
    } finally {
      await replacement.stop();
    }
  });
});
