/**
 * Key generation as a job owned by main, through the real UI: progress survives leaving the
 * screen and reloading the page, Create stays disabled until the job ends; locking during a key
 * generation ends it as failed with "vault locked during key generation" on every node of the
 * lab cluster and in each node's audit log.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DATABASE_FILE } from '../../main/store/database';
import { launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startLabInBrowser, startPrimedLabHost, type TestHost } from '../support/primed-lab';
import { isAlive, killLeftovers } from '../support/processes';

const PASSPHRASE = 'granite lantern orchard velvet compass';
const REASON = 'vault locked during key generation';

describe('key generation jobs in the browser', { timeout: 480_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: TestHost;
  let pids: number[] = [];
  let cleanup: () => void = () => undefined;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  const createEcdsa = () => page.getByRole('button', { name: 'Create ECDSA keyset (Ethereum)' });
  const createEddsa = () => page.getByRole('button', { name: 'Create EdDSA keyset (Solana)' });
  const keygenJob = () => page.locator('[data-testid="job"][data-job-kind="keygen"]').first();

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

  it('ECDSA key generation keeps its progress across navigation and a reload; Create stays disabled until it ends', async () => {
    pids = await startLabInBrowser(page, harness, PASSPHRASE);

    await createEcdsa().click();
    await keygenJob().waitFor();
    assert.equal(await keygenJob().getAttribute('data-job-state'), 'running');
    assert.match((await keygenJob().getByTestId('job-phase').textContent()) ?? '', /key generation|online/);
    assert.ok(await createEcdsa().isDisabled() && await createEddsa().isDisabled(), 'no second key generation while one runs');

    await page.getByRole('button', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Keysets' }).click();
    await keygenJob().waitFor();
    assert.equal(await keygenJob().getAttribute('data-job-state'), 'running', 'still shown after leaving the screen');
    assert.ok(await createEcdsa().isDisabled() && await createEddsa().isDisabled());

    await page.reload();
    await page.getByRole('button', { name: 'Keysets' }).click();
    await keygenJob().waitFor();
    assert.equal(await keygenJob().getAttribute('data-job-state'), 'running', 'still shown after a reload');
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid="job-elapsed"]')?.textContent ?? '0', 10) >= 1);
    assert.ok(await createEcdsa().isDisabled() && await createEddsa().isDisabled(), 'Create disabled after the reload too');
    await shot('jobs-01-keygen-running-after-reload');

    await page.locator('[data-testid="job"][data-job-kind="keygen"][data-job-state="succeeded"]').waitFor({ timeout: 300_000 });
    assert.match((await keygenJob().getByTestId('job-result').textContent()) ?? '', /Ethereum keyset created: 0x[0-9a-fA-F]{40}/);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].filter((b) => b.textContent?.startsWith('Create E')).every((b) => !(b as HTMLButtonElement).disabled));
    assert.ok(!(await createEcdsa().isDisabled()), 'Create enabled again once the job ended');
    await page.getByTestId('keyset').first().waitFor();
    await shot('jobs-02-keygen-done');
    // The result stays until dismissed.
    await keygenJob().getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await page.locator('[data-testid="job"][data-job-kind="keygen"]').count(), 0);
  });

  it('locking during key generation ends it as failed with that reason on every node and in every audit log', async () => {
    await createEcdsa().click();
    await keygenJob().waitFor();
    const running = () => harness.services.cluster.sessions(20).find((s) => s.protocol === 'ecdsa-keygen' && s.state === 'running');
    const deadline = Date.now() + 60_000;
    while (!running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const sessionId = running()?.sessionId;
    assert.ok(sessionId, 'the key generation session runs');
    // Let the invite reach the peers before locking.
    await new Promise((r) => setTimeout(r, 1_500));

    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor();
    const stopBy = Date.now() + 20_000;
    while (pids.some(isAlive) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));

    const own = harness.services.db.prepare('SELECT state, error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId);
    assert.deepEqual(own, { state: 'failed', error_reason: REASON });
    const ownAudit = harness.services.audit.list({ type: 'MPC_KEYGEN_FAILED' }).entries.find((e) => e.subject === sessionId);
    assert.equal(ownAudit?.details.reason, REASON);
    for (const name of ['lab-node-b', 'lab-node-c']) {
      const db = new Database(join(harness.services.dataDir, 'lab', name, DATABASE_FILE), { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT state, error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId), { state: 'failed', error_reason: REASON }, name);
        const rows = db.prepare("SELECT entry FROM audit_log WHERE type = 'MPC_KEYGEN_FAILED' AND subject = ?").all(sessionId) as Array<{ entry: string }>;
        assert.equal(rows.length, 1, `${name} audited the failure once`);
        assert.equal((JSON.parse(rows[0]!.entry) as { details: { reason: string } }).details.reason, REASON);
      } finally {
        db.close();
      }
    }

    // After unlocking, the console says what happened to the job.
    await page.getByLabel('Vault passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('button', { name: 'Keysets' }).click();
    const failed = page.locator('[data-testid="job"][data-job-kind="keygen"][data-job-state="failed"]').first();
    await failed.waitFor();
    assert.match((await failed.getByTestId('job-error').textContent()) ?? '', /vault locked during key generation/);
    await shot('jobs-03-keygen-failed-by-lock');
  });
});
