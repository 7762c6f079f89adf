/**
 * The permit queue in Chromium against the real services: the console (the headless host) and
 * two peer nodes on loopback hold an EdDSA keyset. A bundle with good and bad permits is
 * imported; the bad one is listed with its reason. One permit is reviewed (screenshot) and
 * approved, one rejected with a reason, two approved in bulk after reading their totals; the
 * approved one is signed by the 2-of-3 cluster with progress shown, and its signed result is
 * shown as a QR and exported to a file.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Keypair } from '@solana/web3.js';
import type { Browser, Page } from 'playwright-core';
import { buildSolanaTransfer } from '../../main/chains/build';
import type { Coordinator } from '../../main/coordinator/server';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import { serializeBundle } from '../../main/permits/permit-bundle';
import type { Services } from '../../main/services';
import type { KeysetPolicy } from '../../preload/contract';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from '../cluster/support';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('permit queue screens in the browser', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let coordinator: Coordinator;
  let peers: TestNode[] = [];
  const files = tempDir('vk-queue-e2e-');
  const issuer = generateIssuerKey();
  const recipient = Keypair.generate().publicKey.toBase58();
  const stranger = Keypair.generate().publicKey.toBase58();

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name: 'console' } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    for (const n of peers) await stopNode(n).catch(() => undefined);
    await harness?.stop();
    await coordinator?.close();
    files.cleanup();
  });

  /** Console and two headless peers, one EdDSA keyset, the same issuer and policy on every node. */
  const cluster = async (): Promise<{ keysetId: string; address: string }> => {
    coordinator = await startCoordinator();
    peers = [await startNode('node-b', undefined, undefined, { authorizer: 'permits' }), await startNode('node-c', undefined, undefined, { authorizer: 'permits' })];
    const consoleNode = { name: 'console', services: harness.services } as unknown as TestNode;
    await enrolAll([consoleNode, ...peers]);
    for (const s of [harness.services, ...peers.map((p) => p.services)]) await s.cluster.connect(coordinator.url);
    const keyset = await harness.services.cluster.createKeyset('eddsa');
    await until(() => peers.every((p) => p.services.cluster.keyset(keyset.keysetId)?.status === 'active'), 20_000);
    const policy: KeysetPolicy = { keysetId: keyset.keysetId, allowlist: [recipient], allowlistLabels: { [recipient]: 'Payroll float' }, assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '10', dailyCap: '20', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 900 };
    const setUp = (s: Services, authorize: boolean) => {
      s.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'treasury issuer', lab: false }], false, 'test');
      s.policy.applyNodeSetup({ policies: [policy], authorizations: authorize ? [{ id: '6a1e0c1e-0000-4000-8000-0000000e2e00', scope: { keysetId: keyset.keysetId, destinations: [recipient], assets: { native: { perTxMax: '10', dailyCap: '20' } }, validForMinutes: 60 } }] : [] }, false, 'test');
    };
    setUp(harness.services, false);
    for (const p of peers) setUp(p.services, true);
    return { keysetId: keyset.keysetId, address: keyset.address! };
  };

  it('import, review, approve, reject, bulk approval with totals, signing with progress, export with QR', async () => {
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    const { keysetId, address } = await cluster();

    const permit = (id: string, sol: number, to = recipient) =>
      issuePermit({ keysetId, chain: { kind: 'solana', cluster: 'devnet' }, permitId: id, ttlSeconds: 900, issuedAt: Date.now(), payload: buildSolanaTransfer({ type: 'sol', from: address, to, amount: BigInt(sol * 1e9), recentBlockhash: '11111111111111111111111111111111' }) }, issuer.secretKey);
    const bundle = join(files.path, 'bundle.json');
    writeFileSync(bundle, serializeBundle([permit('pay-1', 1.5), permit('pay-2', 2), permit('pay-3', 0.25), permit('pay-4', 0.5), permit('to-stranger', 1, stranger)]));

    await page.getByRole('button', { name: 'Permit queue' }).click();
    await page.getByLabel('Bundle file (absolute path)').fill(bundle);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const report = page.getByTestId('import-report');
    await report.waitFor();
    assert.match(await report.innerText(), /Imported 4 permits; refused 1 permit and 0 bundles/);
    assert.match(await report.locator('[data-refused-permit="to-stranger"]').innerText(), /is not on the allowlist of keyset/);
    assert.match(await page.getByTestId('queue-totals').innerText(), /4.25 SOL in 4 transfers/);

    // Review one, read it, approve it.
    await page.locator('tr[data-permit="pay-1"]').getByRole('button', { name: 'Review' }).click();
    const review = page.getByTestId('review');
    await review.waitFor();
    const words = await review.getByTestId('review-words').innerText();
    assert.match(words, /Solana devnet/);
    assert.match(words, new RegExp(`1.5 SOL\\s+to ${recipient}`));
    assert.match(words, /on the allowlist of keyset/);
    // The allowlist's name for the destination, beside the address and marked as a label.
    assert.equal(await review.getByTestId('allowlist-name').innerText(), '(allowlist label: “Payroll float”)');
    assert.match(words, new RegExp(`to ${recipient} \\(allowlist label: “Payroll float”\\)`));
    assert.equal(await review.locator('[data-check="issuer"]').getAttribute('data-status'), 'pass');
    assert.equal(await review.locator('[data-check="approval"]').getAttribute('data-status'), 'fail');
    assert.match(await review.getByTestId('review-upstream').innerText(), /approved by approver-1, approver-2 \(2 of 2 required\)/);
    assert.match(await review.getByTestId('review-headroom').innerText(), /SOL: 1.5 of 20 used in 24 h after this \(0 before\); 18.5 left/);
    assert.match(await review.getByTestId('countdown').innerText(), /min \d+ s left/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'permit-queue-review.png'), fullPage: true });
    await review.getByRole('button', { name: 'Approve this permit' }).click();
    await page.locator('tr[data-permit="pay-1"][data-state="approved"]').waitFor();
    await review.getByRole('button', { name: 'Close' }).click();

    // Reject one with a reason: the queue shows it.
    await page.locator('tr[data-permit="pay-2"]').getByRole('button', { name: 'Review' }).click();
    await page.getByTestId('review').getByRole('button', { name: 'Reject…' }).click();
    await page.getByLabel('Why is it rejected?').fill('duplicate of an earlier payout');
    await page.getByRole('button', { name: 'Reject permit' }).click();
    await page.locator('tr[data-permit="pay-2"][data-state="rejected"]').waitFor();
    assert.equal(await page.locator('tr[data-permit="pay-2"]').getByTestId('state-reason').innerText(), 'Rejected by operator: duplicate of an earlier payout');
    await page.getByTestId('review').getByRole('button', { name: 'Close' }).click();

    // Bulk approval of two, after reading the totals.
    await page.getByLabel('Select pay-3').check();
    await page.getByLabel('Select pay-4').check();
    await page.getByRole('button', { name: 'Approve selected…' }).click();
    const confirm = page.getByTestId('bulk-confirm');
    await confirm.waitFor();
    assert.match(await confirm.getByRole('heading').innerText(), /Approve 2 permits\?/);
    assert.equal(await confirm.getByTestId('bulk-per-asset').innerText(), '0.75 SOL');
    assert.match(await confirm.getByTestId('bulk-per-destination').innerText(), new RegExp(`0.75 SOL → ${recipient}`));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'permit-queue-bulk.png'), fullPage: true });
    await confirm.getByRole('button', { name: 'Approve these 2' }).click();
    await page.locator('tr[data-permit="pay-4"][data-state="approved"]').waitFor();

    // Sign through the cluster: pay-1, reviewed alone, and pay-3 and pay-4, still selected from the
    // bulk approval; progress shows until pay-1 is signed.
    // The peers' round messages reach the console a little late (order kept), so the screen can
    // show the round the session is in; on loopback it would otherwise finish between two polls.
    const handleNetworkMessage = harness.services.cluster.handleNetworkMessage.bind(harness.services.cluster);
    let arrivals = Promise.resolve();
    harness.services.cluster.handleNetworkMessage = (m: unknown) => {
      if ((m as { t?: string }).t !== 'envelope') return handleNetworkMessage(m);
      arrivals = arrivals.then(() => new Promise((r) => setTimeout(r, 1_200))).then(() => handleNetworkMessage(m));
      return arrivals;
    };
    try {
      await page.getByLabel('Select pay-1').check();
      await page.getByRole('button', { name: /Sign selected approved/ }).click();
      await page.locator('tr[data-permit="pay-1"] [data-testid="progress"]').waitFor();
      await page.locator('tr[data-permit="pay-1"] [data-testid="signing-round"]').waitFor({ timeout: 30_000 });
      assert.match(await page.locator('tr[data-permit="pay-1"] [data-testid="progress"]').innerText(), /^Signing, round [12] of 2:/);
      await page.locator('tr[data-permit="pay-1"][data-state="signed"]').waitFor({ timeout: 60_000 });
    } finally {
      harness.services.cluster.handleNetworkMessage = handleNetworkMessage;
    }
    assert.match(await page.locator('tr[data-permit="pay-1"] [data-testid="progress"]').innerText(), /Done: Signed by 2 nodes/);

    // The signed result: QR, hash, export.
    await page.locator('tr[data-permit="pay-1"]').getByRole('button', { name: 'Signed result' }).click();
    const signed = page.getByTestId('signed-result');
    await signed.getByTestId('result-qr').waitFor();
    const hash = await signed.getByTestId('signed-hash').innerText();
    assert.equal(hash, harness.services.permitQueue.signedResult('pay-1').signedTxHash);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'permit-queue-signed.png'), fullPage: true });
    await signed.getByLabel('Export to folder (absolute path)').fill(files.path);
    await signed.getByRole('button', { name: 'Export result file' }).click();
    await page.locator('tr[data-permit="pay-1"][data-state="exported"]').waitFor();
    const written = /Written to (\S+)\./.exec(await signed.getByTestId('export-note').innerText())![1]!;
    assert.ok(existsSync(written));
    const file = JSON.parse(readFileSync(written, 'utf8')) as { format: string; results: Array<{ permitId: string; transactionHash: string }> };
    assert.deepEqual([file.format, file.results[0]!.permitId, file.results[0]!.transactionHash], ['vaultkeeper/signed-transactions', 'pay-1', hash]);
    const audit = harness.services.audit.list().entries.map((e) => `${e.type}:${e.subject}`);
    for (const event of ['PERMIT_QUEUE_IMPORTED:bundle.json', 'PERMIT_QUEUE_REJECTED:pay-2', 'SIGN_PERMIT_ACCEPTED:pay-1', 'PERMIT_QUEUE_SIGNED:pay-1', 'PERMIT_QUEUE_EXPORTED:pay-1']) assert.ok(audit.includes(event), event);

    // Bulk signing is a job in main: with the quorum slow, it stays shown (and Sign stays disabled)
    // across leaving the screen and a reload, then ends with its counts.
    const consoleCluster = harness.services.cluster;
    const signWithPermit = consoleCluster.signWithPermit.bind(consoleCluster);
    let release: () => void = () => undefined;
    const slowQuorum = new Promise<void>((r) => (release = r));
    consoleCluster.signWithPermit = async (...args) => {
      await slowQuorum;
      return signWithPermit(...args);
    };
    try {
      const signJob = () => page.locator('[data-testid="job"][data-job-kind="bulk-sign"]').first();
      const signButton = () => page.getByTestId('queue-sign');
      // Two more permits, imported and approved behind the screen.
      const more = join(files.path, 'bundle-2.json');
      writeFileSync(more, serializeBundle([permit('pay-5', 0.3), permit('pay-6', 0.35)]));
      assert.deepEqual(harness.services.permitQueue.importFrom({ from: 'file', path: more }).refusedPermits, []);
      for (const id of ['pay-5', 'pay-6']) harness.services.permitQueue.approve(id);
      await page.locator('tr[data-permit="pay-6"][data-state="approved"]').waitFor();
      await page.getByLabel('Select pay-5').check();
      await page.getByLabel('Select pay-6').check();
      await signButton().click();
      await signJob().waitFor();
      assert.equal(await signJob().getAttribute('data-job-state'), 'running');
      await page.waitForFunction(() => /Signing permit 1 of 2/.test(document.querySelector('[data-job-kind="bulk-sign"] [data-testid="job-phase"]')?.textContent ?? ''));
      assert.ok(await signButton().isDisabled(), 'no second signing while one runs');
      await page.getByRole('button', { name: 'Overview' }).click();
      await page.getByRole('button', { name: 'Permit queue' }).click();
      await signJob().waitFor();
      assert.equal(await signJob().getAttribute('data-job-state'), 'running', 'still shown after leaving the screen');
      await page.reload();
      await page.getByRole('button', { name: 'Permit queue' }).click();
      await signJob().waitFor();
      assert.equal(await signJob().getAttribute('data-job-state'), 'running', 'still shown after a reload');
      await page.waitForFunction(() => (document.querySelector('[data-testid="queue-sign"]') as HTMLButtonElement | null)?.disabled === true);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'permit-queue-bulk-signing-job.png'), fullPage: true });
      release();
      await page.locator('[data-testid="job"][data-job-kind="bulk-sign"][data-job-state="succeeded"]').waitFor({ timeout: 60_000 });
      assert.equal(await signJob().getByTestId('job-result').innerText(), '2 of 2 permits signed');
      await page.locator('tr[data-permit="pay-6"][data-state="signed"]').waitFor();
    } finally {
      release();
      consoleCluster.signWithPermit = signWithPermit;
    }
  });
});
