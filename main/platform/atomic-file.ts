/**
 * Writing a file another machine (or this node after a crash) will read: to a temporary name in
 * the same folder, flushed to the medium, then renamed, so a reader never sees half a file.
 * Owner-only (0600) unless the caller says otherwise. Every file Vaultkeeper writes whole goes
 * through here: air-gap bundles, share backups, permit bundles, the lab's peer lists, exports,
 * the rollback counter's mirror.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fail } from '../errors';

export interface AtomicWriteOptions {
  /** File mode; owner-only by default. */
  mode?: number;
  /** Replace a file of the same name (default: an existing file is never overwritten). */
  replace?: boolean;
}

/**
 * Writes `content` as `dir/name` and returns the path. Throws the file system's own error (an
 * errno error; EEXIST when the file exists and `replace` is off), leaving no temporary file
 * behind: callers turn it into their own refusal.
 */
export function writeFileAtomically(dir: string, name: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): string {
  const final = join(dir, name);
  if (!options.replace && existsSync(final)) throw Object.assign(new Error(`${final} already exists`), { code: 'EEXIST' });
  const temporary = join(dir, `.${name}.${randomBytes(6).toString('hex')}.partial`);
  try {
    const fd = openSync(temporary, 'wx', options.mode ?? 0o600);
    try {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
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
    throw error;
  }
  return final;
}

/** The errno code of a failed write, for the sentence a person reads. */
export function writeErrorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'I/O error';
}

/** A new file under a name chosen here (never overwrites); refusals as FILE_WRITE_FAILED. */
export function writeNewFileAtomically(dir: string, name: string, text: string, what: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name)) fail('FILE_WRITE_FAILED', `"${name}" is not a safe file name for the ${what}.`);
  try {
    return writeFileAtomically(dir, name, text);
  } catch (error) {
    const final = join(dir, name);
    if (writeErrorCode(error) === 'EEXIST') fail('FILE_WRITE_FAILED', `The ${what} ${final} already exists; it was not overwritten. Choose another folder or move the old file away.`, { path: final });
    fail('FILE_WRITE_FAILED', `The ${what} could not be written to ${dir} (${writeErrorCode(error)}). Check that the folder exists, is writable and has free space.`, { path: dir });
  }
}
