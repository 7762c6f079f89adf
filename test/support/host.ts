/**
 * The headless host on a throwaway data folder, as the end-to-end tests use it. `host.url` opens
 * once (its token becomes the page's session cookie); a test that needs a second browser profile
 * asks `host.newAccessUrl()` for another one-time address.
 */
import { existsSync } from 'node:fs';
import { BRIDGE_FILE, RENDERER_DIR } from '../../main/host/paths';
import { startHeadlessHost, type HeadlessHost } from '../../main/host/headless-host';
import { createServices, type ServiceOptions, type Services } from '../../main/services';
import { tempDir } from './temp-dir';

export function rendererBuilt(): boolean {
  return existsSync(RENDERER_DIR) && existsSync(BRIDGE_FILE);
}

export async function startTestHost(options: Partial<ServiceOptions> = {}): Promise<{ host: HeadlessHost; services: Services; stop(): Promise<void> }> {
  if (!rendererBuilt()) throw new Error('dist/renderer is missing: run `npm run build:renderer` (npm test does it first).');
  const dir = tempDir('vaultkeeper-e2e-');
  const services = createServices({ dataDir: dir.path, idleCheckIntervalMs: 0, ...options });
  const host = await startHeadlessHost({ router: services.router, rendererDir: RENDERER_DIR, bridgeFile: BRIDGE_FILE });
  return {
    host,
    services,
    stop: async () => {
      await host.close();
      await services.close();
      dir.cleanup();
    },
  };
}
