/**
 * A key generation by files started from the console, in Chromium: the three nodes are configured
 * "air-gapped, no coordinator"; the operator exports the request on the Keysets screen, sees the
 * round it is in and whose bundles it waits for, and imports the replies from the medium until
 * every node holds the keyset. Then the same keyset's shares are refreshed by files from the
 * console under two guardians' approval.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { approve, enrolGuardians, makeGuardians } from '../cluster/backup-support';
import { enrolAll, startNode, stopNode, type TestNode } from '../cluster/support';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';

describe('key generation by files from the console', { timeout: 240_000 }, () => {
  let browser: Browser;
  let page: Page;
  let harness: Awaited<ReturnType<typeof startTestHost>>;
  let peers: TestNode[] = [];
  let keysetId = '';
  const folderOf = () => join(media.path, 'stick');
  const state = tempDir('vk-airkeygen-state-');
  const media = tempDir('vk-airkeygen-medium-');

  before(async () => {
    harness = await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name: 'console', stateDir: state.path } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await createVaultInBrowser(page, harness.host.url, PASSPHRASE);
    peers = [await startNode('node-b'), await startNode('node-c')];
    await enrolAll([{ name: 'console', services: harness.services } as TestNode, ...peers]);
    for (const s of [harness.services, ...peers.map((p) => p.services)]) await s.clusterSetup.configure({ name: 'vault-offline', airgapped: true });
  });

  after(async () => {
    await browser?.close();
    for (const p of peers) await stopNode(p).catch(() => undefined);
    await harness?.stop();
    state.cleanup();
    media.cleanup();
  });

  it('exports the request, shows the round and whose bundles it waits for, and ends with the keyset on every node', async () => {
    const folder = join(media.path, 'stick');
    mkdirSync(folder);
    await page.getByRole('button', { name: 'Keysets' }).click();
    await page.getByLabel('Bundle folder (absolute path, e.g. the USB stick)').fill(folder);
    const airgap = page.getByRole('region', { name: 'Air gap: bundles on removable media' });
    await airgap.getByRole('button', { name: 'Export key-generation request for all three nodes' }).click();
    const item = page.getByTestId('airgap-progress').locator('li');
    await item.filter({ hasText: /Round 1 written; waiting for round 1 from node-b and node-c\./ }).waitFor({ timeout: 20_000 });
    assert.match((await item.first().textContent()) ?? '', /EdDSA key generation/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'airgap-keygen.png'), fullPage: true });

    const [handle] = harness.services.cluster.airgapGroup.handles();
    assert.ok(handle, 'the console runs the session');
    keysetId = handle.info.keysetId;
    const everywhere = () => [harness.services, ...peers.map((p) => p.services)].every((s) => s.cluster.keyset(keysetId)?.status === 'active');
    for (let i = 0; i < 60 && !everywhere(); i += 1) {
      for (const p of peers) assert.deepEqual((await p.services.cluster.airgapImport(folder)).refused, []);
      await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(everywhere(), 'every node keeps the keyset');
    const keys = new Set([harness.services, ...peers.map((p) => p.services)].map((s) => s.cluster.keyset(keysetId)?.publicKey));
    assert.equal(keys.size, 1);
    assert.equal(harness.services.cluster.connected, false);
    // The finished session leaves the progress list, and the new keyset is on the screen after the import.
    await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
    await item.first().waitFor({ state: 'detached', timeout: 10_000 });
    const shown = harness.services.cluster.keyset(keysetId)!.address!;
    await page.getByTestId('keyset-address').filter({ hasText: shown }).waitFor({ timeout: 10_000 });
  });

  it('refreshes the keyset by files from the console under two guardians\' approval: every node switches to epoch 1', async () => {
    assert.ok(keysetId, 'the key generation ran');
    const all = [harness.services, ...peers.map((p) => p.services)];
    const guardians = await makeGuardians();
    for (const s of all) await enrolGuardians(s, guardians);
    const asked = await harness.services.refresh.requestApproval(keysetId, { reason: 'quarterly refresh', requester: { as: 'operator', vaultPassphrase: PASSPHRASE }, ttlMinutes: 60 });
    await approve(harness.services, asked.id, [guardians[0]!, guardians[1]!]);

    const airgap = page.getByRole('region', { name: 'Air gap: bundles on removable media' });
    await page.getByTestId('airgap-refresh-keyset').selectOption(keysetId);
    await page.getByTestId('airgap-refresh-request-id').fill(asked.id);
    await page.getByRole('button', { name: 'Export refresh request for all three nodes' }).click();
    const item = page.getByTestId('airgap-progress').locator('li').filter({ hasText: 'EdDSA share refresh' });
    await item.filter({ hasText: /Round 1 written; waiting for round 1 from node-b and node-c\./ }).waitFor({ timeout: 20_000 });
    const switched = () => all.every((s) => s.cluster.keyset(keysetId)?.shareEpoch === 1);
    for (let i = 0; i < 60 && !switched(); i += 1) {
      for (const p of peers) assert.deepEqual((await p.services.cluster.airgapImport(folderOf())).refused, []);
      await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(switched(), 'every node switched to its new share');
    assert.equal(new Set(all.map((s) => s.cluster.keyset(keysetId)?.publicKey)).size, 1);
    await item.first().waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('shows a key check by files waiting on its partner, and cancels it on this node', async () => {
    const airgap = page.getByRole('region', { name: 'Air gap: bundles on removable media' });
    await airgap.getByLabel('Keyset').selectOption(keysetId);
    await airgap.getByLabel('Partner node').selectOption({ label: 'node-b' });
    await airgap.getByRole('button', { name: 'Export key-check request bundle' }).click();
    const item = page.getByTestId('airgap-progress').locator('li').filter({ hasText: 'EdDSA signature' });
    await item.filter({ hasText: "Waiting for the partner's next bundle (node-b)." }).waitFor({ timeout: 20_000 });
    const sessionId = (await item.getAttribute('data-session'))!;
    await item.getByRole('button', { name: 'Cancel on this node' }).click();
    await item.waitFor({ state: 'detached', timeout: 10_000 });
    const row = harness.services.cluster.sessions().find((x) => x.sessionId === sessionId);
    assert.equal(row?.state, 'failed');
  });
});
