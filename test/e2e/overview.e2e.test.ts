/**
 * The Overview as the place to start, on a new vault, mid-setup and set up: each item says its
 * state and links to its screen; the first-run checklist follows the set-up. Screenshots of the
 * three stages are saved under test-results/e2e.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { enrolThree, TEST_KEY_FILE_N, type GuardianFixture } from '../support/guardians';
import { startTestHost } from '../support/host';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { killLeftovers } from '../support/processes';

describe('the Overview in the browser', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let pids: number[] = [];
  const backupDir = tempDir('vk-overview-backup-');
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  const tone = (id: string) => page.getByTestId(`overview-${id}`).getAttribute('data-tone');
  const step = (id: string) => page.getByTestId(`checklist-${id}`).getAttribute('data-done');
  const refreshOverview = async () => {
    await page.getByRole('button', { name: 'Audit log' }).click();
    await page.getByRole('button', { name: 'Overview' }).click();
    await page.getByTestId('checklist').waitFor();
  };

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, lab: { kdfTestCost: true }, ledgerTransport: emulatorTransport(new LedgerEthEmulator()), keyFileScryptN: TEST_KEY_FILE_N });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    pids = [...new Set([...pids, ...(harness?.services.lab.status().pids ?? [])])];
    await harness?.stop();
    backupDir.cleanup();
    killLeftovers(pids);
  });

  it('a new vault: the checklist leads, nothing is set up, each item links to its screen', async () => {
    await page.goto(harness.host.url);
    await page.getByRole('heading', { name: 'Create the vault' }).waitFor();
    await page.getByLabel('Vault passphrase').fill(GOOD_PASSPHRASE);
    await page.getByLabel('Type it again').fill(GOOD_PASSPHRASE);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByTestId('checklist').waitFor({ timeout: 15_000 });
    assert.equal(await page.getByRole('heading', { name: 'First steps: 0 of 6 done' }).count(), 1);
    assert.equal(await step('drill'), 'false', 'no drill has passed yet');
    assert.equal(await step('guardians'), 'false');
    assert.equal(await tone('guardians'), 'idle');
    assert.match((await page.getByTestId('overview-guardians').textContent()) ?? '', /0 of 3 enrolled/);
    assert.match((await page.getByTestId('checklist-backups').textContent()) ?? '', /Create a keyset first/);
    assert.equal(await tone('backups'), 'idle');
    await shot('overview-01-new-vault');
    // The guardians item opens the Guardians screen.
    await page.getByTestId('overview-guardians').getByRole('link').click();
    await page.getByRole('button', { name: 'Guardians', exact: true }).and(page.locator('[aria-current="page"]')).waitFor();
    await page.getByRole('button', { name: 'Overview' }).click();
  });

  it('mid-setup: guardians enrolled and a request pending with its time left', async () => {
    const { lena } = await enrolThree({ services: harness.services } as GuardianFixture);
    void lena;
    const { guardians, vault } = harness.services;
    await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: { reason: 'rotation' }, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
    });
    await refreshOverview();
    assert.equal(await step('guardians'), 'true');
    assert.equal(await tone('guardians'), 'ok');
    assert.equal(await tone('approvals'), 'attention');
    assert.match((await page.getByTestId('overview-approvals').textContent()) ?? '', /1 waiting for guardians; the first expires in (59 min|1 h)/);
    assert.match((await page.getByTestId('overview-guardians').textContent()) ?? '', /Lena \(Ledger\) — has not signed anything here yet/);
    await shot('overview-02-mid-setup');
  });

  it('set up: cluster, keyset, verified and exported audit log', async () => {
    await page.getByRole('navigation').getByRole('button', { name: 'Keysets' }).click();
    await page.getByRole('button', { name: 'Start lab cluster' }).click();
    await page.getByTestId('lab-banner').waitFor({ timeout: 90_000 });
    pids = harness.services.lab.status().pids;
    await page.getByTestId('cluster-node').nth(2).waitFor();
    await page.getByRole('button', { name: 'Create EdDSA keyset (Solana)' }).click();
    await page.locator('[data-testid="job"][data-job-state="succeeded"]').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Audit log' }).click();
    await page.getByRole('button', { name: /Verify/ }).first().click();
    await page.getByRole('button', { name: /Export/ }).first().click();
    await page.getByText(/Exported \d+ rows/).waitFor();
    await page.getByRole('button', { name: 'Overview' }).click();
    await page.getByTestId('checklist').waitFor();
    for (const id of ['guardians', 'cluster', 'keyset']) assert.equal(await step(id), 'true', id);
    // The new keyset's share has no backup yet: the overview says so and leads to Backups.
    assert.equal(await step('backups'), 'false');
    assert.equal(await tone('backups'), 'attention');
    assert.match((await page.getByTestId('overview-backups').textContent()) ?? '', /1 of 1 keyset share\(s\) without a current backup/);
    const { backup, guardians } = harness.services;
    const [keyset] = harness.services.cluster.keysets();
    const parts = guardians.registry().guardians.map((g, i) => ({ guardianId: g.id, passphrase: `${['amber', 'cobalt', 'saffron'][i]} lantern orchard ${i} drifts quietly` }));
    await backup.backups.create(keyset!.keysetId, backupDir.path, parts);
    await refreshOverview();
    assert.equal(await step('backups'), 'true');
    assert.equal(await tone('backups'), 'ok');
    assert.match((await page.getByTestId('overview-backups').textContent()) ?? '', /Every share \(1\) has a current backup/);
    assert.equal(await tone('keysets'), 'ok');
    assert.match((await page.getByTestId('overview-keysets').textContent()) ?? '', /Solana [1-9A-HJ-NP-Za-km-z]{32,44} — 2-of-3, lab, active/);
    assert.match((await page.getByTestId('overview-audit').textContent()) ?? '', /Chain verified .* rows intact/);
    assert.match((await page.getByTestId('overview-audit').textContent()) ?? '', /head hash [0-9a-f]{64}/);
    await shot('overview-03-set-up');
  });
});
