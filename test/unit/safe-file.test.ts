/**
 * Files from a medium: only regular files are read, never past the limit. The hostile cases
 * (FIFO, symlink to /dev/zero, a device, a folder, an oversize file) run in a child process with a
 * bounded timeout, so a regression that blocks shows up as a failed test, not a hung suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { isAppFailure } from '../../main/errors';
import { isFolder, listRegularFiles, readRegularFile, readRegularTextFile } from '../../main/platform/safe-file';
import { tempDir } from '../support/temp-dir';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD_TIMEOUT_MS = 30_000;

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'READ';
  } catch (error) {
    return isAppFailure(error) ? error.code : `THREW ${(error as Error).name}`;
  }
}

describe('safe file reads', () => {
  const dir = tempDir('vaultkeeper-safe-file-');
  const hostile = join(dir.path, 'hostile');
  let fifoAvailable = true;

  before(() => {
    mkdirSync(hostile);
    const made = spawnSync('mkfifo', [join(hostile, 'vk-fifo.vkb')]);
    fifoAvailable = made.status === 0;
    symlinkSync('/dev/zero', join(hostile, 'vk-zero.vkb'));
    writeFileSync(join(hostile, 'vk-big.vkb'), Buffer.alloc(4097, 0x41));
    mkdirSync(join(hostile, 'vk-dir.vkb'));
    // Sparse: past the bundle limit without writing 17 MiB.
    writeFileSync(join(hostile, 'vk-huge.vkb'), '');
    truncateSync(join(hostile, 'vk-huge.vkb'), 17 * 1024 * 1024);
    writeFileSync(join(hostile, 'vk-good.vkb'), 'hello');
    symlinkSync(join(hostile, 'vk-good.vkb'), join(hostile, 'vk-link-to-good.vkb'));
  });
  after(() => dir.cleanup());

  it('refuses a FIFO, a symlink to /dev/zero, a device, a folder and an oversize file quickly, each with its code', { timeout: CHILD_TIMEOUT_MS + 5_000 }, () => {
    assert.ok(fifoAvailable, 'mkfifo is needed for this test (coreutils)');
    // The child reads each path; a read that blocks makes spawnSync time out and the test fail.
    const script = `
      import { readRegularFile, listRegularFiles } from './main/platform/safe-file.ts';
      import { readBundle, listBundles } from './main/cluster/airgap.ts';
      import { readBundle as readPermitBundle } from './main/permits/permit-bundle.ts';
      const dir = process.argv[1];
      const code = (run) => { try { run(); return 'READ'; } catch (e) { return e.code ?? e.name; } };
      const out = {};
      for (const name of ['vk-fifo.vkb', 'vk-zero.vkb', 'vk-big.vkb', 'vk-huge.vkb', 'vk-dir.vkb', 'vk-link-to-good.vkb']) {
        out[name] = code(() => readRegularFile(dir + '/' + name, { maxBytes: 4096 }));
        out['bundle:' + name] = code(() => readBundle(dir + '/' + name));
        if (name !== 'vk-big.vkb' && name !== 'vk-huge.vkb') out['permits:' + name] = code(() => readPermitBundle(dir + '/' + name));
      }
      out['/dev/zero'] = code(() => readRegularFile('/dev/zero', { maxBytes: 4096 }));
      out['/dev/stdin'] = code(() => readRegularFile('/dev/stdin', { maxBytes: 4096 }));
      out.listed = listRegularFiles(dir).map((p) => p.slice(dir.length + 1));
      out.bundles = listBundles(dir).map((p) => p.slice(dir.length + 1));
      process.stdout.write(JSON.stringify(out));
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, hostile], {
      cwd: ROOT,
      timeout: CHILD_TIMEOUT_MS,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    assert.equal(child.error, undefined, `the reader did not finish within ${CHILD_TIMEOUT_MS} ms (it blocked): ${child.error?.message}`);
    assert.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout) as Record<string, unknown>;
    assert.deepEqual(out, {
      'vk-fifo.vkb': 'FILE_NOT_REGULAR',
      'bundle:vk-fifo.vkb': 'FILE_NOT_REGULAR',
      'permits:vk-fifo.vkb': 'FILE_NOT_REGULAR',
      'permits:vk-zero.vkb': 'FILE_IS_SYMLINK',
      'permits:vk-dir.vkb': 'FILE_NOT_REGULAR',
      'permits:vk-link-to-good.vkb': 'FILE_IS_SYMLINK',
      'vk-zero.vkb': 'FILE_IS_SYMLINK',
      'bundle:vk-zero.vkb': 'FILE_IS_SYMLINK',
      'vk-big.vkb': 'FILE_TOO_LARGE',
      'bundle:vk-big.vkb': 'BUNDLE_MALFORMED',
      'vk-huge.vkb': 'FILE_TOO_LARGE',
      'bundle:vk-huge.vkb': 'BUNDLE_TOO_LARGE',
      'vk-dir.vkb': 'FILE_NOT_REGULAR',
      'bundle:vk-dir.vkb': 'FILE_NOT_REGULAR',
      'vk-link-to-good.vkb': 'FILE_IS_SYMLINK',
      'bundle:vk-link-to-good.vkb': 'FILE_IS_SYMLINK',
      '/dev/zero': 'FILE_NOT_REGULAR',
      '/dev/stdin': 'FILE_IS_SYMLINK',
      listed: ['vk-big.vkb', 'vk-good.vkb', 'vk-huge.vkb'],
      bundles: ['vk-big.vkb', 'vk-good.vkb', 'vk-huge.vkb'],
    });
    process.stdout.write(`hostile reads refused in ${Date.now() - started} ms (child start included)\n`);
  });

  it('reads a regular file up to exactly the limit and refuses one byte more, with a sentence naming the file', () => {
    const exact = join(dir.path, 'exact.json');
    writeFileSync(exact, Buffer.alloc(1024, 0x7b));
    assert.equal(readRegularFile(exact, { maxBytes: 1024 }).length, 1024);
    assert.equal(codeOf(() => readRegularFile(exact, { maxBytes: 1023 })), 'FILE_TOO_LARGE');
    try {
      readRegularTextFile(exact, { maxBytes: 1000, what: 'peers file' });
      assert.fail('read past the limit');
    } catch (error) {
      assert.ok(isAppFailure(error));
      assert.match(error.message, /^The peers file .*exact\.json is 1\.0 KiB, over the 1000 bytes limit/);
      assert.equal(error.details?.size, 1024);
    }
    assert.equal(readRegularTextFile(join(hostile, 'vk-good.vkb'), { maxBytes: 10 }), 'hello');
    writeFileSync(join(dir.path, 'empty'), '');
    assert.equal(readRegularFile(join(dir.path, 'empty'), { maxBytes: 10 }).length, 0);
  });

  it('names a missing file and a missing folder as FILE_NOT_FOUND', () => {
    assert.equal(codeOf(() => readRegularFile(join(dir.path, 'nope'), { maxBytes: 10 })), 'FILE_NOT_FOUND');
    assert.equal(codeOf(() => listRegularFiles(join(dir.path, 'nope'))), 'FILE_NOT_FOUND');
    assert.equal(codeOf(() => listRegularFiles(join(hostile, 'vk-good.vkb'))), 'FILE_NOT_REGULAR');
  });

  it('refuses a folder with more matching files than the bound', () => {
    const many = join(dir.path, 'many');
    mkdirSync(many);
    for (let i = 0; i < 5; i += 1) writeFileSync(join(many, `f${i}`), '');
    assert.equal(listRegularFiles(many, { maxEntries: 5 }).length, 5);
    assert.equal(codeOf(() => listRegularFiles(many, { maxEntries: 4 })), 'FILE_TOO_LARGE');
  });

  it('reads a bounded descriptor and refuses an endless one', () => {
    const small = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { readBoundedDescriptor } from './main/platform/safe-file.ts';
      try { process.stdout.write(String(readBoundedDescriptor(0, Number(process.argv[1])).length)); } catch (e) { process.stdout.write(e.code); }
    `, '16'], { cwd: ROOT, input: 'correct horse\n', encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    assert.equal(small.stdout, '14');
    const endless = spawnSync('sh', ['-c', `cat /dev/zero | "${process.execPath}" --import tsx --input-type=module -e "import { readBoundedDescriptor } from './main/platform/safe-file.ts'; try { readBoundedDescriptor(0, 4096); process.stdout.write('READ'); } catch (e) { process.stdout.write(e.code); }"`], { cwd: ROOT, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    assert.equal(endless.error, undefined, 'reading an endless stream did not stop at the bound');
    assert.equal(endless.stdout, 'FILE_TOO_LARGE');
  });
});

it('isFolder: true only for an existing folder (not a file, a missing path or an empty name)', () => {
  const dir = tempDir('vk-is-folder-');
  try {
    writeFileSync(join(dir.path, 'file.json'), '{}');
    assert.equal(isFolder(dir.path), true);
    assert.equal(isFolder(join(dir.path, 'file.json')), false);
    assert.equal(isFolder(join(dir.path, 'missing')), false);
    assert.equal(isFolder(''), false);
  } finally {
    dir.cleanup();
  }
});
