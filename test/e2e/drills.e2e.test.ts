/**
 * Recovery drills in Chromium against the real services, in lab mode: run the "a signer node
 * died" drill from the Drills screen (a lab signer process is stopped, the other two sign, it is
 * brought back), see its report and the time-to-recover chart; 91 days later the Overview shows
 * the key checks overdue.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { killLeftovers } from '../support/processes';

const PASSPHRASE = 'granite lantern orchard velvet compass';
const DAY_MS = 24 * 60 * 60 * 1000;

describe('recovery drills in the browser', { timeout: 300_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let pids: number[] = [];
  let offset = 0;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, lab: { kdfTestCost: true }, clock: { now: () => Date.now() + offset } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    pids = [...new Set([...pids, ...(harness?.services.lab.status().pids ?? [])])];
    await harness?.stop();
    killLeftovers(pids);
  });

  it('runs "a signer node died" in the lab from the Drills screen and shows its report and the chart', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByRole('button', { name: 'Start lab cluster' }).click();
    await page.getByTestId('lab-banner').waitFor({ timeout: 90_000 });
    pids = harness.services.lab.status().pids;
    await page.getByTestId('cluster-node').nth(2).waitFor();
    await page.getByRole('button', { name: 'Create EdDSA keyset (Solana)' }).click();
    await page.getByTestId('keyset-address').first().waitFor({ timeout: 60_000 });

    await page.getByRole('button', { name: 'Drills' }).click();
    await page.getByRole('heading', { name: 'Drills and key checks' }).waitFor();
    assert.equal(await page.getByTestId('due-node-died').getAttribute('data-overdue'), 'true', 'never drilled: overdue');
    assert.equal(await page.getByTestId('ttr-chart-empty').count(), 1);
    const card = page.getByTestId('runbook-node-died');
    await card.getByRole('button', { name: 'Run drill: A signer node died' }).click();
    const job = page.locator('[data-testid="job"][data-job-kind="drill"]').first();
    await job.waitFor();
    await page.locator('[data-testid="job"][data-job-kind="drill"][data-job-state="succeeded"]').waitFor({ timeout: 180_000 });
    assert.match((await job.getByTestId('job-result').textContent()) ?? '', /Drill passed: recovered in \d+\.\d s/);

    const report = page.getByTestId('drill-report');
    await report.waitFor();
    assert.equal(await report.getAttribute('data-outcome'), 'passed');
    assert.equal(await report.getByTestId('drill-outcome').textContent(), 'PASSED');
    assert.match((await report.getByTestId('drill-ttr').textContent()) ?? '', /^\d+\.\d s$/);
    assert.equal(await report.getByTestId('drill-step').count(), 4);
    assert.equal(await report.locator('[data-testid="drill-step"][data-outcome="passed"]').count(), 4);
    assert.match((await report.textContent()) ?? '', /Stop signer node lab-node-c/);
    assert.match((await report.textContent()) ?? '', /took part: operator, node console, node lab-node-b|took part: operator, node lab-node-b, node console/);
    const chart = page.getByTestId('ttr-chart');
    await chart.locator('canvas').waitFor();
    assert.match((await chart.textContent()) ?? '', /A signer node died/);
    assert.equal(await page.getByTestId('due-node-died').getAttribute('data-overdue'), 'false');
    await shot('drills-01-node-died-report-and-chart');
    // Written to the drills table and the audit log.
    const row = harness.services.db.prepare("SELECT outcome FROM drill_runs WHERE runbook = 'node-died'").get() as { outcome: string };
    assert.equal(row.outcome, 'passed');
    assert.equal(harness.services.audit.list({ type: 'DRILL_PASSED' }).entries.length, 1);
    assert.ok(harness.services.lab.peers().every((p) => p.running), 'the stopped lab node runs again');
  });

  it('91 days later the Overview shows the key checks overdue', async () => {
    offset = 91 * DAY_MS;
    await page.getByRole('button', { name: 'Overview' }).click();
    const item = page.getByTestId('overview-key-checks');
    await item.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="overview-key-checks"]')?.getAttribute('data-tone') === 'attention');
    assert.match((await item.textContent()) ?? '', /1 of 1 key check\(s\) OVERDUE/);
    assert.match((await item.textContent()) ?? '', /OVERDUE — Solana keyset .* this node's share: last check never, due since/);
    await shot('drills-02-overview-key-check-overdue');
    await page.getByRole('button', { name: 'Drills' }).click();
    await page.locator('[data-testid="key-check"][data-kind="share"][data-overdue="true"]').waitFor();
  });
});
