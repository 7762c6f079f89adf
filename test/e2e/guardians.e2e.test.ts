/**
 * Guardian quorum in the real UI (Debian Chromium, headless host, real services, emulated Ledger):
 * enrol three guardians (one Ledger, two software key files), request a vault passphrase change,
 * see it refused with one approval, approve with the Ledger and a key file, and run it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { softwareKey, TEST_KEY_FILE_N } from '../support/guardians';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const VAULT_PASSPHRASE = 'granite lantern orchard velvet compass';
const NEW_VAULT_PASSPHRASE = 'juniper falcon mosaic tide anchor';
const SAM_PASSPHRASE = 'sam river quartz lantern 41';
const SOFIA_PASSPHRASE = 'sofia meadow cobalt harbor 17';

describe('guardian approvals in the browser', () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  const device = new LedgerEthEmulator();
  let samKeyFile = '';
  // The guardian's removable medium: a folder outside the console's data folder.
  const medium = tempDir('vaultkeeper-medium-');
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  before(async () => {
    harness = await startTestHost({ ledgerTransport: emulatorTransport(device), keyFileScryptN: TEST_KEY_FILE_N, kdfCost: TEST_KDF_COST });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
    medium.cleanup();
  });

  it('creates the vault and enrols a Ledger guardian and two software-key guardians', async () => {
    await createVaultInBrowser(page, harness.host.url, VAULT_PASSPHRASE);

    await page.getByRole('button', { name: 'Guardians', exact: true }).click();
    await page.getByRole('heading', { name: 'Enrol guardian 1 of 3' }).waitFor();
    await page.getByLabel('Guardian name').fill('Lena');
    await page.getByRole('button', { name: 'Enrol guardian' }).click();
    await page.getByRole('heading', { name: 'Enrol guardian 2 of 3' }).waitFor();

    // A key file made by the console, as an operator would for a guardian without a Ledger,
    // written only to the guardian's medium.
    assert.match(await page.getByTestId('key-medium-notice').textContent() ?? '', /This console keeps no copy/);
    await page.getByLabel('Folder on the removable medium').fill(harness.services.dataDir);
    await page.getByLabel('New key file passphrase').fill(SAM_PASSPHRASE);
    await page.getByLabel('Key file passphrase again').fill(SAM_PASSPHRASE);
    await page.getByRole('button', { name: 'Create key file' }).click();
    // Refused next to the action: the data folder is on the machine the key guards.
    await page.getByRole('alert').filter({ hasText: "inside this console's data folder" }).waitFor({ timeout: 20_000 });
    await page.getByLabel('Folder on the removable medium').fill(medium.path);
    await page.getByLabel('New key file passphrase').fill(SAM_PASSPHRASE);
    await page.getByLabel('Key file passphrase again').fill(SAM_PASSPHRASE);
    await page.getByRole('button', { name: 'Create key file' }).click();
    const created = page.getByTestId('key-created');
    await created.waitFor({ timeout: 20_000 });
    const path = (await created.locator('.mono').nth(1).textContent()) ?? '';
    assert.ok(path.startsWith(medium.path), 'the key file is on the medium only');
    samKeyFile = readFileSync(path, 'utf8');

    await page.getByLabel('Guardian name').fill('Sam');
    await page.getByLabel('Device').selectOption('software');
    await page.getByLabel('Key file', { exact: true }).setInputFiles({ name: 'sam.json', mimeType: 'application/json', buffer: Buffer.from(samKeyFile) });
    await page.getByLabel('Key file passphrase', { exact: true }).fill(SAM_PASSPHRASE);
    await page.getByRole('button', { name: 'Enrol guardian' }).click();
    await page.getByRole('heading', { name: 'Enrol guardian 3 of 3' }).waitFor({ timeout: 20_000 });

    const sofia = await softwareKey(SOFIA_PASSPHRASE);
    await page.getByLabel('Guardian name').fill('Sofia');
    await page.getByLabel('Device').selectOption('software');
    await page.getByLabel('Key file', { exact: true }).setInputFiles({ name: 'sofia.json', mimeType: 'application/json', buffer: Buffer.from(sofia.keyFile) });
    await page.getByLabel('Key file passphrase', { exact: true }).fill(SOFIA_PASSPHRASE);
    await page.getByRole('button', { name: 'Enrol guardian' }).click();
    await page.getByTestId('registry-status').filter({ hasText: 'All 3 guardians enrolled' }).waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('guardian-row').count(), 3);
    assert.ok(((await page.getByTestId('guardian-row').first().textContent()) ?? '').includes(device.addressAt("44'/60'/0'/0/0")));
    await shot('guardians-01-registry');
    // The registry for a headless signer node (--guardians FILE): written owner-only, public data only.
    await page.getByRole('button', { name: 'Export for a signer node' }).click();
    const written = ((await page.getByTestId('registry-exported').textContent({ timeout: 10_000 })) ?? '').match(/Written to (\S+\.json)/)?.[1];
    assert.ok(written, 'the screen names the file');
    const exported = JSON.parse(readFileSync(written, 'utf8')) as { guardians: Array<{ name: string }> };
    assert.deepEqual(exported.guardians.map((g) => g.name).sort(), ['Lena', 'Sam', 'Sofia']);
  });

  it('creates a passphrase-change request that reads in words', async () => {
    await page.getByRole('button', { name: 'Approvals', exact: true }).click();
    await page.getByLabel('Reason').fill('Quarterly passphrase rotation');
    await page.getByLabel("Operator's vault passphrase").fill(VAULT_PASSPHRASE);
    await page.getByRole('button', { name: 'Create request' }).click();
    const card = page.getByTestId('pending-request');
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    assert.match(text, /Change the vault passphrase/);
    assert.match(text, /Reason given: Quarterly passphrase rotation/);
    assert.match(text, /Expires in 1 h \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    assert.match(await card.getByTestId('request-approvals').textContent() ?? '', /0 \/ 2.*0 of 2 required — waiting for Lena or Sam or Sofia/);
    assert.match(await card.getByTestId('request-subject').textContent() ?? '', /^This vault \(/);
    assert.match(await card.getByTestId('request-amounts').textContent() ?? '', /moves no funds/);
    assert.match(await card.getByTestId('request-requester').textContent() ?? '', /^operator/);
    // The destructive step is locked, and says why, until the quorum is there.
    assert.equal(await card.getByRole('button', { name: 'Run operation' }).isDisabled(), true);
    assert.match(await card.getByTestId('run-reason').textContent() ?? '', /Not yet: 0 of 2 required/);
    await card.getByRole('button', { name: 'Export request file' }).click();
    await card.getByRole('img', { name: 'Request as a QR code' }).waitFor();
    await shot('guardians-02-request-pending');
  });

  it('refuses to run with one approval, then runs with the Ledger and a key file', async () => {
    const card = page.getByTestId('pending-request');
    await card.getByLabel('Ledger guardian', { exact: true }).selectOption({ label: 'Lena' });
    // Before the button is pressed the screen shows the two values the device will show.
    const shownDomain = await card.getByTestId('ledger-domain-hash').getAttribute('data-value');
    const shownMessage = await card.getByTestId('ledger-message-hash').getAttribute('data-value');
    assert.equal(await card.getByTestId('ledger-domain-hash').textContent(), shownDomain, 'grouping is spacing only');
    assert.match(await card.getByTestId('ledger-hashes').textContent() ?? '', /Check that your Ledger shows these two values, then approve on the device\./);
    await shot('guardians-03a-ledger-values');
    device.log.length = 0;
    await card.getByRole('button', { name: 'Approve with Ledger' }).click();
    await card.getByTestId('request-approvals').filter({ hasText: '1 of 2 required' }).waitFor({ timeout: 15_000 });
    const apdu = device.log.find((hex) => hex.startsWith('e00c0000'));
    assert.ok(apdu, 'the device received the hashed EIP-712 APDU');
    const data = apdu.slice(10);
    const hashes = data.slice((1 + 4 * Number.parseInt(data.slice(0, 2), 16)) * 2);
    assert.equal(`0x${hashes.slice(0, 64).toUpperCase()}`, shownDomain);
    assert.equal(`0x${hashes.slice(64, 128).toUpperCase()}`, shownMessage);

    // One approval: the button stays locked with the reason, and main refuses if asked anyway.
    const run = card.getByRole('button', { name: 'Run operation' });
    assert.equal(await run.isDisabled(), true);
    await card.getByTestId('run-reason').filter({ hasText: 'Not yet: 1 of 2 required — waiting for Sam or Sofia' }).waitFor();
    const requestId = (await card.getAttribute('data-request-id')) ?? '';
    const direct = await page.evaluate(
      async ([id, current, next]) => window.vaultkeeper!.approvals.executePassphraseChange({ requestId: id!, currentPassphrase: current!, newPassphrase: next!, confirmation: next! }),
      [requestId, VAULT_PASSPHRASE, NEW_VAULT_PASSPHRASE],
    );
    assert.equal(direct.ok, false);
    if (!direct.ok) {
      assert.equal(direct.error.code, 'QUORUM_NOT_MET');
      assert.match(direct.error.message, /1 of 2 required guardian approvals \(Lena\)\. Waiting for Sam or Sofia\. Nothing was done/);
    }
    await shot('guardians-03-refused-one-approval');

    await card.getByLabel('Guardian key file').setInputFiles({ name: 'sam.json', mimeType: 'application/json', buffer: Buffer.from(samKeyFile) });
    await card.getByLabel('Guardian key passphrase').fill(SAM_PASSPHRASE);
    await card.getByRole('button', { name: 'Approve with key file' }).click();
    await card.getByTestId('request-approvals').filter({ hasText: '2 of 2 required — quorum reached' }).waitFor({ timeout: 15_000 });
    assert.equal(await card.getByRole('button', { name: 'Run operation' }).isDisabled(), false);
    await shot('guardians-04-quorum-reached');

    await card.getByLabel('Current vault passphrase').fill(VAULT_PASSPHRASE);
    await card.getByLabel('New vault passphrase', { exact: true }).fill(NEW_VAULT_PASSPHRASE);
    await card.getByLabel('New vault passphrase again').fill(NEW_VAULT_PASSPHRASE);
    await card.getByRole('button', { name: 'Run operation' }).click();
    const history = page.getByTestId('history-request').first();
    await history.getByTestId('request-status').filter({ hasText: 'Done: the operation ran' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('pending-request').count(), 0);
    await shot('guardians-05-executed');
  });

  it('unlocks with the new passphrase, and the audit log tells the story', async () => {
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('button', { name: 'Unlock' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Vault passphrase', { exact: true }).fill(NEW_VAULT_PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByTestId('vault-state').filter({ hasText: 'UNLOCKED' }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Audit log' }).click();
    await page.getByTestId('chain-status').filter({ hasText: 'Chain verified' }).waitFor();
    const types = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
    for (const expected of ['GUARDIAN_ENROLLED', 'APPROVAL_REQUESTED', 'APPROVAL_SIGNED', 'GUARDED_OPERATION_EXECUTED', 'VAULT_PASSPHRASE_CHANGED']) {
      assert.ok(types.includes(expected), `audit lists ${expected}`);
    }
    const page1 = (await page.locator('.audit-table').textContent()) ?? '';
    for (const secret of [VAULT_PASSPHRASE, NEW_VAULT_PASSPHRASE, SAM_PASSPHRASE]) assert.ok(!page1.includes(secret));
    await shot('guardians-06-audit');
  });
});
