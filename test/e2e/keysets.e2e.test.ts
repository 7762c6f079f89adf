/**
 * The real UI in Chromium against the real services: create the vault → start the lab cluster
 * (a coordinator and two signer nodes as child processes on 127.0.0.1) → create an EdDSA keyset
 * from the Keysets screen → its Solana address and QR code are shown, with the lab banner.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { isAlive, killLeftovers } from '../support/processes';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('keysets in lab mode in the browser', { timeout: 180_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let pids: number[] = [];
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, lab: { kdfTestCost: true } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    pids = [...new Set([...pids, ...(harness?.services.lab.status().pids ?? [])])];
    await harness?.stop();
    // Whatever survived a clean stop is killed here, so no child outlives the test.
    killLeftovers(pids);
  });

  it('starts the lab cluster, creates an EdDSA keyset and shows its Solana address and QR code', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);

    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByRole('heading', { name: 'Signer cluster' }).waitFor();
    assert.equal(await page.getByTestId('cluster-mode').textContent(), 'No cluster configured');
    assert.equal(await page.getByTestId('lab-banner').count(), 0);
    await page.getByRole('button', { name: 'Start lab cluster' }).click();
    await page.getByTestId('lab-banner').waitFor({ timeout: 90_000 });
    assert.equal(await page.getByTestId('lab-banner').textContent(), 'LAB MODE — test cluster on this machine, not for real funds');
    pids = harness.services.lab.status().pids;
    assert.equal(pids.length, 3, 'a coordinator and two signer nodes run as child processes');
    // The peers' vault passphrases reach them on a pipe only: never in argv or the environment.
    const secrets = ['lab-node-b', 'lab-node-c'].map((name) => harness.services.vault.records.get('lab-node-passphrase', name)?.plaintext.toString('utf8') ?? '');
    assert.ok(secrets.every((secret) => secret.length >= 32), 'each peer has a sealed random passphrase');
    for (const pid of pids) {
      const visible = readFileSync(`/proc/${pid}/cmdline`, 'utf8') + readFileSync(`/proc/${pid}/environ`, 'utf8');
      for (const secret of secrets) assert.ok(!visible.includes(secret), `process ${pid} shows no vault passphrase`);
    }
    await page.getByTestId('cluster-node').nth(2).waitFor();
    assert.equal(await page.getByTestId('cluster-node').count(), 3);

    await page.getByRole('button', { name: 'Create EdDSA keyset (Solana)' }).click();
    const address = page.getByTestId('keyset-address').first();
    await address.waitFor({ timeout: 60_000 });
    assert.match((await address.textContent()) ?? '', /^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    const qr = page.getByTestId('keyset-qr').first();
    await qr.waitFor();
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/png;base64,/);
    assert.ok(await qr.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), 'the QR image rendered under the CSP');
    assert.match((await page.getByTestId('keyset').first().textContent()) ?? '', /mpc-teddsa:\/\/lab\/ks-/);
    // A lab keyset is marked on its card and under its QR code, and the lab nodes marked theirs too.
    assert.equal(await page.getByTestId('keyset').first().getAttribute('data-lab'), 'true');
    assert.equal(await page.getByTestId('keyset-lab-mark').first().textContent(), 'LAB KEYSET — NOT FOR REAL FUNDS');
    assert.match((await page.getByTestId('keyset-qr-caption').first().textContent()) ?? '', /^LAB KEYSET — NOT FOR REAL FUNDS/);
    await page.getByTestId('cluster-session').first().waitFor();
    assert.equal(await page.getByTestId('cluster-session').first().getAttribute('data-state'), 'completed');
    // A test signature is a key check every node reads and co-signs (the lab nodes have no permit
    // verifier); the console verifies it under the keyset key before showing it.
    await page.getByRole('button', { name: 'Test signature (key check)' }).first().click();
    await page.getByTestId('key-check-result').waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('key-check-result').textContent()) ?? '', /verified under this keyset's public key/);
    // The banner stays on other screens too.
    await page.getByRole('button', { name: 'Overview' }).click();
    await page.getByTestId('lab-banner').waitFor();
    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByTestId('keyset-qr').first().waitFor();
    await shot('keysets-01-lab-eddsa-keyset');
    const audit = harness.services.audit.list().entries.map((e) => e.type);
    assert.ok(audit.includes('LAB_CLUSTER_STARTED') && audit.includes('MPC_KEYGEN_COMPLETED'));
  });

  it('locking the vault stops the lab children', async () => {
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor();
    const deadline = Date.now() + 15_000;
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(await page.getByTestId('lab-banner').count(), 0);
  });
});
