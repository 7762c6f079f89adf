/** The one atomic file writer: owner-only, never half a file, never an unasked overwrite, nothing left behind. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomically, writeNewFileAtomically } from '../../main/platform/atomic-file';
import { AppFailure } from '../../main/errors';
import { tempDir } from '../support/temp-dir';

test('writes owner-only under a permissive umask, replaces only when asked, and leaves no temporary file', () => {
  const previous = process.umask(0o022);
  const dir = tempDir('vk-atomic-');
  try {
    const path = writeFileAtomically(dir.path, 'a.json', '{"v":1}');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.throws(() => writeFileAtomically(dir.path, 'a.json', '{"v":2}'), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
    assert.equal(readFileSync(path, 'utf8'), '{"v":1}', 'not overwritten unasked');
    writeFileAtomically(dir.path, 'a.json', Buffer.from('{"v":3}'), { replace: true });
    assert.equal(readFileSync(path, 'utf8'), '{"v":3}');
    assert.throws(() => writeFileAtomically(join(dir.path, 'missing'), 'b.json', 'x'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    assert.throws(() => writeNewFileAtomically(dir.path, 'a.json', 'x', 'result file'), (e: unknown) => e instanceof AppFailure && e.code === 'FILE_WRITE_FAILED' && /already exists; it was not overwritten/.test(e.message));
    assert.throws(() => writeNewFileAtomically(dir.path, '../escape.json', 'x', 'result file'), (e: unknown) => e instanceof AppFailure && /not a safe file name/.test(e.message));
    assert.deepEqual(readdirSync(dir.path), ['a.json']);
  } finally {
    process.umask(previous);
    dir.cleanup();
  }
});
