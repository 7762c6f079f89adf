/**
 * `npm run host`: the console without Electron. Starts the services on a data folder and serves
 * the UI on 127.0.0.1; open the printed address in a browser on this machine.
 *   --data DIR    data folder (default: VAULTKEEPER_DATA_DIR or the OS user-data folder)
 *   --port N      port (default: a free one)
 *   --host ADDR   loopback address to bind (127.0.0.1 or ::1)
 * The ceremony certificate is saved as PDF by a local headless Chromium (VAULTKEEPER_CHROMIUM names
 * one; otherwise /usr/bin/chromium and the like); without one, the console offers Print only.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveDataDir } from '../platform/data-dir';
import { quietBrowserShellFlags } from '../platform/quiet-browser';
import { chromiumPdfPrinter, findChromium } from '../platform/pdf-printer';
import { createServices } from '../services';
import { startHeadlessHost } from './headless-host';
import { BRIDGE_FILE, RENDERER_DIR } from './paths';


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
  });
  if (!existsSync(RENDERER_DIR) || !existsSync(BRIDGE_FILE)) {
    throw new Error('The renderer is not built. Run `npm run build:renderer` first (`npm run host` does this for you).');
  }
  const port = values.port ? Number(values.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a whole number from 0 to 65535, not "${values.port}".`);
  const dataDir = values.data ? resolve(values.data) : resolveDataDir();
  const chromium = findChromium();
  const services = createServices({ dataDir, pdfPrinter: chromium ? chromiumPdfPrinter(chromium) : null });
  const host = await startHeadlessHost({ router: services.router, rendererDir: RENDERER_DIR, bridgeFile: BRIDGE_FILE, host: values.host, port });
  process.stdout.write(
    [
      'Vaultkeeper headless console',
      `  data folder: ${dataDir}`,
      `  open:        ${host.url}`,
      '               (works once: the first load trades it for a session cookie and clears it from the address bar)',
      '  keep the browser quiet (no background or update traffic), e.g.:',
      `    chromium --user-data-dir=$(mktemp -d) ${quietBrowserShellFlags()} '<address above>'`,
      'Press Ctrl+C to stop (the vault is locked on exit).',
      '',
    ].join('\n'),
  );
  const stop = async () => {
    await host.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`vaultkeeper host: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
