/**
 * Guardian replacement in the real UI (Debian Chromium, headless host, real services, emulated
 * Ledger): Sofia's key is replaced by Nora's; Lena (Ledger) and Sam (key file) approve; the
 * replacement runs; the registry shows Nora; Sofia's old key is refused, as a key file and as a
 * signed approval file, while Nora's new key counts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Wallet } from 'ethers';
import type { Browser, Locator, Page } from 'playwright-core';
import { emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { LEDGER_PATH, softwareKey, TEST_KEY_FILE_N } from '../support/guardians';
import { startTestHost } from '../support/host';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';

const SAM_PASSPHRASE = 'sam river quartz lantern 41';
const SOFIA_PASSPHRASE = 'sofia meadow cobalt harbor 17';
const NORA_PASSPHRASE = 'nora thistle beacon copper 58';

type Key = { keyFile: string; wallet: Wallet };
const asFile = (name: string, text: string) => ({ name, mimeType: 'application/json', buffer: Buffer.from(text) });

describe('guardian replacement in the browser', () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  const device = new LedgerEthEmulator();
  let sam: Key;
  let sofia: Key;
  let nora: Key;
  let sofiaAddress = '';
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  async function approveWithKeyFile(card: Locator, fileName: string, keyFile: string, passphrase: string) {
    await card.getByLabel('Guardian key file').setInputFiles(asFile(fileName, keyFile));
    await card.getByLabel('Guardian key passphrase').fill(passphrase);
    await card.getByRole('button', { name: 'Approve with key file' }).click();
  }

  before(async () => {
    harness = await startTestHost({ ledgerTransport: emulatorTransport(device), keyFileScryptN: TEST_KEY_FILE_N, kdfCost: TEST_KDF_COST });
    // Enrolment through the UI is covered by guardians.e2e; here the registry starts complete.
    const { vault, guardians } = harness.services;
    await vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    [sam, sofia, nora] = await Promise.all([softwareKey(SAM_PASSPHRASE), softwareKey(SOFIA_PASSPHRASE), softwareKey(NORA_PASSPHRASE)]);
    await guardians.enrol({ method: 'ledger', name: 'Lena', derivationPath: LEDGER_PATH });
    await guardians.enrol({ method: 'software', name: 'Sam', keyFile: sam.keyFile, passphrase: SAM_PASSPHRASE });
    await guardians.enrol({ method: 'software', name: 'Sofia', keyFile: sofia.keyFile, passphrase: SOFIA_PASSPHRASE });
    sofiaAddress = sofia.wallet.address;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
  });

  it('requests the replacement of Sofia by Nora, whose new key proves possession', async () => {
    await page.goto(harness.host.url);
    await page.getByRole('button', { name: 'Guardians', exact: true }).click();
    await page.getByTestId('registry-status').filter({ hasText: 'All 3 guardians enrolled' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Guardian to replace').selectOption({ label: '3: Sofia' });
    await page.getByLabel('Guardian name').fill('Nora');
    await page.getByLabel('Device').selectOption('software');
    await page.getByLabel('Key file', { exact: true }).setInputFiles(asFile('nora.json', nora.keyFile));
    await page.getByLabel('Key file passphrase', { exact: true }).fill(NORA_PASSPHRASE);
    await page.getByLabel("Operator's vault passphrase").fill(GOOD_PASSPHRASE);
    await page.getByRole('button', { name: 'Request replacement' }).click();
    await page.getByRole('status').filter({ hasText: 'Replacement requested' }).waitFor({ timeout: 15_000 });
    await shot('replacement-01-requested');

    await page.getByRole('button', { name: 'Approvals', exact: true }).click();
    const card = page.getByTestId('pending-request');
    await card.waitFor();
    assert.match(await card.getByRole('heading', { level: 2 }).textContent() ?? '', /Replace a guardian/);
    assert.equal(await card.getByTestId('request-subject').textContent(), `Guardian 3, "Sofia" (${sofiaAddress})`);
    assert.match(await card.textContent() ?? '', new RegExp(`with "Nora", a software key guardian with address ${nora.wallet.address}`));
    assert.equal(await card.getByRole('button', { name: 'Run operation' }).isDisabled(), true);
    await shot('replacement-02-pending');
  });

  it('runs once Lena (Ledger) and Sam (key file) approve', async () => {
    const card = page.getByTestId('pending-request');
    await card.getByLabel('Ledger guardian', { exact: true }).selectOption({ label: 'Lena' });
    const shownMessage = await card.getByTestId('ledger-message-hash').getAttribute('data-value');
    device.log.length = 0;
    await card.getByRole('button', { name: 'Approve with Ledger' }).click();
    await card.getByTestId('request-approvals').filter({ hasText: '1 of 2 required' }).waitFor({ timeout: 15_000 });
    const apdu = device.log.find((hex) => hex.startsWith('e00c0000')) ?? '';
    // The APDU ends with the domain hash and then the message hash.
    assert.equal(`0x${apdu.slice(-64).toUpperCase()}`, shownMessage, 'the device was sent the message hash on screen');

    await approveWithKeyFile(card, 'sam.json', sam.keyFile, SAM_PASSPHRASE);
    await card.getByTestId('request-approvals').filter({ hasText: '2 of 2 required — quorum reached' }).waitFor({ timeout: 15_000 });
    assert.equal(await card.getByRole('button', { name: 'Run operation' }).isDisabled(), false);
    await shot('replacement-03-quorum');

    await card.getByRole('button', { name: 'Run operation' }).click();
    const done = page.getByTestId('history-request').first();
    await done.getByTestId('request-status').filter({ hasText: 'Done: the operation ran' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('pending-request').count(), 0);
    // The success message outlives the card of the request that ran, until dismissed.
    assert.match((await page.getByTestId('operation-ran').textContent()) ?? '', /^Done: Guardian \d, ".+" \(0x[0-9a-fA-F]{40}\) was replaced/);
    // The closed request shows the guardian set in force when it ran.
    assert.match((await done.getByTestId('request-guardian-set').textContent()) ?? '', /Guardian set in force when it ran/);

    await page.getByRole('button', { name: 'Guardians', exact: true }).click();
    await page.getByTestId('guardian-row').first().waitFor();
    const rows = await page.getByTestId('guardian-row').allTextContents();
    assert.equal(rows.length, 3);
    assert.ok(rows.some((row) => row.startsWith('3Nora') && row.includes(nora.wallet.address)), rows.join(' | '));
    assert.ok(!rows.some((row) => row.includes('Sofia') || row.includes(sofiaAddress)), 'Sofia is no longer listed');
    await shot('replacement-04-registry');

    // The file for signer nodes now carries the replacement, so nodes set up earlier can follow it.
    await page.getByTestId('export-registry').click();
    const exported = page.getByTestId('registry-exported');
    await exported.waitFor({ timeout: 15_000 });
    assert.match((await exported.textContent()) ?? '', /Written to .*guardian-registry-[0-9a-f-]{8}\.json, with the guardian replacement made here and the approvals of each\. Copy it/);
  });

  it("refuses Sofia's old key, as a key file and as an approval file, and counts Nora's", async () => {
    await page.getByRole('button', { name: 'Approvals', exact: true }).click();
    await page.getByLabel('Reason').fill('Check the new guardian set');
    await page.getByLabel("Operator's vault passphrase").fill(GOOD_PASSPHRASE);
    await page.getByRole('button', { name: 'Create request' }).click();
    const card = page.getByTestId('pending-request');
    await card.waitFor();
    assert.match(await card.getByTestId('request-approvals').textContent() ?? '', /waiting for Lena or Sam or Nora/);

    await approveWithKeyFile(card, 'sofia-old.json', sofia.keyFile, SOFIA_PASSPHRASE);
    const keyRefusal = card.locator('[data-error-code="KEYFILE_NOT_GUARDIAN"]');
    await keyRefusal.waitFor({ timeout: 15_000 });
    assert.match(await keyRefusal.textContent() ?? '', new RegExp(`This key file holds ${sofiaAddress}, which is not one of this vault's guardians\\. Nothing was signed\\.`));
    await shot('replacement-05-old-key-refused');

    // A remote approval signed with the old key, from a request file exported by the console.
    await card.getByRole('button', { name: 'Export request file' }).click();
    const path = (await card.getByTestId('request-export').locator('.mono').textContent()) ?? '';
    const exported = JSON.parse(readFileSync(path, 'utf8')) as { typedData: { domain: Record<string, unknown>; types: Record<string, Array<{ name: string; type: string }>>; message: Record<string, unknown> } };
    const { EIP712Domain: _domain, ...types } = exported.typedData.types;
    const signature = await sofia.wallet.signTypedData(exported.typedData.domain, types, exported.typedData.message);
    await card.getByLabel('Approval file').setInputFiles(asFile('sofia-approval.json', JSON.stringify({ format: 'vaultkeeper.approval/1', message: exported.typedData.message, signature })));
    await card.getByRole('button', { name: 'Import approval file' }).click();
    const fileRefusal = card.locator('[data-error-code="APPROVAL_SIGNER_NOT_GUARDIAN"]');
    await fileRefusal.waitFor({ timeout: 15_000 });
    assert.match(await fileRefusal.textContent() ?? '', new RegExp(`signed by ${sofiaAddress}, which is not one of this vault's current guardians`));
    assert.match(await card.getByTestId('request-approvals').textContent() ?? '', /0 of 2 required/);

    await approveWithKeyFile(card, 'nora.json', nora.keyFile, NORA_PASSPHRASE);
    await card.getByTestId('request-approvals').filter({ hasText: '1 of 2 required — waiting for Lena or Sam' }).waitFor({ timeout: 15_000 });
    await shot('replacement-06-new-key-counts');

    const refused = harness.services.audit.list({ type: 'APPROVAL_REFUSED' }).entries.map((e) => e.details.code);
    assert.ok(refused.includes('APPROVAL_SIGNER_NOT_GUARDIAN'));
    assert.equal(harness.services.audit.list({ type: 'GUARDIAN_REPLACED' }).total, 1);
  });

  it('a guardian requests from their own machine: the request waits for their signed requester file', async () => {
    await page.getByLabel('Reason').fill('Sam asks for a rotation');
    await page.getByLabel('Requested by').selectOption({ index: 2 });
    await page.getByRole('button', { name: 'Create request' }).click();
    const card = page.getByTestId('pending-request').filter({ hasText: 'Waiting for Sam to sign the request' });
    await card.waitFor({ timeout: 15_000 });
    assert.match(await card.getByTestId('run-reason').textContent() ?? '', /Sam has not signed the request/);
    assert.equal(await card.getByRole('button', { name: 'Approve with key file' }).isVisible(), false);
    await card.getByRole('button', { name: 'Export requester file' }).click();
    const path = (await card.getByTestId('requester-export').locator('.mono').textContent()) ?? '';
    const exported = JSON.parse(readFileSync(path, 'utf8')) as { typedData: { domain: Record<string, unknown>; types: Record<string, Array<{ name: string; type: string }>>; message: Record<string, unknown> } };
    const { EIP712Domain: _domain, ...types } = exported.typedData.types;
    // Signed with the wrong key first: refused next to the action.
    const wrong = await nora.wallet.signTypedData(exported.typedData.domain, types, exported.typedData.message);
    await card.getByLabel('Signed requester file').setInputFiles(asFile('wrong.json', JSON.stringify({ message: exported.typedData.message, signature: wrong })));
    await card.getByRole('button', { name: 'Import signed requester file' }).click();
    await card.locator('[data-error-code="REQUESTER_SIGNATURE_INVALID"]').waitFor({ timeout: 15_000 });
    const signature = await sam.wallet.signTypedData(exported.typedData.domain, types, exported.typedData.message);
    await card.getByLabel('Signed requester file').setInputFiles(asFile('sam-request.json', JSON.stringify({ format: 'vaultkeeper.requester-signature/1', message: exported.typedData.message, signature })));
    await card.getByRole('button', { name: 'Import signed requester file' }).click();
    const signed = page.getByTestId('pending-request').filter({ hasText: 'Sam asks for a rotation' });
    await signed.getByTestId('request-approvals').filter({ hasText: 'waiting for Lena or Nora' }).waitFor({ timeout: 15_000 });
    assert.equal(await signed.getByTestId('requester-signature').count(), 0);
    assert.match(await signed.getByTestId('request-requester').textContent() ?? '', /a guardian, signed with key/);
    await shot('replacement-07-remote-requester');
  });
});
