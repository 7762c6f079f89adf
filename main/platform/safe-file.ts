/**
 * Reading files that come from outside: a transfer medium, an operator's folder, a guardian's
 * stick. Such a path may name a FIFO (blocks the reader forever), a symlink to /dev/zero (never
 * ends), a device, a folder, or a file far larger than anything legitimate. Only a regular file
 * is read, and never more than the caller's limit:
 *
 *   lstat (no symlinks) → open with O_NOFOLLOW | O_NONBLOCK (a FIFO cannot block the open, a
 *   symlink swapped in after the lstat fails the open) → fstat the descriptor (regular, the same
 *   file that was lstat'ed, within the limit) → read at most limit + 1 bytes → close in finally.
 *
 * Every refusal is an AppFailure with a FILE_* code and a sentence an operator can act on.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors';

// Windows has neither flag; there a FIFO or symlink cannot be put on a medium the same way.
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const NON_BLOCKING = constants.O_NONBLOCK ?? 0;
const READ_FLAGS = constants.O_RDONLY | NO_FOLLOW | NON_BLOCKING;

export interface SafeReadOptions {
  /** Largest accepted size in bytes; anything larger is refused without being read. */
  maxBytes: number;
  /** What the file is, for the refusal sentence: "bundle file", "peers file". */
  what?: string;
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function describeSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

function tooLarge(path: string, what: string, size: number | null, maxBytes: number): never {
  const actual = size === null ? 'larger than' : `${describeSize(size)}, over`;
  fail('FILE_TOO_LARGE', `The ${what} ${path} is ${actual} the ${describeSize(maxBytes)} limit, so it was not read. It is not a file Vaultkeeper wrote; check that the right file was copied.`, {
    path,
    limit: maxBytes,
    ...(size === null ? {} : { size }),
  });
}

function refuseKind(path: string, what: string, stats: Stats): never {
  if (stats.isSymbolicLink()) {
    fail('FILE_IS_SYMLINK', `The ${what} ${path} is a symbolic link; Vaultkeeper reads only regular files. Copy the file itself onto the medium.`, { path });
  }
  fail('FILE_NOT_REGULAR', `The ${what} ${path} is ${kindOf(stats)}, not a regular file, so it was not read. Copy the real file onto the medium.`, { path, kind: kindOf(stats) });
}

function unreadable(path: string, what: string, error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') fail('FILE_NOT_FOUND', `The ${what} ${path} does not exist. Check the path and that the medium is mounted.`, { path });
  if (code === 'ELOOP' || code === 'EMLINK') fail('FILE_IS_SYMLINK', `The ${what} ${path} is a symbolic link; Vaultkeeper reads only regular files. Copy the file itself onto the medium.`, { path });
  fail('FILE_UNREADABLE', `The ${what} ${path} cannot be read (${code ?? 'I/O error'}). Check its permissions and the medium, then try again.`, { path, reason: code ?? 'io' });
}

/** The bytes of a regular file of at most `maxBytes`; refuses anything else with a FILE_* code. */
export function readRegularFile(path: string, options: SafeReadOptions): Buffer {
  const what = options.what ?? 'file';
  const { maxBytes } = options;
  let before: Stats;
  try {
    before = lstatSync(path);
  } catch (error) {
    unreadable(path, what, error);
  }
  if (!before.isFile()) refuseKind(path, what, before);
  if (before.size > maxBytes) tooLarge(path, what, before.size, maxBytes);

  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    unreadable(path, what, error);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) refuseKind(path, what, opened);
    // Replaced between lstat and open (a rename race on the medium): refuse rather than guess.
    if (opened.ino !== before.ino || opened.dev !== before.dev) {
      fail('FILE_UNREADABLE', `The ${what} ${path} changed while it was being opened. Leave the medium alone and try again.`, { path, reason: 'replaced' });
    }
    if (opened.size > maxBytes) tooLarge(path, what, opened.size, maxBytes);
    // One byte past the limit tells a file that grew after fstat from one that fits exactly.
    const buffer = Buffer.alloc(Math.min(opened.size, maxBytes) + 1);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) break;
      let n: number;
      try {
        n = readSync(fd, buffer, filled, buffer.length - filled, null);
      } catch (error) {
        unreadable(path, what, error);
      }
      if (n === 0) break;
      filled += n;
    }
    if (filled > maxBytes) tooLarge(path, what, null, maxBytes);
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** A regular file as UTF-8 text; the same refusals as readRegularFile. */
export function readRegularTextFile(path: string, options: SafeReadOptions): string {
  return readRegularFile(path, options).toString('utf8');
}

export interface SafeListOptions {
  /** Keep only names this accepts (e.g. a suffix check). */
  accept?: (name: string) => boolean;
  /** At most this many names are returned; a folder with more is refused. */
  maxEntries?: number;
  /** What the folder is, for the refusal sentence. */
  what?: string;
}

export const DEFAULT_MAX_LISTED_FILES = 10_000;

/**
 * Names of the regular files in a folder (never symlinks, FIFOs, devices or subfolders), sorted,
 * as full paths. The entry types come from the directory itself (no stat of each entry).
 */
export function listRegularFiles(dir: string, options: SafeListOptions = {}): string[] {
  const what = options.what ?? 'folder';
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_LISTED_FILES;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('FILE_NOT_FOUND', `The ${what} ${dir} does not exist. Check the path and that the medium is mounted.`, { path: dir });
    if (code === 'ENOTDIR') fail('FILE_NOT_REGULAR', `The ${what} ${dir} is not a folder. Choose the folder that holds the files.`, { path: dir, kind: 'not a folder' });
    unreadable(dir, what, error);
  }
  const names = entries.filter((e) => e.isFile() && (options.accept?.(e.name) ?? true)).map((e) => e.name);
  if (names.length > maxEntries) {
    fail('FILE_TOO_LARGE', `The ${what} ${dir} holds ${names.length} matching files, more than the ${maxEntries} Vaultkeeper reads at once. Remove the files that do not belong there.`, {
      path: dir,
      limit: maxEntries,
      size: names.length,
    });
  }
  return names.sort().map((n) => join(dir, n));
}

/**
 * Reads at most `maxBytes` from an already open descriptor (stdin, --passphrase-fd) until its end.
 * Meant for a pipe the operator set up; the bound keeps an endless stream from exhausting memory.
 */
export function readBoundedDescriptor(fd: number, maxBytes: number, what = 'input'): Buffer {
  const buffer = Buffer.alloc(maxBytes + 1);
  let filled = 0;
  while (filled < buffer.length) {
    let n: number;
    try {
      n = readSync(fd, buffer, filled, buffer.length - filled, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // A non-blocking pipe with no data yet: wait briefly instead of spinning.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (code === 'EOF') break;
      fail('FILE_UNREADABLE', `The ${what} cannot be read (${code ?? 'I/O error'}).`, { reason: code ?? 'io' });
    }
    if (n === 0) break;
    filled += n;
  }
  if (filled > maxBytes) fail('FILE_TOO_LARGE', `The ${what} is longer than ${describeSize(maxBytes)}; it was not used.`, { limit: maxBytes });
  return buffer.subarray(0, filled);
}

/** True when `path` names an existing folder (a mounted medium); each caller words its own refusal. */
export function isFolder(path: string): boolean {
  try {
    return path.length > 0 && statSync(path).isDirectory();
  } catch {
    return false;
  }
}
