/** Debian's Chromium driven by playwright-core; Playwright's own browser downloads are not used. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { quietBrowserFlags } from '../../main/platform/quiet-browser';

export const CHROMIUM_PATH = process.env.VAULTKEEPER_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'e2e');

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** `extraArgs`: e.g. the fake-camera switches of a QR scanning test. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      // The same flags the headless host prints for an operator's browser.
      ...quietBrowserFlags(),
      ...extraArgs,
    ],
  });
}

/** Opens the console at `url` (a one-time address) and creates the vault on the setup screen. */
export async function createVaultInBrowser(page: Page, url: string, passphrase: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('heading', { name: 'Create the vault' }).waitFor();
  await page.getByLabel('Vault passphrase').fill(passphrase);
  await page.getByLabel('Type it again').fill(passphrase);
  await page.getByRole('button', { name: 'Create vault' }).click();
  await page.getByRole('heading', { name: 'This console' }).waitFor({ timeout: 15_000 });
}
