import type { Channel, Responses, Result } from '../../preload/contract';
import { ManualClock } from '../../main/platform/clock';
import { createServices, type Services } from '../../main/services';
import { join } from 'node:path';
import { tempDir } from './temp-dir';

/** scrypt cost low enough for unit tests; production vaults use INTERACTIVE_SCRYPT. */
export const TEST_KDF_COST = { N: 2 ** 14, r: 8, p: 1 };
export const GOOD_PASSPHRASE = 'correct horse battery staple orbit';

export function testServices(): Services & { clock: ManualClock; cleanup: () => Promise<void> } {
  const dir = tempDir();
  const clock = new ManualClock();
  // The rollback counter's mirror lives outside the data folder; here, beside it in the temp dir.
  const services = createServices({ dataDir: join(dir.path, 'data'), clock, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, idleTimeoutSeconds: 300, cluster: { stateDir: join(dir.path, 'state') } });
  return Object.assign(services, {
    clock,
    cleanup: async () => {
      await services.close();
      dir.cleanup();
    },
  });
}

export const TRUSTED = { trustedSender: true, senderDescription: 'test' } as const;

/** One IPC call as the renderer makes it (validated by the router), with the contract's answer type. */
export function callChannel<C extends Channel>(services: { router: { dispatch(channel: unknown, payload: unknown, context: typeof TRUSTED): Promise<unknown> } }, channel: C, payload: unknown): Promise<Result<Responses[C]>> {
  return services.router.dispatch(channel, payload, TRUSTED) as Promise<Result<Responses[C]>>;
}
