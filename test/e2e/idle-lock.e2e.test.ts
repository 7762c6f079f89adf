/**
 * The idle lock, with the real timer (a short interval, not 0) against the real UI: on every
 * screen the renderer's own polling does not keep the vault unlocked, and operator input does.
 * The timeout (4 s) is longer than the Keysets screen's 3-second refresh, so a poll that counted
 * as activity would keep that screen unlocked forever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, createVaultInBrowser, launchChromium } from '../support/browser';
import { rendererBuilt, startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';

const PASSPHRASE = 'granite lantern orchard velvet compass';
const IDLE_TIMEOUT_SECONDS = 4;
const CHECK_INTERVAL_MS = 200;
/** Upper bound for a lock: timeout + two timer ticks + scheduling slack on a busy machine. */
const LOCK_DEADLINE_MS = IDLE_TIMEOUT_SECONDS * 1000 + 2 * CHECK_INTERVAL_MS + 3_000;

const SCREENS = [
  ['Overview', 'overview'],
  ['Audit log', 'audit'],
  ['Guardians', 'guardians'],
  ['Approvals', 'approvals'],
  ['Keysets', 'keysets'],
] as const;

describe('idle lock in the browser', { skip: (!rendererBuilt() && 'renderer not built') || (!chromiumAvailable() && 'chromium not installed') }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  const state = () => harness.services.vault.status().state;

  /** Milliseconds from `since` until main locked the vault; fails past the deadline. */
  async function lockedAfter(since: number): Promise<number> {
    while (Date.now() - since < LOCK_DEADLINE_MS) {
      if (state() === 'locked') return Date.now() - since;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`the vault was still unlocked ${LOCK_DEADLINE_MS} ms after the last input`);
  }

  async function unlockInUi(): Promise<void> {
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Vault passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="vault-state"]')?.textContent === 'UNLOCKED', undefined, { timeout: 15_000 });
  }

  before(async () => {
    harness = await startTestHost({ idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS, idleCheckIntervalMs: CHECK_INTERVAL_MS, kdfCost: TEST_KDF_COST });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    // Start every screen from the lock screen.
    await lockedAfter(Date.now());
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
  });

  for (const [label, screen] of SCREENS) {
    it(`${screen}: the screen's polling does not postpone the lock; it fires after the timeout and the UI shows it`, async () => {
      await unlockInUi();
      await page.getByRole('button', { name: label, exact: true }).click();
      const lastInput = Date.now();
      await page.locator(`nav button[aria-current="page"]`, { hasText: label }).waitFor();
      const elapsed = await lockedAfter(lastInput);
      assert.ok(elapsed >= IDLE_TIMEOUT_SECONDS * 1000 - 500, `locked ${elapsed} ms after input, before the ${IDLE_TIMEOUT_SECONDS} s timeout`);
      // The renderer learns of the lock from its status poll and shows the lock screen.
      await page.getByRole('heading', { name: 'Vault locked' }).waitFor({ timeout: 10_000 });
      assert.equal(await page.getByTestId('vault-state').textContent(), 'LOCKED');
    });
  }

  it('keyboard and pointer input on the Keysets screen keep the vault unlocked past the timeout; it locks once input stops', async () => {
    await unlockInUi();
    await page.getByRole('button', { name: 'Keysets', exact: true }).click();
    const started = Date.now();
    const keepAliveMs = IDLE_TIMEOUT_SECONDS * 1000 * 2.5;
    let lastInput = Date.now();
    let inputs = 0;
    while (Date.now() - started < keepAliveMs) {
      if (inputs % 2 === 0) await page.keyboard.press('Shift');
      else await page.mouse.click(5, 5);
      inputs += 1;
      lastInput = Date.now();
      assert.equal(state(), 'unlocked', `locked while the operator was typing (after ${Date.now() - started} ms)`);
      await new Promise((r) => setTimeout(r, 700));
    }
    assert.equal(state(), 'unlocked');
    const elapsed = await lockedAfter(lastInput);
    assert.ok(elapsed >= IDLE_TIMEOUT_SECONDS * 1000 - 1_500, `locked ${elapsed} ms after the last input`);
  });
});
