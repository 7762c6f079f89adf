/**
 * A real (non-lab) cluster formed from the screens: two consoles (two headless hosts, each with its
 * own data folder) and one headless signer node exchange node cards — pasted from the other
 * screen, picked as a file, or written by the node's command line — and confirm the fingerprint
 * words typed or compared on both screens; a card whose words do not match is refused, on the
 * screen and on the command line. Both consoles join cluster "treasury" through a coordinator on
 * 127.0.0.1, the Keysets screen shows "Cluster treasury: configured" with every member online,
 * and console A creates an EdDSA keyset and signs a key check through the coordinator.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Coordinator } from '../../main/coordinator/server';
import { startCoordinator, until } from '../cluster/support';
import { createVaultInBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser';
import { startTestHost } from '../support/host';
import { TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const PASSPHRASE = 'granite lantern orchard velvet compass';
const NODE_PASSPHRASE = 'harbor quartz meadow cobalt lantern';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

describe('a configured cluster formed from two consoles and a headless node', { timeout: 420_000 }, () => {
  const work = tempDir('vk-join-');
  const nodeArgs = ['--import', 'tsx', 'main/node/cli.ts', '--data', join(work.path, 'node-c'), '--name', 'node-c', '--kdf-test-cost', '--state-dir', join(work.path, 'node-c-state')];
  let coordinator: Coordinator;
  const hosts: Array<Awaited<ReturnType<typeof startTestHost>>> = [];
  const stateDirs: Array<ReturnType<typeof tempDir>> = [];
  let browser: Browser;
  let pageA: Page;
  let pageB: Page;
  let child: ChildProcess | null = null;
  const childLines: string[] = [];

  /** The headless node's command line, run to its end. */
  const runNode = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const proc = spawn(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, VAULTKEEPER_NODE_PASSPHRASE: NODE_PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      proc.on('exit', (code) => resolve({ code, out, err }));
    });

  before(async () => {
    coordinator = await startCoordinator({ clusterId: 'treasury' });
    for (const name of ['console-a', 'console-b']) {
      // Each console is its own machine: its own rollback-counter mirror too.
      stateDirs.push(tempDir(`vk-join-state-${name}-`));
      hosts.push(await startTestHost({ kdfCost: TEST_KDF_COST, cluster: { name, stateDir: stateDirs.at(-1)!.path } }));
    }
    browser = await launchChromium();
    pageA = await (await browser.newContext()).newPage();
    pageB = await (await browser.newContext()).newPage();
    for (const page of [pageA, pageB]) page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1_000));
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await browser?.close();
    for (const h of hosts) await h.stop();
    await coordinator?.close();
    for (const d of stateDirs) d.cleanup();
    work.cleanup();
  });

  /** This console's card as its screen shows it: the file text and the words. */
  const ownCard = async (page: Page) => {
    await page.getByRole('button', { name: "Show this node's card" }).click();
    const qr = page.getByTestId('own-card-qr');
    await qr.waitFor();
    assert.ok(await qr.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), 'the card QR rendered under the CSP');
    return { text: await page.getByTestId('own-card-text').inputValue(), words: ((await page.getByTestId('own-card-words').textContent()) ?? '').trim() };
  };

  const readPastedCard = async (page: Page, text: string) => {
    await page.getByLabel('…or paste the card text (from its QR code)').fill(text);
    await page.getByRole('button', { name: 'Read card' }).click();
    await page.getByTestId('peer-card').waitFor();
  };

  const typeWordsAndEnrol = async (page: Page, name: string, words: string) => {
    await page.getByLabel("Fingerprint words, as the peer's operator reads them from their own screen").fill(words);
    await page.getByRole('button', { name: `Enrol ${name}` }).click();
  };

  const memberNamed = (page: Page, name: string) => page.locator(`[data-testid="member"][data-name="${name}"]`);

  const join_ = async (page: Page) => {
    const form = page.getByTestId('configure-cluster');
    await form.getByLabel('Cluster name (as the coordinator was started with)').fill('treasury');
    await form.getByLabel('Coordinator address (wss://HOST:PORT; ws:// only on this machine)').fill(coordinator.url);
    await form.getByRole('button', { name: 'Join this cluster' }).click();
    await page.getByText('Cluster treasury: configured').waitFor({ timeout: 30_000 });
  };

  it('exchanges cards, refuses a mismatched fingerprint, joins through the coordinator, makes an EdDSA keyset and signs', async () => {
    // The headless node makes its vault and writes its card file from the command line.
    const cardC = join(work.path, 'node-c.json');
    const exported = await runNode(['--init', '--export-card', cardC]);
    assert.equal(exported.code, 0, exported.err);
    const wordsC = /^CARD \S+ (\S+)$/m.exec(exported.out)?.[1]?.split('-').join(' ');
    assert.ok(wordsC, exported.out);

    await createVaultInBrowser(pageA, hosts[0]!.host.url, PASSPHRASE);
    await createVaultInBrowser(pageB, hosts[1]!.host.url, PASSPHRASE);
    for (const page of [pageA, pageB]) {
      await page.getByRole('button', { name: 'Keysets' }).click();
      await page.getByRole('heading', { name: 'Cluster membership' }).waitFor();
      assert.equal(await page.getByTestId('cluster-configured').textContent(), 'No real cluster configured on this console.');
    }
    const cardA = await ownCard(pageA);
    const cardB = await ownCard(pageB);
    assert.notEqual(cardA.words, cardB.words);

    // Console A: B's card, pasted, with the words of another node typed: refused, nothing enrolled.
    await readPastedCard(pageA, cardB.text);
    await typeWordsAndEnrol(pageA, 'console-b', wordsC);
    const refusal = pageA.getByTestId('enrol-peer').getByRole('alert');
    await refusal.waitFor();
    assert.equal(await refusal.getAttribute('data-error-code'), 'FINGERPRINT_MISMATCH');
    assert.match((await refusal.textContent()) ?? '', /The fingerprint you confirmed does not match this card\. Do not enrol it/);
    await pageA.screenshot({ path: join(SCREENSHOT_DIR, 'join-cluster-mismatch.png'), fullPage: true });
    assert.equal(await memberNamed(pageA, 'console-b').count(), 0);
    // The words B's operator reads from B's screen.
    await typeWordsAndEnrol(pageA, 'console-b', cardB.words);
    await memberNamed(pageA, 'console-b').waitFor();
    // C's card as a file; its words compared with what C printed for its operator.
    await pageA.getByLabel("Peer's card file (node-card.json)").setInputFiles(cardC);
    await pageA.getByTestId('peer-card').waitFor();
    assert.equal(await pageA.getByTestId('peer-card-words').textContent(), wordsC);
    await pageA.getByLabel('The peer\'s screen shows exactly these six words, in this order').check();
    await pageA.getByRole('button', { name: 'Enrol node-c' }).click();
    await memberNamed(pageA, 'node-c').waitFor();

    // Console B: A's card pasted with A's words; C's card from its file with C's words typed.
    await readPastedCard(pageB, cardA.text);
    await typeWordsAndEnrol(pageB, 'console-a', cardA.words);
    await memberNamed(pageB, 'console-a').waitFor();
    await pageB.getByLabel("Peer's card file (node-card.json)").setInputFiles(cardC);
    await pageB.getByTestId('peer-card').waitFor();
    await typeWordsAndEnrol(pageB, 'node-c', wordsC);
    await memberNamed(pageB, 'node-c').waitFor();

    // Node C: the consoles' cards from files, with the words their operators read out.
    const fileA = join(work.path, 'console-a.json');
    const fileB = join(work.path, 'console-b.json');
    writeFileSync(fileA, cardA.text);
    writeFileSync(fileB, cardB.text);
    const wrong = await runNode(['--enrol-card', fileA, '--words', cardB.words]);
    assert.equal(wrong.code, 3);
    assert.match(wrong.err, /FINGERPRINT_MISMATCH: The fingerprint you confirmed does not match this card/);
    for (const [file, words] of [[fileA, cardA.words], [fileB, cardB.words]] as const) {
      const enrolled = await runNode(['--enrol-card', file, '--words', words]);
      assert.equal(enrolled.code, 0, enrolled.err);
      assert.match(enrolled.out, /^ENROLLED [0-9a-f]{32} console-[ab]$/m);
    }

    // Both consoles join "treasury" through the coordinator on loopback; C starts on it.
    await join_(pageA);
    await join_(pageB);
    const medium = join(work.path, 'medium');
    mkdirSync(medium);
    child = spawn(process.execPath, [...nodeArgs, '--cluster', 'treasury', '--coordinator', coordinator.url, '--accept-keygen-minutes', '10', '--airgap-inbox', medium], { env: { ...process.env, VAULTKEEPER_NODE_PASSPHRASE: NODE_PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => childLines.push(...c.split('\n')));
    child.stderr!.resume();
    await until(() => childLines.some((l) => l.startsWith('READY ')), 60_000);
    await pageB.getByTestId('keygen-window').getByRole('button', { name: 'Accept', exact: true }).click();
    await pageB.getByText('This node accepts key generation requested by its peers').waitFor();
    assert.match((await pageA.getByTestId('cluster-transport').textContent()) ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
    for (const name of ['console-a', 'console-b', 'node-c']) await pageA.locator(`[data-testid="member"][data-name="${name}"][data-online="true"]`).waitFor({ timeout: 20_000 });
    assert.equal(await pageA.getByTestId('cluster-mode').textContent(), 'Configured cluster');
    await pageA.screenshot({ path: join(SCREENSHOT_DIR, 'join-cluster-configured.png'), fullPage: true });

    // An EdDSA keyset of the three, not a lab keyset, and a signature through the coordinator.
    await pageA.getByRole('button', { name: 'Create EdDSA keyset (Solana)' }).click();
    const address = pageA.getByTestId('keyset-address').first();
    await address.waitFor({ timeout: 120_000 });
    assert.match((await address.textContent()) ?? '', /^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    assert.equal(await pageA.getByTestId('keyset').first().getAttribute('data-lab'), 'false');
    assert.match((await pageA.getByTestId('keyset').first().textContent()) ?? '', /mpc-teddsa:\/\/treasury\/ks-/);
    await pageA.getByTestId('key-check').first().click();
    await pageA.getByTestId('key-check-result').waitFor({ timeout: 60_000 });
    assert.match((await pageA.getByTestId('key-check-result').textContent()) ?? '', /signed by 2 nodes and verified/);
    await pageB.getByTestId('keyset-address').first().waitFor({ timeout: 20_000 });
    assert.equal(await pageB.getByTestId('keyset-address').first().textContent(), await address.textContent());

    // The other side of the air gap: node C serves a folder; A carries a key check to it by bundles.
    const completed = () => pageA.locator('[data-testid="cluster-session"][data-state="completed"]').count();
    // Counted in main, not from the table, which refreshes every few seconds.
    const before = hosts[0]!.services.cluster.sessions().filter((x) => x.state === 'completed').length;
    assert.equal(before, 2, 'the key generation and the key check');
    await pageA.getByLabel('Bundle folder (absolute path, e.g. the USB stick)').fill(medium);
    const airgap = pageA.getByRole('region', { name: 'Air gap: bundles on removable media' });
    await airgap.getByLabel('Keyset').selectOption({ index: 1 });
    await airgap.getByLabel('Partner node').selectOption({ label: 'node-c' });
    await airgap.getByRole('button', { name: 'Export key-check request bundle' }).click();
    await pageA.getByTestId('airgap-report').waitFor();
    await until(() => childLines.some((l) => l.startsWith('AIRGAP-JOINED ')), 30_000);
    for (let i = 0; i < 20 && (await completed()) <= before; i += 1) {
      await airgap.getByRole('button', { name: 'Import bundles from folder' }).click();
      await new Promise((r) => setTimeout(r, 1_500));
    }
    assert.equal(await completed(), before + 1, 'the air-gap key check completed at the requester');
    // The requester sees what the sessions produced: the key checks' signatures, the keyset's public key.
    const results = await pageA.getByTestId('session-result').allTextContents();
    assert.ok(results.filter((r) => /^signature [0-9a-f]{16}…$/.test(r)).length >= 2, `${results.join(' | ')} ${JSON.stringify(hosts[0]!.services.cluster.sessions().map((x) => [x.protocol, x.state, x.signature?.slice(0, 8), x.publicKey?.slice(0, 8)]))}`);
    assert.ok(results.some((r) => /^public key [0-9a-f]{16}…$/.test(r)), results.join(' | '));
    await until(() => childLines.some((l) => /^AIRGAP-DONE [0-9a-f]{16} signature [0-9a-f]{128}$/.test(l)), 30_000);
  });
});
