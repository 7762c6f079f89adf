/**
 * Files the console writes are readable by the owner only (0600) and its folders are 0700, even
 * under a permissive umask: the database and its WAL, audit exports, guardian request files.
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHandlers } from '../../main/ipc/handlers';
import { createServices } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

/** Every file and folder under `root` whose mode is wider than owner-only. */
function wider(root: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    const stats = lstatSync(path);
    const mode = stats.mode & 0o777;
    if (stats.isDirectory()) {
      if (mode !== 0o700) out.push(`${path} is a folder with mode ${mode.toString(8)}`);
      for (const name of readdirSync(path)) walk(join(path, name));
    } else if (mode !== 0o600) out.push(`${path} has mode ${mode.toString(8)}`);
  };
  walk(root);
  return out;
}

describe('owner-only files and folders', () => {
  it('the data folder, database, WAL and audit exports are 0600 / 0700 under umask 022', async () => {
    const previous = process.umask(0o022);
    const dir = tempDir('vk-perm-');
    const dataDir = join(dir.path, 'data');
    try {
      const services = createServices({ dataDir, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0 });
      await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      const handlers = createHandlers(services);
      const exported = await handlers['audit.export']({}, {} as never);
      assert.ok(exported.path.startsWith(join(dataDir, 'exports')));
      const problems = wider(dataDir);
      const names = readdirSync(dataDir);
      assert.ok(names.includes('vaultkeeper.sqlite3') && names.includes('vaultkeeper.sqlite3-wal'), `the database and its WAL exist: ${names.join(', ')}`);
      await services.close();
      assert.deepEqual(problems, []);
    } finally {
      process.umask(previous);
      dir.cleanup();
    }
  });
});
