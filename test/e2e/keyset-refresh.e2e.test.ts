/**
 * The share-refresh panel of the Keysets screen in Chromium against the real services (lab
 * cluster): a new keyset shows share epoch 0 and its refresh due date; asking the guardians for a
 * refresh with no guardians enrolled shows the refusal next to the action.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('share refresh on the Keysets screen', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, lab: { kdfTestCost: true } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    const pids = harness?.services.lab.status().pids ?? [];
    await harness?.stop();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('shows the epoch and schedule, and a refused guardian request next to the action', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByRole('button', { name: 'Start lab cluster' }).click();
    await page.getByTestId('lab-banner').waitFor({ timeout: 90_000 });
    await page.getByTestId('cluster-node').nth(2).waitFor();
    await page.getByRole('button', { name: 'Create EdDSA keyset (Solana)' }).click();
    const panel = page.getByTestId('keyset-refresh').first();
    await panel.waitFor({ timeout: 60_000 });
    assert.match((await panel.getByTestId('refresh-epoch').textContent()) ?? '', /^0 \(never refreshed\)/);
    assert.match((await panel.textContent()) ?? '', /Refresh due in 29 days/);
    await panel.getByTestId('refresh-open').click();
    await panel.getByLabel('Why (guardians see this)').fill('quarterly refresh');
    await panel.getByLabel("Operator's vault passphrase").fill(PASSPHRASE);
    await panel.getByTestId('refresh-request').click();
    const alert = panel.getByRole('alert');
    await alert.waitFor({ timeout: 10_000 });
    assert.ok(((await alert.getAttribute('data-error-code')) ?? '').length > 0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'keyset-refresh-panel.png'), fullPage: true });
  });
});
