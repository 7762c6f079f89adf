/**
 * Marks log output a test provokes on purpose (e.g. "[vaultkeeper] internal error on …" when the
 * test feeds a handler a crashing input), so the test reporter shows it as expected log output
 * rather than as a sign of trouble.
 */
import type { TestContext } from 'node:test';

export function expectLog(t: TestContext, pattern: RegExp): void {
  t.diagnostic(`expected log: ${pattern.source}`);
}
