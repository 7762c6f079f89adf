/**
 * A console on the headless host whose embedded lab cluster can run ECDSA quickly: this console
 * and both lab nodes hold the test-only Paillier primes, so key generation and auxiliary data do
 * not wait on a prime search. Shared by the end-to-end tests of jobs on the lab.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { testPrimes } from '../cluster/support';
import { createVaultInBrowser } from './browser';
import { startTestHost } from './host';
import { TEST_KDF_COST } from './services';
import { tempDir } from './temp-dir';

export type TestHost = Awaited<ReturnType<typeof startTestHost>>;

/** The host, with the lab nodes' primes in owner-only files; `cleanup` removes them (after the host stopped). */
export async function startPrimedLabHost(): Promise<{ harness: TestHost; cleanup: () => void }> {
  const primes = testPrimes();
  const primesDir = tempDir('vk-primes-');
  const files = new Map(
    ['lab-node-b', 'lab-node-c'].map((name, i) => {
      const file = join(primesDir.path, `${name}.hex`);
      writeFileSync(file, primes[i + 1]!.toString('hex'), { mode: 0o600 });
      return [name, file] as const;
    }),
  );
  const harness = await startTestHost({ kdfCost: TEST_KDF_COST, lab: { kdfTestCost: true, testPrimesFile: (name) => files.get(name) }, cluster: { primes: () => primes[0] } });
  return { harness, cleanup: () => primesDir.cleanup() };
}

/** Creates the vault in the page, opens Keysets and starts the lab; returns the lab's process ids once its three nodes are listed. */
export async function startLabInBrowser(page: Page, harness: TestHost, passphrase: string): Promise<number[]> {
  await createVaultInBrowser(page, harness.host.url, passphrase);
  await page.getByRole('button', { name: 'Keysets' }).click();
  await page.getByRole('button', { name: 'Start lab cluster' }).click();
  await page.getByTestId('lab-banner').waitFor({ timeout: 90_000 });
  const pids = harness.services.lab.status().pids;
  await page.getByTestId('cluster-node').nth(2).waitFor();
  return pids;
}
