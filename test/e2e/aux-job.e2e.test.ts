/**
 * The group's ECDSA auxiliary data as a job owned by main, through the real UI: its progress
 * survives leaving the screen and reloading the page; "Prepare ECDSA auxiliary data" and both
 * Create buttons (the same three nodes) stay disabled until it ends; a cancel ends this node's
 * session as failed with the operator's reason, which the lab peers record too.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DATABASE_FILE } from '../../main/store/database';
import { launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startLabInBrowser, startPrimedLabHost, type TestHost } from '../support/primed-lab';
import { killLeftovers } from '../support/processes';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('auxiliary data as a job in the browser', { timeout: 480_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: TestHost;
  let pids: number[] = [];
  let cleanup: () => void = () => undefined;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  const prepare = () => page.getByTestId('prepare-aux');
  const createButtons = () => [page.getByRole('button', { name: 'Create ECDSA keyset (Ethereum)' }), page.getByRole('button', { name: 'Create EdDSA keyset (Solana)' })];
  const auxJob = () => page.locator('[data-testid="job"][data-job-kind="aux"]').first();
  const allDisabled = async () => (await prepare().isDisabled()) && (await Promise.all(createButtons().map((b) => b.isDisabled()))).every(Boolean);

  before(async () => {
    ({ harness, cleanup } = await startPrimedLabHost());
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    pids = [...new Set([...pids, ...(harness?.services.lab.status().pids ?? [])])];
    await harness?.stop();
    killLeftovers(pids);
    cleanup();
  });

  it('keeps its progress across navigation and a reload; conflicting buttons stay disabled until it ends', async () => {
    pids = await startLabInBrowser(page, harness, PASSPHRASE);

    await prepare().click();
    await auxJob().waitFor();
    assert.equal(await auxJob().getAttribute('data-job-state'), 'running');
    assert.match((await auxJob().getByTestId('job-phase').textContent()) ?? '', /online|auxiliary data/);
    assert.ok(await allDisabled(), 'no key generation and no second auxiliary data while it runs');
    // A second start through the channel is refused as a conflict, whatever the screen shows.
    const second = await harness.services.router.dispatch('jobs.startKeygen', { scheme: 'eddsa' }, { trustedSender: true, senderDescription: 'test' }) as { ok: boolean; error?: { code: string } };
    assert.equal(second.ok, false);
    assert.equal(second.error?.code, 'JOB_CONFLICT');

    await page.getByRole('button', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Keysets' }).click();
    await auxJob().waitFor();
    assert.equal(await auxJob().getAttribute('data-job-state'), 'running', 'still shown after leaving the screen');
    assert.ok(await allDisabled());

    await page.reload();
    await page.getByRole('button', { name: 'Keysets' }).click();
    await auxJob().waitFor();
    assert.equal(await auxJob().getAttribute('data-job-state'), 'running', 'still shown after a reload');
    assert.ok(await allDisabled(), 'disabled after the reload too');
    await shot('aux-job-01-running-after-reload');

    await page.locator('[data-testid="job"][data-job-kind="aux"][data-job-state="succeeded"]').waitFor({ timeout: 300_000 });
    assert.match((await auxJob().getByTestId('job-result').textContent()) ?? '', /Auxiliary data ready for this signer group/);
    await page.waitForFunction(() => (document.querySelector('[data-testid="aux-status"]')?.textContent ?? '').includes('ready since'));
    await page.waitForFunction(() => !(document.querySelector('[data-testid="prepare-aux"]') as HTMLButtonElement | null)?.disabled);
    for (const b of createButtons()) assert.equal(await b.isDisabled(), false, 'Create enabled again once the job ended');
    await shot('aux-job-02-done');
    await auxJob().getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await page.locator('[data-testid="job"][data-job-kind="aux"]').count(), 0);
  });

  it('a cancel ends the session as failed with the reason here and at the lab peers', async () => {
    await prepare().click();
    await auxJob().waitFor();
    const running = () => harness.services.cluster.sessions(20).find((s) => s.protocol === 'ecdsa-aux' && s.state === 'running');
    const deadline = Date.now() + 60_000;
    while (!running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const sessionId = running()?.sessionId;
    assert.ok(sessionId, 'the auxiliary-data session runs');
    // Let the invite reach the peers before cancelling.
    await new Promise((r) => setTimeout(r, 1_500));
    await auxJob().getByRole('button', { name: 'Cancel auxiliary data' }).click();
    const cancelled = page.locator('[data-testid="job"][data-job-kind="aux"][data-job-state="cancelled"]').first();
    await cancelled.waitFor();
    assert.match((await cancelled.getByTestId('job-error').textContent()) ?? '', /cancelled by the operator/);
    assert.equal(await prepare().isDisabled(), false);

    const own = harness.services.db.prepare('SELECT state, error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId) as { state: string; error_reason: string };
    assert.equal(own.state, 'failed');
    assert.match(own.error_reason, /^cancelled by the operator/);
    // The peers hear it through the coordinator (they keep running: poll their records).
    for (const name of ['lab-node-b', 'lab-node-c']) {
      const until = Date.now() + 20_000;
      let row: { state: string; error_reason: string | null } | undefined;
      while (Date.now() < until) {
        const db = new Database(join(harness.services.dataDir, 'lab', name, DATABASE_FILE), { readonly: true });
        try {
          row = db.prepare('SELECT state, error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId) as typeof row;
        } finally {
          db.close();
        }
        if (row?.state === 'failed') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(row?.state, 'failed', name);
      assert.equal(row?.error_reason, own.error_reason, `${name} records the operator's reason`);
    }
    assert.ok(harness.services.audit.list({ type: 'JOB_CANCELLED' }).entries.some((e) => e.actor === 'operator' && e.details.kind === 'aux'));
    await shot('aux-job-03-cancelled');
  });
});
