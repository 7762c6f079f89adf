/**
 * The real UI in Debian's Chromium, served by the headless host, against the real services:
 * create vault → lock → wrong passphrase → unlock → audit log with a verified chain.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('vault life cycle in the browser', () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  before(async () => {
    harness = await startTestHost();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
  });

  it('creates the vault, refusing a weak passphrase first', async () => {
    await page.goto(harness.host.url);
    await page.getByRole('heading', { name: 'Create the vault' }).waitFor();
    assert.equal(await page.getByTestId('vault-state').textContent(), 'NO VAULT');
    await page.getByLabel('Vault passphrase').fill('password1234');
    await page.getByLabel('Type it again').fill('password1234');
    await page.getByRole('button', { name: 'Create vault' }).click();
    const weak = page.locator('[data-error-code="WEAK_PASSPHRASE"]');
    await weak.waitFor();
    assert.match((await weak.textContent()) ?? '', /too easy to guess/);
    await shot('01-setup-weak-passphrase');

    await page.getByLabel('Vault passphrase').fill(PASSPHRASE);
    await page.getByLabel('Type it again').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'This console' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('vault-state').textContent(), 'UNLOCKED');
    assert.match((await page.getByTestId('node-fingerprint').textContent()) ?? '', /^[a-z]+(-[a-z]+){5}$/);
    await shot('02-overview-unlocked');
  });

  it('locks, shows the error for a wrong passphrase, and unlocks', async () => {
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor();
    assert.equal(await page.getByTestId('vault-state').textContent(), 'LOCKED');
    await shot('03-locked');

    await page.getByLabel('Vault passphrase').fill('definitely not it');
    await page.getByRole('button', { name: 'Unlock' }).click();
    const wrong = page.locator('[data-error-code="WRONG_PASSPHRASE"]');
    await wrong.waitFor({ timeout: 15_000 });
    assert.match((await wrong.textContent()) ?? '', /not correct \(wrong attempt 1\)/);
    await shot('04-wrong-passphrase');

    await page.getByLabel('Vault passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('heading', { name: 'This console' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('vault-state').textContent(), 'UNLOCKED');
  });

  it('shows the audit events with a verified chain, filters them, and exports', async () => {
    await page.getByRole('button', { name: 'Audit log' }).click();
    const badge = page.getByTestId('chain-status');
    await badge.waitFor();
    assert.match((await badge.textContent()) ?? '', /Chain verified: \d+ rows intact/);
    const types = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
    for (const expected of ['VAULT_CREATED', 'VAULT_LOCKED', 'VAULT_UNLOCK_FAILED', 'VAULT_UNLOCKED', 'AUDIT_VERIFIED']) {
      assert.ok(types.includes(expected), `audit screen lists ${expected}: ${types.join(', ')}`);
    }
    await shot('05-audit-verified');

    await page.getByLabel('Filter by event type').selectOption('VAULT_UNLOCK_FAILED');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-row"]').length === 1);
    await page.getByRole('button', { name: 'Export JSON Lines' }).click();
    await page.getByRole('status').filter({ hasText: 'Exported' }).waitFor();
    await shot('06-audit-filtered-exported');
  });

  it('shows a broken chain when a row was altered behind its back', async () => {
    const { db } = harness.services;
    db.exec('DROP TRIGGER audit_log_append_only_update');
    db.exec("UPDATE audit_log SET entry = json_set(entry, '$.actor', 'mallory') WHERE seq = 2");
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText('Chain BROKEN at row 2').waitFor();
    await shot('07-audit-broken');
  });
});
