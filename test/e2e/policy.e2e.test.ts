/**
 * The Policy screen in Chromium against the real services: the kill switch freezes signing at
 * once from the console, and resuming is a guardian request (refused here, next to the action,
 * because no guardians are enrolled yet).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { ALICE, evmPolicy, EVM_KEYSET } from '../support/permits';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('policy screen in the browser', { timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
  });

  it('freezes all signing from the console; resuming needs the guardians', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);

    await page.getByRole('button', { name: 'Policy' }).click();
    await page.getByRole('heading', { name: 'Signing is allowed' }).waitFor();
    assert.equal(await page.getByText('No keyset has a policy: this node co-signs nothing.').count(), 1);
    assert.equal(await page.getByText('No trusted issuer: this node accepts no permit.').count(), 1);
    const freeze = page.getByRole('button', { name: 'FREEZE ALL SIGNING NOW' });
    assert.equal(await freeze.isDisabled(), true, 'a reason is required');
    await page.getByLabel('Why freeze?').fill('phishing report on the treasury desk');
    await freeze.click();
    await page.getByRole('heading', { name: 'SIGNING IS FROZEN' }).waitFor();
    assert.equal(await page.getByTestId('kill-switch').getAttribute('data-engaged'), 'true');
    assert.equal(harness.services.policy.overview().killSwitch.engaged, true);
    assert.equal(harness.services.audit.list({ type: 'KILL_SWITCH_ENGAGED' }).total, 1);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'policy-kill-switch.png'), fullPage: true });

    const resume = page.getByTestId('kill-switch').locator('fieldset');
    await resume.getByLabel('Reason (shown to the guardians)').fill('false alarm');
    await resume.getByLabel("Operator's vault passphrase").fill(PASSPHRASE);
    await resume.getByRole('button', { name: 'Ask the guardians to resume signing' }).click();
    const error = resume.locator('[role=alert]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-error-code'), 'GUARDIAN_REGISTRY_INCOMPLETE');
    assert.equal(harness.services.policy.overview().killSwitch.engaged, true, 'still frozen');
  });

  it('revokes an execution authorization at once, only with the proof of who revokes (the vault passphrase here)', async () => {
    const id = '6a1e0c1e-0000-4000-8000-00000000e2e1';
    harness.services.policy.applyNodeSetup({ policies: [evmPolicy()], authorizations: [{ id, scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '2' } }, validForMinutes: 60 } }] }, false, 'test');
    await page.getByRole('button', { name: 'Audit log' }).click();
    await page.getByRole('button', { name: 'Policy' }).click();
    const panel = page.locator('section[aria-labelledby="auth-title"]');
    await panel.getByTestId('execution-authorization').waitFor();
    await panel.getByLabel('Reason for revoking').fill('batch finished');
    const revoke = panel.getByRole('button', { name: 'Revoke now' });
    assert.equal(await revoke.isDisabled(), true, 'the revoker must prove who they are first');
    await panel.getByLabel("Operator's vault passphrase (proves the operator revokes)").fill('not the vault passphrase');
    await revoke.click();
    const error = panel.locator('[role=alert]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-error-code'), 'WRONG_PASSPHRASE');
    assert.equal(harness.services.policy.overview().executionAuthorizations[0]!.revokedAt, null, 'nothing revoked');
    await panel.getByLabel("Operator's vault passphrase (proves the operator revokes)").fill(PASSPHRASE);
    await panel.getByRole('button', { name: 'Revoke now' }).click();
    await panel.locator('[data-testid="execution-authorization"][data-state="revoked"]').waitFor();
    assert.equal(harness.services.policy.overview().executionAuthorizations[0]!.revokedBy, 'operator (vault passphrase confirmed)');
  });
});
