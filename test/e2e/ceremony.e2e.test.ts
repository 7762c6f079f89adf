/**
 * The master-seed ceremony in the real UI (Debian Chromium, headless host, real services,
 * emulated Ledger): the console-generated ceremony from the guarded start to the certificate
 * (screenshot of every step, the certificate saved as PDF from its screen), then a verify-only recovery with
 * two shares, and a refused recovery with a wrong share; cold signing from the master wallet on
 * the emulated Ledger through the Cold signing tab, mined by a local anvil. Guardian approvals are given through
 * the services here; their UI is covered by guardians.e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { parseEther, Transaction, Wallet } from 'ethers';
import { chromiumPdfPrinter, findChromium } from '../../main/platform/pdf-printer';
import { generateEntropy } from '../../main/ceremony/seed';
import { shareToWords, splitEntropy } from '../../main/ceremony/shamir-backup';
import { EMULATOR_MNEMONIC, emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { anvilAvailable, startAnvil } from '../support/anvil';
import { launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { qrPng, writeQrY4m } from '../support/qr-video';
import { LEDGER_PATH, softwareKey, TEST_KEY_FILE_N } from '../support/guardians';
import { startTestHost } from '../support/host';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';

const SAM = 'sam river quartz lantern 41';
const SOFIA = 'sofia meadow cobalt harbor 17';

describe('master-seed ceremony in the browser', () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  const device = new LedgerEthEmulator();
  const keys: Record<string, string> = {};
  let words: string[] = [];
  let shares: string[][] = [];
  let ceremonyId = '';
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `ceremony-${name}.png`), fullPage: true });
  const approve = async (requestId: string) => {
    const { guardians } = harness.services;
    await guardians.signWithKeyFile(requestId, keys.sam!, SAM, 'approve');
    await guardians.signWithKeyFile(requestId, keys.sofia!, SOFIA, 'approve');
  };

  before(async () => {
    harness = await startTestHost({ ledgerTransport: emulatorTransport(device), keyFileScryptN: TEST_KEY_FILE_N, kdfCost: TEST_KDF_COST, pdfPrinter: chromiumPdfPrinter(findChromium()!) });
    const { vault, guardians } = harness.services;
    await vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    await guardians.enrol({ method: 'ledger', name: 'Lena', derivationPath: LEDGER_PATH });
    keys.sam = (await softwareKey(SAM)).keyFile;
    keys.sofia = (await softwareKey(SOFIA)).keyFile;
    await guardians.enrol({ method: 'software', name: 'Sam', keyFile: keys.sam, passphrase: SAM });
    await guardians.enrol({ method: 'software', name: 'Sofia', keyFile: keys.sofia, passphrase: SOFIA });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
  });

  it('runs the console-generated ceremony from the guarded start to the certificate', async () => {
    await page.goto(harness.host.url);
    await page.getByRole('button', { name: 'Ceremony', exact: true }).click();
    await page.getByLabel('Ceremony name').fill('Vault master seed 2026');
    await page.getByLabel("Operator's vault passphrase").fill(GOOD_PASSPHRASE);
    await page.getByRole('button', { name: 'Request guardian approval' }).click();
    const requestId = (await page.getByTestId('start-request').locator('.mono').textContent())!;
    await page.getByRole('button', { name: 'Start ceremony' }).click();
    await page.locator('[data-error-code="QUORUM_NOT_MET"]').waitFor();
    await shot('01-start-refused-without-quorum');
    await approve(requestId);
    await page.getByRole('button', { name: 'Start ceremony' }).click();

    const grid = page.getByTestId('seed-words');
    await grid.waitFor({ timeout: 15_000 });
    words = await grid.getByTestId('secret-word').allTextContents();
    assert.equal(words.length, 24);
    await shot('02-words-shown-once');
    await page.getByRole('button', { name: 'I have written down all 24 words' }).click();
    await page.getByRole('heading', { name: 'Check the sheet' }).waitFor();
    assert.equal(await page.getByTestId('secret-word').count(), 0, 'the words left the screen');

    const labels = await page.locator('.check-grid label').allTextContents();
    const positions = labels.map((l) => Number(l.replace('Word ', '')));
    assert.ok(positions.length >= 4);
    for (const [k, p] of positions.entries()) await page.getByLabel(`Word ${p}`, { exact: true }).fill(k === 0 ? (words[p - 1] === 'zoo' ? 'abandon' : 'zoo') : words[p - 1]!);
    await page.getByRole('button', { name: 'Check words' }).click();
    await page.locator('[data-error-code="TRANSCRIPTION_MISMATCH"]').waitFor();
    await shot('03-transcription-mismatch');
    await page.getByLabel(`Word ${positions[0]}`, { exact: true }).fill(words[positions[0]! - 1]!);
    await page.getByRole('button', { name: 'Check words' }).click();

    await page.getByRole('button', { name: 'Issue the guardian shares' }).click();
    const sheets = page.getByTestId('share-sheet');
    await sheets.first().waitFor();
    assert.equal(await sheets.count(), 3);
    shares = [];
    for (let i = 0; i < 3; i += 1) shares.push(await sheets.nth(i).getByTestId('secret-word').allTextContents());
    assert.ok(shares.every((s) => s.length === 25));
    assert.deepEqual(await sheets.evaluateAll((els) => els.map((e) => e.getAttribute('data-guardian'))), ['Lena', 'Sam', 'Sofia']);
    await shot('04-guardian-share-sheets');
    await page.getByRole('button', { name: 'All three sheets are handed over' }).click();

    device.useMnemonic(EMULATOR_MNEMONIC);
    await page.getByRole('button', { name: 'Verify on the Ledger' }).click();
    await page.locator('[data-error-code="LEDGER_SEED_MISMATCH"]').waitFor({ timeout: 15_000 });
    await shot('05-ledger-with-another-seed');
    device.useMnemonic(words.join(' '));
    await page.getByRole('button', { name: 'Verify on the Ledger' }).click();
    await page.getByRole('button', { name: 'Verify Solana on the Ledger' }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Verify Solana on the Ledger' }).click();
    await page.locator('[data-error-code="LEDGER_WRONG_APP"]').waitFor({ timeout: 15_000 });
    assert.match((await page.locator('[data-error-code="LEDGER_WRONG_APP"]').textContent())!, /Solana app is not open/);
    device.app = 'solana';
    await page.getByRole('button', { name: 'Verify Solana on the Ledger' }).click();
    await page.getByRole('button', { name: 'Wipe the seed and finish' }).waitFor({ timeout: 15_000 });
    device.app = 'ethereum';
    assert.equal(await page.locator('[data-testid="ledger-checks"] tr[data-matches="false"]').count(), 0);
    assert.equal(await page.locator('[data-testid="ledger-checks"] tr[data-matches="true"]').filter({ hasText: "m/44'/501'/0'/0'" }).count(), 1, 'the Solana account was checked on the device');
    await shot('06-ledger-verified');
    await page.getByRole('button', { name: 'Wipe the seed and finish' }).click();

    const certifyId = (await page.getByTestId('certify-request').textContent({ timeout: 15_000 }))!;
    await shot('07-awaiting-guardian-signatures');
    await approve(certifyId);
    await page.getByRole('button', { name: 'Record the signatures and issue the certificate' }).click();
    await page.getByTestId('certificate').waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('certificate-signatures').locator('li').count(), 2);
    await page.getByRole('button', { name: 'Verify on device' }).first().click();
    await page.getByText('the Ledger shows').waitFor();
    await shot('08-certificate');
    ceremonyId = (await harness.services.ceremony.ceremonies.list())[0]!.id;
    const text = await page.locator('body').innerText();
    for (let i = 0; i + 1 < words.length; i += 1) assert.ok(!text.includes(`${words[i]} ${words[i + 1]}`), 'no seed words on the certificate screen');
  });

  it('saves the certificate as a PDF from the certificate screen; the file is audited and shows the transcript hash', async () => {
    await page.getByRole('button', { name: 'Save as PDF' }).click();
    const saved = page.getByTestId('certificate-pdf');
    await saved.waitFor({ timeout: 60_000 });
    const certificate = await harness.services.ceremony.ceremonies.certificate(ceremonyId);
    const pdfPath = (await saved.locator('.mono').first().textContent())!;
    const pdf = readFileSync(pdfPath);
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.ok(pdf.length > 20_000, `PDF of ${pdf.length} bytes`);
    assert.equal(statSync(pdfPath).mode & 0o777, 0o600);
    const sha256 = createHash('sha256').update(pdf).digest('hex');
    assert.match((await saved.textContent())!, new RegExp(sha256));
    const [event] = harness.services.audit.list({ type: 'CEREMONY_CERTIFICATE_EXPORTED', limit: 5 }).entries;
    assert.equal(event?.details.pdfSha256, sha256);
    assert.equal(event?.details.transcriptHash, certificate.transcriptHash);
    // The PDF as an image: Chromium's own PDF viewer renders the file; the screenshot is kept to be
    // looked at, and must hold more than the empty viewer frame (about 9 kB) once the pages paint.
    const viewer = await browser.newPage({ viewport: { width: 1000, height: 1300 } });
    await viewer.goto(`file://${pdfPath}`).catch(() => undefined);
    let image: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 30 && image.length < 60_000; i += 1) {
      await viewer.waitForTimeout(500);
      image = await viewer.screenshot({ path: join(SCREENSHOT_DIR, 'ceremony-09-certificate-pdf.png') });
    }
    assert.ok(image.length >= 60_000, `the PDF viewer painted the certificate (${image.length} bytes of screenshot)`);
    await viewer.close();
    // The print view itself carries the transcript hash in text (the PDF's text is compressed).
    const printPage = await browser.newPage();
    await printPage.setContent(certificate.html, { waitUntil: 'load' });
    await printPage.emulateMedia({ media: 'print' });
    await printPage.screenshot({ path: join(SCREENSHOT_DIR, 'ceremony-09-certificate-print-media.png'), fullPage: true });
    assert.ok(await printPage.getByText(certificate.transcriptHash).first().isVisible());
    await printPage.close();
  });

  it('signs a cold transaction from the master wallet on the Ledger after two guardians approve, and anvil mines it', { skip: !anvilAvailable() && 'anvil binary missing' }, async () => {
    const anvil = await startAnvil();
    try {
      const master = (await harness.services.ceremony.ceremonies.list())[0]!.addresses.find((a) => a.chain === 'evm' && a.index === 0)!.address;
      await anvil.rpc('anvil_setBalance', [master, `0x${parseEther('10').toString(16)}`]);
      const recipient = Wallet.createRandom().address;
      await page.getByRole('tab', { name: 'Cold signing' }).click();
      await page.getByLabel('Recipient address').fill(recipient);
      await page.getByLabel('Amount (ETH)').fill('1.25');
      await page.getByLabel('Chain id').fill('31337');
      await page.getByLabel('Max fee (gwei)').fill('3');
      await page.getByLabel("Reason (guardians read it)").fill('Fund the operations wallet');
      await page.getByLabel("Operator's vault passphrase").fill(GOOD_PASSPHRASE);
      await page.getByRole('button', { name: 'Request guardian approval' }).click();
      const requested = page.getByRole('status').filter({ hasText: 'Approval requested' });
      await requested.waitFor({ timeout: 15_000 });
      assert.match((await requested.textContent())!, /1\.25 ETH/);
      const requestId = (await requested.locator('.mono').textContent())!;

      const apdus = device.log.length;
      await page.getByRole('button', { name: 'Sign on the Ledger' }).click();
      await page.locator('[data-error-code="QUORUM_NOT_MET"]').waitFor();
      assert.equal(device.log.length, apdus, 'nothing reached the device without the quorum');
      await approve(requestId);

      await page.getByRole('button', { name: 'Show what the Ledger will display' }).click();
      const screens = page.getByTestId('device-screens');
      await screens.waitFor();
      const shown = await screens.locator('li').allTextContents();
      assert.ok(shown.includes('Amount: ETH 1.25') && shown.includes(`Address: ${recipient}`), shown.join(' | '));
      device.state = 'locked';
      await page.getByRole('button', { name: 'Sign on the Ledger' }).click();
      await page.locator('[data-error-code="LEDGER_LOCKED"]').waitFor({ timeout: 15_000 });
      device.state = 'ready';
      await page.getByRole('button', { name: 'Sign on the Ledger' }).click();
      const signed = page.getByTestId('cold-signed');
      await signed.waitFor({ timeout: 15_000 });
      await shot('09b-cold-signed');
      const rawTx = await page.getByLabel('Signed transaction').inputValue();
      const tx = Transaction.from(rawTx);
      assert.equal(tx.from, master);
      assert.equal(tx.to, recipient);
      assert.equal(tx.value, parseEther('1.25'));

      const hash = await anvil.rpc<string>('eth_sendRawTransaction', [rawTx]);
      assert.match((await signed.textContent())!, new RegExp(hash));
      let receipt: { status: string } | null = null;
      for (let i = 0; i < 50 && !receipt; i += 1) {
        receipt = await anvil.rpc('eth_getTransactionReceipt', [hash]);
        if (!receipt) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(receipt?.status, '0x1');
      assert.equal(BigInt(await anvil.rpc<string>('eth_getBalance', [recipient, 'latest'])), parseEther('1.25'));
    } finally {
      await anvil.stop();
    }
  });

  it('verifies the backup with two shares, one at a time, showing nothing', async () => {
    await page.getByRole('tab', { name: 'Recovery' }).click();
    await page.getByLabel('Verify only (drill: shows nothing)').check();
    await page.getByRole('button', { name: 'Start recovery' }).click();
    await page.getByTestId('recovery-progress').waitFor();
    assert.match((await page.getByTestId('recovery-progress').textContent())!, /0 of 2 shares/);
    await page.getByLabel(/Share words of the next guardian/).fill(shares[0]!.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByText(/1 of 2 shares entered/).waitFor();
    await shot('10-recovery-one-share');
    await page.getByLabel(/Share words of the next guardian/).fill(shares[2]!.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByTestId('recovery-result').waitFor({ timeout: 15_000 });
    assert.match((await page.getByTestId('recovery-result').textContent())!, /Verified: two shares rebuild the recorded seed/);
    assert.equal(await page.getByTestId('secret-word').count(), 0);
    await shot('11-recovery-verified');
    await page.getByRole('button', { name: 'Close recovery (wipe)' }).click();
  });

  it('refuses a recovery with a wrong share and reveals nothing', async () => {
    await page.getByLabel('Recover (then verify or load a Ledger, or show the words)').check();
    await page.getByRole('button', { name: 'Start recovery' }).click();
    await page.getByLabel(/Share words of the next guardian/).fill(shares[1]!.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByText(/1 of 2 shares entered/).waitFor();
    const foreign = shareToWords((await splitEntropy(generateEntropy()))[0]!);
    await page.getByLabel(/Share words of the next guardian/).fill(foreign.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    const refused = page.locator('[data-error-code="SHARE_UNKNOWN"]');
    await refused.waitFor();
    assert.match((await refused.textContent())!, /not one of the shares issued at this ceremony/);
    assert.equal(await page.getByTestId('recovery-result').count(), 0);
    assert.equal(await page.getByTestId('secret-word').count(), 0);
    await shot('12-recovery-wrong-share-refused');
    const typo = [...shares[0]!];
    typo[4] = typo[4] === 'abandon' ? 'ability' : 'abandon';
    await page.getByLabel(/Share words of the next guardian/).fill(typo.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.locator('[data-error-code="SHARE_MALFORMED"]').waitFor();
    await page.getByRole('button', { name: 'Reset (discard entered shares)' }).click();
    await page.getByText(/0 of 2 shares entered/).waitFor();
    await shot('13-recovery-reset');
  });

  it('recovers with two shares and shows the words only after a fresh passphrase confirmation, then hides them', async () => {
    await page.getByLabel(/Share words of the next guardian/).fill(shares[2]!.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByText(/1 of 2 shares entered/).waitFor();
    await page.getByLabel(/Share words of the next guardian/).fill(shares[0]!.join(' '));
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByTestId('recovery-result').waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('secret-word').count(), 0, 'nothing shown before the reveal');
    await page.getByLabel('Vault passphrase').fill('not the vault passphrase');
    await page.getByRole('button', { name: 'Show the 24 words' }).click();
    await page.locator('[data-error-code="WRONG_PASSPHRASE"]').waitFor({ timeout: 15_000 });
    await page.getByLabel('Vault passphrase').fill(GOOD_PASSPHRASE);
    await page.getByRole('button', { name: 'Show the 24 words' }).click();
    const revealed = page.getByTestId('revealed-words');
    await revealed.waitFor({ timeout: 15_000 });
    assert.deepEqual(await revealed.getByTestId('secret-word').allTextContents(), words);
    assert.match((await page.getByTestId('words-countdown').textContent())!, /clear from the screen in \d+ s\. 2 reveals left this hour/);
    await shot('14-recovery-words-revealed');
    await page.getByRole('button', { name: 'Hide the words now' }).click();
    assert.equal(await page.getByTestId('secret-word').count(), 0);
    await page.getByRole('button', { name: 'Close recovery (wipe)' }).click();
    await page.getByRole('button', { name: 'Start recovery' }).waitFor();
  });
  it('reads the guardian shares from QR codes: one through the camera (Chromium fake capture), one from an image file', async () => {
    // A share QR carries the same text as the share sheet's QR: the 25 words.
    const video = join(SCREENSHOT_DIR, 'share-qr.y4m');
    writeQrY4m(video, shares[1]!.join(' '));
    const cameraBrowser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
    try {
      const scanner = await cameraBrowser.newPage({ viewport: { width: 1280, height: 900 } });
      scanner.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
      await scanner.goto(harness.host.newAccessUrl());
      await scanner.getByRole('button', { name: 'Ceremony', exact: true }).click();
      await scanner.getByRole('tab', { name: 'Recovery' }).click();
      await scanner.getByLabel('Verify only (drill: shows nothing)').check();
      await scanner.getByRole('button', { name: 'Start recovery' }).click();
      await scanner.getByRole('button', { name: "Scan the guardian's share QR with the camera" }).click();
      await scanner.getByText('QR code read.').waitFor({ timeout: 30_000 });
      assert.equal(await scanner.getByLabel(/Share words of the next guardian/).inputValue(), shares[1]!.join(' '));
      await scanner.screenshot({ path: join(SCREENSHOT_DIR, 'ceremony-15-share-scanned-by-camera.png'), fullPage: true });
      await scanner.getByRole('button', { name: 'Enter share' }).click();
      await scanner.getByText(/1 of 2 shares entered/).waitFor();

      const picker = scanner.getByLabel("Or read the guardian's share QR from an image file");
      // A picture without a QR code says so and changes nothing.
      await picker.setInputFiles({ name: 'no-qr.png', mimeType: 'image/png', buffer: await scanner.screenshot({ clip: { x: 0, y: 0, width: 200, height: 120 } }) });
      await scanner.getByText('No QR code found in no-qr.png').waitFor({ timeout: 15_000 });
      await picker.setInputFiles({ name: 'share-3.png', mimeType: 'image/png', buffer: await qrPng(shares[2]!.join(' ')) });
      await scanner.getByText('QR code read from the image.').waitFor({ timeout: 15_000 });
      assert.equal(await scanner.getByLabel(/Share words of the next guardian/).inputValue(), shares[2]!.join(' '));
      await scanner.getByRole('button', { name: 'Enter share' }).click();
      await scanner.getByTestId('recovery-result').waitFor({ timeout: 15_000 });
      assert.match((await scanner.getByTestId('recovery-result').textContent())!, /Verified: two shares rebuild the recorded seed/);
      await scanner.getByRole('button', { name: 'Close recovery (wipe)' }).click();
    } finally {
      await cameraBrowser.close();
    }
  });
});
