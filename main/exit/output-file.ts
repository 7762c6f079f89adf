/** Writing the exit keystore: a new file only (never over another), owner-only, complete or absent. */
import { unlinkSync } from 'node:fs';
import { fail } from '../errors';
import { writeErrorCode, writeFileAtomically } from '../platform/atomic-file';
import { isFolder } from '../platform/safe-file';

export function requireFolder(folder: string): void {
  if (!isFolder(folder)) fail('EXIT_WRITE_FAILED', `The folder ${folder} does not exist or is not a folder. Mount the offline medium and choose a folder on it; nothing was written.`, { folder });
}

/** A new file only, through the platform's atomic writer (owner-only, complete or absent). */
export function writeNewFile(folder: string, name: string, text: string): string {
  try {
    return writeFileAtomically(folder, name, text);
  } catch (error) {
    const code = writeErrorCode(error);
    fail('EXIT_WRITE_FAILED', code === 'EEXIST' ? `A file ${name} already exists in ${folder}; it was left as it is. Choose another folder; nothing was written.` : `Cannot write the keystore into ${folder} (${code}). Check that the medium is writable and not full; nothing was written.`, { folder });
  }
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
