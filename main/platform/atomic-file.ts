/**
 * Writing a file another machine will read: to a temporary name in the same folder, flushed to
 * the medium, then renamed, so a reader (or a crash) never sees half a file. An existing file of
 * the same name is never overwritten.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fail } from '../errors';

export function writeNewFileAtomically(dir: string, name: string, text: string, what: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name)) fail('FILE_WRITE_FAILED', `"${name}" is not a safe file name for the ${what}.`);
  const final = join(dir, name);
  if (existsSync(final)) fail('FILE_WRITE_FAILED', `The ${what} ${final} already exists; it was not overwritten. Choose another folder or move the old file away.`, { path: final });
  const temporary = join(dir, `.${name}.${randomBytes(6).toString('hex')}.partial`);
  try {
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, final);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // nothing was left behind
    }
    if ((error as { name?: string }).name === 'AppFailure') throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    fail('FILE_WRITE_FAILED', `The ${what} could not be written to ${dir} (${code}). Check that the folder exists, is writable and has free space.`, { path: dir });
  }
  return final;
}
