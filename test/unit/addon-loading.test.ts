/**
 * VAULTKEEPER_MPC_ADDON cannot load an arbitrary native library: a packaged build loads only the
 * bundled addon; a development checkout only a .node file inside the project's native/ folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { isAppFailure } from '../../main/errors';
import { DEFAULT_ADDON_PATH, NATIVE_DIR, resolveAddonPath } from '../../main/mpc/index';
import { tempDir } from '../support/temp-dir';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function refusal(run: () => unknown): string {
  try {
    return `allowed ${String(run())}`;
  } catch (error) {
    return isAppFailure(error) ? error.code : `threw ${(error as Error).message}`;
  }
}

/** Loads the addon in a fresh process with the variable set; prints the outcome. */
function loadInChild(addonEnv: string, packaged: boolean): { code: string; message: string } {
  const script = `
    import { declarePackagedBuild, loadAddon } from './main/mpc/index.ts';
    declarePackagedBuild(${packaged});
    try { const a = loadAddon(); process.stdout.write(JSON.stringify({ code: typeof a.generatePaillierPrimes === 'function' ? 'LOADED' : 'ODD', message: '' })); }
    catch (e) { process.stdout.write(JSON.stringify({ code: e.code ?? e.name, message: e.message })); }
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, VAULTKEEPER_MPC_ADDON: addonEnv },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { code: string; message: string };
}

describe('MPC addon loading', () => {
  const outside = tempDir('vaultkeeper-addon-');
  const outsideCopy = join(outside.path, 'evil.node');
  const insideCopy = join(NATIVE_DIR, `.addon-test-${process.pid}.node`);
  const insideLink = join(NATIVE_DIR, `.addon-test-link-${process.pid}.node`);
  const insideText = join(NATIVE_DIR, `.addon-test-${process.pid}.txt`);

  before(() => {
    copyFileSync(DEFAULT_ADDON_PATH, outsideCopy);
    copyFileSync(DEFAULT_ADDON_PATH, insideCopy);
    symlinkSync(outsideCopy, insideLink);
    writeFileSync(insideText, 'not an addon');
  });
  after(() => {
    for (const f of [insideCopy, insideLink, insideText]) rmSync(f, { force: true });
    outside.cleanup();
  });

  it('without the variable, loads the bundled addon in both kinds of build', () => {
    assert.equal(resolveAddonPath(undefined, { packaged: true }), DEFAULT_ADDON_PATH);
    assert.equal(resolveAddonPath(undefined, { packaged: false }), DEFAULT_ADDON_PATH);
    assert.equal(resolveAddonPath('', { packaged: true }), DEFAULT_ADDON_PATH);
  });

  it('packaged: refuses every other path, even a copy inside native/', () => {
    assert.equal(refusal(() => resolveAddonPath(outsideCopy, { packaged: true })), 'ADDON_PATH_REFUSED');
    assert.equal(refusal(() => resolveAddonPath(insideCopy, { packaged: true })), 'ADDON_PATH_REFUSED');
    assert.equal(resolveAddonPath(DEFAULT_ADDON_PATH, { packaged: true }), DEFAULT_ADDON_PATH);
  });

  it('development: only a .node file whose real path is inside native/', () => {
    assert.equal(refusal(() => resolveAddonPath(outsideCopy, { packaged: false })), 'ADDON_PATH_REFUSED');
    assert.equal(refusal(() => resolveAddonPath(insideLink, { packaged: false })), 'ADDON_PATH_REFUSED', 'a symlink in native/ pointing outside');
    assert.equal(refusal(() => resolveAddonPath(insideText, { packaged: false })), 'ADDON_PATH_REFUSED', 'not a .node file');
    assert.equal(refusal(() => resolveAddonPath(join(NATIVE_DIR, '..', 'package.json'), { packaged: false })), 'ADDON_PATH_REFUSED');
    assert.equal(refusal(() => resolveAddonPath(join(NATIVE_DIR, 'missing.node'), { packaged: false })), 'ADDON_PATH_REFUSED');
    assert.equal(resolveAddonPath(insideCopy, { packaged: false }).endsWith(`.addon-test-${process.pid}.node`), true);
  });

  it('the variable really decides nothing outside native/: a child process refuses to load a copy elsewhere', () => {
    const outsideLoad = loadInChild(outsideCopy, false);
    assert.equal(outsideLoad.code, 'ADDON_PATH_REFUSED');
    assert.match(outsideLoad.message, /inside this project's native\/ folder/);
    assert.equal(loadInChild(insideCopy, true).code, 'ADDON_PATH_REFUSED', 'packaged build, copy inside native/');
    assert.equal(loadInChild(insideCopy, false).code, 'LOADED', 'development build, copy inside native/');
  });
});
