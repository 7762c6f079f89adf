/**
 * A permit bundle crosses the air gap as an animated QR in Chromium: one page shows the bundle
 * file as a looping BC-UR animation; a second page, whose camera is Chromium's fake capture
 * device playing a video the test made from screenshots of those frames, reassembles it and imports it through
 * the same verification as a file: the received bytes hash to the file's SHA-256 and the permit
 * is in the queue. In a second video one pure fragment never appears: the fountain code's mixed
 * frames make up for it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Keypair } from '@solana/web3.js';
import type { Browser, Page } from 'playwright-core';
import { buildSolanaTransfer } from '../../main/chains/build';
import type { Coordinator } from '../../main/coordinator/server';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import { serializeBundle } from '../../main/permits/permit-bundle';
import { UrReceiver } from '../../main/qr/ur-receiver';
import type { KeysetPolicy } from '../../preload/contract';
import type { AnimatedQrView } from '../../preload/contract';
import { enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from '../cluster/support';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { pngToLuma, qrPng, writeLumaY4m } from '../support/qr-video';
import { animatedUr, bytesUr } from '../../main/qr/animated-ur';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('animated QR round trip in the browser', { timeout: 300_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let coordinator: Coordinator;
  let peers: TestNode[] = [];
  const files = tempDir('vk-qr-e2e-');
  const issuer = generateIssuerKey();
  const recipient = Keypair.generate().publicKey.toBase58();
  let keysetId = '';
  let address = '';

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name: 'console' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    // The receiving console must hold the keyset and trust the issuer, as for a file import.
    coordinator = await startCoordinator();
    peers = [await startNode('node-b'), await startNode('node-c')];
    const consoleNode = { name: 'console', services: harness.services } as unknown as TestNode;
    await enrolAll([consoleNode, ...peers]);
    for (const s of [harness.services, ...peers.map((p) => p.services)]) await s.cluster.connect(coordinator.url);
    const keyset = await harness.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    address = keyset.address!;
    const policy: KeysetPolicy = { keysetId, allowlist: [recipient], assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '10', dailyCap: '20', guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 900 };
    harness.services.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'treasury issuer', lab: false }], false, 'test');
    harness.services.policy.applyNodeSetup({ policies: [policy], authorizations: [] }, false, 'test');
    await until(() => harness.services.cluster.keyset(keysetId)?.status === 'active', 20_000);
  });

  after(async () => {
    await browser?.close();
    for (const n of peers) await stopNode(n).catch(() => undefined);
    await harness?.stop();
    await coordinator?.close();
    files.cleanup();
  });

  const bundleFile = (name: string, permitId: string, sol: number): string => {
    const permit = issuePermit({ keysetId, chain: { kind: 'solana', cluster: 'devnet' }, permitId, ttlSeconds: 900, issuedAt: Date.now(), payload: buildSolanaTransfer({ type: 'sol', from: address, to: recipient, amount: BigInt(sol * 1e9), recentBlockhash: '11111111111111111111111111111111' }) }, issuer.secretKey);
    const path = join(files.path, name);
    writeFileSync(path, serializeBundle([permit]));
    return path;
  };

  /** The sending page shows the file; the frames it loops through are the ones the test films. */
  const showOnSendingPage = async (path: string): Promise<AnimatedQrView> => {
    await page.getByRole('button', { name: 'Permit queue' }).click();
    await page.getByLabel('A bundle file').check();
    await page.getByLabel('Bundle file (absolute path)').fill(path);
    const toggle = page.getByRole('button', { name: /Show this file as an animated QR|Hide the animated QR/ });
    if ((await toggle.textContent())?.startsWith('Hide')) await toggle.click();
    await toggle.click();
    await page.getByTestId('animated-qr-frame').waitFor();
    const view = await page.evaluate(async (p) => {
      const r = await (window as unknown as { vaultkeeper: { qr: { frames(x: unknown): Promise<{ ok: boolean; value: unknown }> } } }).vaultkeeper.qr.frames({ payload: { kind: 'permit-bundle-file', path: p }, fragmentBytes: 250 });
      return r.value as AnimatedQrView;
    }, path);
    const shown = await page.getByTestId('animated-qr-frame').getAttribute('data-part');
    assert.ok(view.parts.includes(shown!), 'the page shows frames of this loop');
    assert.equal(await page.getByTestId('animated-qr-sha256').textContent(), createHash('sha256').update(readFileSync(path)).digest('hex'));
    assert.ok(view.seqLength >= 3, `several fragments (${view.seqLength})`);
    return view;
  };

  /** Steps through the loop on the paused page, one screenshot per frame as drawn, keyed by its part. */
  const filmFrames = async (view: AnimatedQrView): Promise<Map<string, Buffer>> => {
    const blank = await browser.newPage();
    try {
      await page.getByRole('button', { name: 'Pause' }).click();
      const frames = new Map<string, Buffer>();
      for (let i = 0; i < view.parts.length; i += 1) {
        const frame = page.getByTestId('animated-qr-frame');
        const part = (await frame.getAttribute('data-part'))!;
        frames.set(part, await pngToLuma(blank, await frame.screenshot()));
        await page.getByRole('button', { name: 'Next frame' }).click();
      }
      assert.equal(frames.size, view.parts.length, 'every frame of the loop was drawn once');
      await page.getByRole('button', { name: 'Resume' }).click();
      return frames;
    } finally {
      await blank.close();
    }
  };

  const receiveWithCamera = async (video: string, expectedSha: string, permitId: string, shot: string) => {
    const camera = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
    try {
      const receiver = await camera.newPage({ viewport: { width: 1280, height: 1000 } });
      receiver.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
      await receiver.goto(harness.host.newAccessUrl());
      await receiver.getByRole('button', { name: 'Permit queue' }).click();
      await receiver.getByLabel('Animated QR (camera)').check();
      await receiver.getByRole('button', { name: 'Scan the animated QR of a permit bundle with the camera' }).click();
      await receiver.getByTestId('qr-progress').waitFor({ timeout: 30_000 });
      await receiver.getByTestId('qr-received').waitFor({ timeout: 90_000 });
      assert.equal(await receiver.getByTestId('qr-received-sha256').textContent(), expectedSha, 'the reassembled bytes are the file, byte for byte');
      await receiver.getByTestId('import-report').getByText('Imported 1 permit').waitFor();
      await receiver.screenshot({ path: join(SCREENSHOT_DIR, shot), fullPage: true });
      assert.equal(harness.services.permitQueue.item(permitId).state, 'pending');
      assert.equal(harness.services.permitQueue.item(permitId).source, 'animated QR');
    } finally {
      await camera.close();
    }
  };

  it('one page shows the animated QR of a permit bundle; a second page films it, reassembles and imports it byte for byte', async () => {
    const path = bundleFile('bundle-1.json', 'qr-permit-1', 1);
    const view = await showOnSendingPage(path);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'animated-qr-01-sending.png'), fullPage: true });
    const video = join(files.path, 'animated.y4m');
    const frames = await filmFrames(view);
    writeLumaY4m(video, view.parts.map((part) => frames.get(part)!));
    await receiveWithCamera(video, view.sha256, 'qr-permit-1', 'animated-qr-02-received.png');
  });

  it('with a pure fragment missing from every pass, the fountain code still completes the bundle', async () => {
    const path = bundleFile('bundle-2.json', 'qr-permit-2', 2);
    const view = await showOnSendingPage(path);
    // Drop the first pure fragment the mixed frames can stand in for (checked here before filming).
    const lossy = Array.from({ length: view.seqLength }, (_, k) => view.parts.filter((_, i) => i !== k)).find((parts) => {
      const receiver = new UrReceiver([view.type], 65_536, 'a permit bundle');
      return parts.some((p) => receiver.receive(p).done);
    });
    assert.ok(lossy, 'some pure fragment can be lost and recovered');
    assert.equal(lossy.length, view.parts.length - 1);
    const video = join(files.path, 'animated-lossy.y4m');
    const frames = await filmFrames(view);
    writeLumaY4m(video, lossy.map((part) => frames.get(part)!));
    await receiveWithCamera(video, view.sha256, 'qr-permit-2', 'animated-qr-03-received-lossy.png');
  });

  it('a QR of another kind shown to the bundle reader is refused next to the scanner, with what was expected', async () => {
    await page.getByRole('button', { name: 'Permit queue' }).click();
    await page.getByLabel('Animated QR (camera)').check();
    const approval = Buffer.from('{"format":"vaultkeeper.approval/1"}');
    const [part] = animatedUr(bytesUr('vk-approval', approval), approval).parts;
    await page.getByLabel('Or read the animated QR of a permit bundle from an image file').setInputFiles({ name: 'approval.png', mimeType: 'image/png', buffer: await qrPng(part!) });
    const refusal = page.locator('[data-error-code="QR_UR_WRONG_TYPE"]');
    await refusal.waitFor({ timeout: 15_000 });
    assert.match((await refusal.textContent())!, /carries a ur:vk-approval, not a permit bundle/);
  });
});
