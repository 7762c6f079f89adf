/** Writing the exit keystore: a new file only (never over another), owner-only, complete or absent. */
import { closeSync, fsyncSync, linkSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fail } from '../errors';

export function requireFolder(folder: string): void {
  let ok = false;
  try {
    ok = statSync(folder).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) fail('EXIT_WRITE_FAILED', `The folder ${folder} does not exist or is not a folder. Mount the offline medium and choose a folder on it; nothing was written.`, { folder });
}

/**
 * Writes under a temporary name, flushes, then links to the final name (link refuses to replace
 * an existing file) and removes the temporary one: a reader never sees half a keystore.
 */
export function writeNewFile(folder: string, name: string, text: string): string {
  const final = join(folder, name);
  const temp = join(folder, `.${name}.${randomBytes(6).toString('hex')}.partial`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, final);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'I/O error';
    fail('EXIT_WRITE_FAILED', code === 'EEXIST' ? `A file ${name} already exists in ${folder}; it was left as it is. Choose another folder; nothing was written.` : `Cannot write the keystore into ${folder} (${code}). Check that the medium is writable and not full; nothing was written.`, { folder });
  } finally {
    removeQuietly(temp);
  }
  return final;
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
