/**
 * The Policy screen in Chromium against the real services: the kill switch freezes signing at
 * once from the console, and resuming is a guardian request (refused here, next to the action,
 * because no guardians are enrolled yet); on a console with guardians, one guardian freezes by
 * signing the freeze with their key file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { enrolThree, TEST_KEY_FILE_N, type GuardianFixture } from '../support/guardians';
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

  it('one guardian freezes by signing the freeze with their key file; a wrong key passphrase freezes nothing', async () => {
    const host = await startTestHost({ kdfCost: TEST_KDF_COST, ledgerTransport: emulatorTransport(new LedgerEthEmulator()), keyFileScryptN: TEST_KEY_FILE_N });
    const guardianPage = await browser.newPage();
    try {
      await createVaultInBrowser(guardianPage, host.host.url, PASSPHRASE);
      const { sam } = await enrolThree({ services: host.services } as GuardianFixture);
      await guardianPage.getByRole('button', { name: 'Policy' }).click();
      const panel = guardianPage.getByTestId('kill-switch');
      await panel.getByLabel('Why freeze?').fill('Sam saw a phishing wave');
      await panel.getByLabel('Frozen by').selectOption({ label: 'Sam (guardian; signs the freeze here)' });
      const freeze = panel.getByRole('button', { name: 'FREEZE ALL SIGNING NOW' });
      assert.equal(await freeze.isDisabled(), true, "Sam's key file and passphrase come first");
      await panel.getByLabel("Sam's key file (signs the freeze)").setInputFiles({ name: 'sam.json', mimeType: 'application/json', buffer: Buffer.from(sam.keyFile) });
      await panel.getByLabel("Sam's key passphrase").fill('not sams passphrase at all');
      await freeze.click();
      await panel.locator('[role=alert]').waitFor();
      assert.equal(host.services.policy.overview().killSwitch.engaged, false, 'nothing frozen');
      // A failed attempt clears the key material from the form: Sam loads it again.
      await panel.getByLabel("Sam's key file (signs the freeze)").setInputFiles({ name: 'sam.json', mimeType: 'application/json', buffer: Buffer.from(sam.keyFile) });
      await panel.getByLabel("Sam's key passphrase").fill(sam.passphrase);
      await freeze.click();
      await guardianPage.getByRole('heading', { name: 'SIGNING IS FROZEN' }).waitFor();
      assert.match((await panel.textContent()) ?? '', new RegExp(`by guardian Sam \\(${sam.view.address}\\): “Sam saw a phishing wave”`));
      assert.equal(host.services.policy.overview().killSwitch.changedBy, `guardian Sam (${sam.view.address})`);
    } finally {
      await guardianPage.close();
      await host.stop();
    }
  });
});
