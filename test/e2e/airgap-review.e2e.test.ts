/**
 * The console on the receiving side of the air gap, in Chromium: node A writes key-check session
 * requests to a folder; the console reviews them on the Keysets screen (who asks, keyset,
 * protocol, what is signed in words), approves one — its reply goes to the folder and the
 * requester ends with the signature — refuses another with a reason (required; the signed refusal
 * goes to the folder and ends the requester's session, and a later import reports it as refused
 * before), and sees a request altered on the medium marked as such, with no button to act on it.
 * Then the console is the requester: node A refuses its request, and the console's session view
 * says "Refused by node node-a: <reason>". Last, a refusal whose reply cannot be written stays
 * refused (the error in view), and the next import writes the reply and says so.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Browser, Page } from 'playwright-core';
import { bundleFileName } from '../../main/cluster/airgap';
import type { Coordinator } from '../../main/coordinator/server';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from '../cluster/support';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('air-gap requests reviewed in the console', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page;
  let coordinator: Coordinator;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let peers: TestNode[] = [];
  const state = tempDir('vk-review-state-');
  const media = tempDir('vk-review-medium-');
  let keysetId = '';
  let publicKey = '';
  let consoleId = '';

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name: 'console-b', stateDir: state.path } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    peers = [await startNode('node-a'), await startNode('node-c')];
    const me = await harness.services.cluster.identity();
    consoleId = me.nodeId;
    const consoleNode = { name: 'console-b', services: harness.services } as TestNode;
    await enrolAll([peers[0]!, consoleNode, peers[1]!]);
    coordinator = await startCoordinator();
    harness.services.cluster.openKeygenWindow(30);
    for (const s of [peers[0]!.services, harness.services, peers[1]!.services]) await s.cluster.connect(coordinator.url);
    const keyset = await peers[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    publicKey = keyset.publicKey!;
    await until(() => harness.services.cluster.keyset(keysetId)?.status === 'active', 30_000);
  });

  after(async () => {
    await browser?.close();
    for (const p of peers) await stopNode(p).catch(() => undefined);
    await harness?.stop();
    await coordinator?.close();
    state.cleanup();
    media.cleanup();
  });

  it('reviews, approves one request (the requester gets the signature), refuses another, and marks an altered one', async () => {
    const folder = join(media.path, 'stick');
    mkdirSync(folder);
    const a = peers[0]!.services.cluster;
    const approveMe = await a.airgapRequest(keysetId, { purpose: 'key-check' }, consoleId, folder);
    const refuseMe = await a.airgapRequest(keysetId, { purpose: 'drill' }, consoleId, folder);
    const alterMe = await a.airgapRequest(keysetId, { purpose: 'restore-proof' }, consoleId, folder);
    const altered = join(folder, readdirSync(folder).find((x) => x.startsWith(`vk-${alterMe.sessionId.slice(0, 16)}-r000-`))!);
    const bundle = JSON.parse(readFileSync(altered, 'utf8'));
    bundle.body.request.body.deadlineAt += 60_000;
    writeFileSync(altered, JSON.stringify(bundle));

    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByLabel('Bundle folder (absolute path, e.g. the USB stick)').fill(folder);
    const airgap = page.getByRole('region', { name: 'Air gap: bundles on removable media' });
    // A plain import joins nothing: the requests wait for review.
    await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
    await page.getByTestId('airgap-report').waitFor();
    assert.match((await page.getByTestId('airgap-report').textContent()) ?? '', /2 session request\(s\) wait for your review/);
    assert.match((await page.getByTestId('airgap-report').textContent()) ?? '', /BUNDLE_TAMPERED/, 'the altered request is reported at once');
    assert.equal(harness.services.cluster.airgapSessions().length, 0);

    await airgap.getByRole('button', { name: 'Review requests in folder' }).click();
    await page.getByTestId('airgap-request').nth(2).waitFor();
    const card = (sid: string) => page.locator(`[data-testid="airgap-request"][data-session="${sid}"]`);
    const good = card(approveMe.sessionId);
    assert.match((await good.textContent()) ?? '', /From\s*node-a/);
    assert.match((await good.getByTestId('airgap-request-description').textContent()) ?? '', /^Sign a key check: a fixed test message of keyset ks-[^ ]+, never a transaction\.$/);
    assert.match((await good.textContent()) ?? '', /eddsa-sign/);
    assert.match((await card(refuseMe.sessionId).getByTestId('airgap-request-description').textContent()) ?? '', /^Sign a recovery drill/);
    const bad = card(alterMe.sessionId);
    assert.match((await bad.textContent()) ?? '', /Cannot be joined/);
    assert.equal(await bad.locator('[data-error-code="BUNDLE_BAD_SIGNATURE"], [data-error-code="BUNDLE_TAMPERED"]').count(), 1);
    assert.equal(await bad.getByRole('button').count(), 0, 'nothing to approve or refuse on an altered request');

    // Another folder typed in: the list read from the first one is not offered for approval there.
    const folderField = page.getByLabel('Bundle folder (absolute path, e.g. the USB stick)');
    await folderField.fill(join(media.path, 'another-stick'));
    await page.getByTestId('airgap-review-stale').waitFor();
    assert.equal(await page.getByTestId('airgap-request').count(), 0, 'no request listed under a folder it was not read from');
    await folderField.fill(folder);
    await good.waitFor();

    // A refusal needs a reason, at most 500 characters.
    const refuseButton = card(refuseMe.sessionId).getByRole('button', { name: 'Refuse' });
    const reasonField = card(refuseMe.sessionId).getByLabel('Reason for refusing (required; the requester reads it)');
    assert.equal(await refuseButton.isDisabled(), true, 'no refusal without a reason');
    await reasonField.fill('   ');
    assert.equal(await refuseButton.isDisabled(), true, 'blanks are no reason');
    assert.equal(await reasonField.getAttribute('maxlength'), '500');
    await reasonField.fill('No drill is planned this week; call the custody desk.');
    assert.equal(await refuseButton.isDisabled(), false);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'airgap-review.png'), fullPage: true });

    await refuseButton.click();
    await card(refuseMe.sessionId).waitFor({ state: 'detached' });
    assert.match((await page.getByTestId('airgap-refused').textContent()) ?? '', new RegExp(`Refused: ${refuseMe.sessionId.slice(0, 16)}… of node-a\\. A signed refusal with your reason is in`));
    const refusal = harness.services.audit.list({ type: 'MPC_SESSION_REFUSED' }).entries.find((e) => e.subject === refuseMe.sessionId);
    assert.equal((refusal?.details as { code?: string } | undefined)?.code, 'OPERATOR_REFUSED');
    assert.equal((refusal?.details as { reason?: string } | undefined)?.reason, 'No drill is planned this week; call the custody desk.');
    assert.ok(readdirSync(folder).some((f) => f.startsWith(`vk-${refuseMe.sessionId.slice(0, 16)}-refusal-`)), 'the signed refusal is on the medium');
    // The requester takes the refusal in: its session ends with the console operator's reason.
    await a.airgapImport(folder);
    await assert.rejects(refuseMe.result, (e: unknown) => e instanceof Error && e.message === "Node console-b's operator refused: No drill is planned this week; call the custody desk.");
    // The console's next import reports the request as refused before, with when and why.
    await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
    await page.getByTestId('airgap-refused-earlier').waitFor();
    assert.match((await page.getByTestId('airgap-refused-earlier').textContent()) ?? '', new RegExp(`request ${refuseMe.sessionId.slice(0, 16)}… on .+, because: No drill is planned this week; call the custody desk\\.`));

    await good.getByRole('button', { name: 'Approve and write reply' }).click();
    await page.getByTestId('airgap-joined').waitFor();
    assert.match((await page.getByTestId('airgap-joined').textContent()) ?? '', new RegExp(`${approveMe.sessionId.slice(0, 16)}.*carry them back`));
    await good.waitFor({ state: 'detached' });
    // The requester and the console trade the remaining rounds through the same folder.
    let done = false;
    void approveMe.result.then(() => (done = true), () => (done = true));
    for (let i = 0; i < 40 && !done; i += 1) {
      await a.airgapImport(folder);
      await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
      await new Promise((r) => setTimeout(r, 300));
    }
    const out = await approveMe.result;
    assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), Buffer.from(approveMe.info.message ?? '', 'hex'), Buffer.from(publicKey, 'hex')));
    // The requester's last round may still be on the medium for the console: one more import takes it in.
    const completedHere = () => harness.services.cluster.sessions().some((s) => s.sessionId === out.sessionId && s.state === 'completed');
    for (let i = 0; i < 20 && !completedHere(); i += 1) {
      await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(completedHere(), 'the console finished its part too');
    assert.equal(harness.services.cluster.airgapSessions().some((h) => h.sessionId === refuseMe.sessionId), false, 'the refused request was never joined');
  });

  it("the console as requester: node A's operator refuses, and the session view says who refused and why", async () => {
    const folder = join(media.path, 'stick-2');
    mkdirSync(folder);
    const airgap = page.getByRole('region', { name: 'Air gap: bundles on removable media' });
    await page.getByLabel('Bundle folder (absolute path, e.g. the USB stick)').fill(folder);
    await airgap.locator('label', { hasText: /^Keyset/ }).locator('select').selectOption(keysetId);
    await airgap.locator('label', { hasText: /^Partner node/ }).locator('select').selectOption(peers[0]!.services.cluster.nodes().find((n) => n.isSelf)!.nodeId);
    await airgap.getByRole('button', { name: 'Export key-check request bundle' }).click();
    await until(() => harness.services.cluster.airgapSessions().length === 1, 10_000);
    const sessionId = harness.services.cluster.airgapSessions()[0]!.sessionId;
    const a = peers[0]!.services.cluster;
    assert.deepEqual((await a.airgapPending(folder)).map((r) => r.sessionId), [sessionId]);
    await a.airgapRefuse(folder, sessionId, 'Unannounced request: phone node-a first.');

    await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
    const row = page.locator(`[data-testid="cluster-session"][data-session="${sessionId}"]`);
    await row.and(page.locator('[data-state="failed"]')).waitFor({ timeout: 15_000 });
    assert.equal(((await row.getByTestId('session-reason').textContent()) ?? '').trim(), 'Refused by node node-a: Unannounced request: phone node-a first.');
    assert.match((await row.textContent()) ?? '', /OPERATOR_REFUSED/);
    const failed = harness.services.audit.list({ type: 'MPC_SIGN_FAILED' }).entries.find((e) => e.subject === sessionId);
    assert.equal((failed?.details as { code?: string } | undefined)?.code, 'OPERATOR_REFUSED');
    await row.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'airgap-refused-session.png'), fullPage: true });
  });

  it('a refusal whose reply cannot be written stays refused with the error in view; the next import writes the reply and says so', async () => {
    const folder = join(media.path, 'stick-3');
    mkdirSync(folder);
    const a = peers[0]!.services.cluster;
    const request = await a.airgapRequest(keysetId, { purpose: 'key-check' }, consoleId, folder);
    // A folder holds the reply's name: its bytes are written, the final rename fails.
    const replyName = bundleFileName({ kind: 'refusal', sid: request.sessionId, round: 0, from: consoleId, to: [a.nodes().find((n) => n.isSelf)!.nodeId] });
    mkdirSync(join(folder, replyName));
    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByLabel('Bundle folder (absolute path, e.g. the USB stick)').fill(folder);
    const airgap = page.getByRole('region', { name: 'Air gap: bundles on removable media' });
    await airgap.getByRole('button', { name: 'Review requests in folder' }).click();
    const card = page.locator(`[data-testid="airgap-request"][data-session="${request.sessionId}"]`);
    await card.getByLabel('Reason for refusing (required; the requester reads it)').fill('Not announced by phone.');
    await card.getByRole('button', { name: 'Refuse' }).click();
    await card.waitFor({ state: 'detached' });
    const failed = page.getByTestId('airgap-review').locator('[data-error-code="BUNDLE_WRITE_FAILED"]');
    assert.match((await failed.textContent()) ?? '', /The refusal is recorded on this node.*import the medium again/);

    rmSync(join(folder, replyName), { recursive: true });
    await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
    await page.getByTestId('airgap-refusal-rewritten').waitFor();
    assert.match((await page.getByTestId('airgap-refusal-rewritten').textContent()) ?? '', new RegExp(`written again as ${replyName.replace(/[.+]/g, '\\$&')}: carry it back`));
    await a.airgapImport(folder);
    await assert.rejects(request.result, (e: unknown) => e instanceof Error && e.message === "Node console-b's operator refused: Not announced by phone.");
  });
});
