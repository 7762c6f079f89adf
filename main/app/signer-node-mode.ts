/**
 * The packaged app as a headless signer node: `vaultkeeper --signer-node <node options>` runs the
 * bundled node entry (dist/node, the one the lab uses) as a child and stays in the terminal with
 * it: its output is passed through, Ctrl-C and SIGTERM reach it (it cancels its sessions and tells
 * the peers before it stops), and its exit code is the app's. No window opens and no console
 * database is touched, so a machine that only signs needs no source tree and no separate Node.
 *
 * In the app the child is an Electron utility process, which has no stdin: `--passphrase-fd N` is
 * read here and the passphrase goes to the child on its parent port (never in argv or the
 * environment). Commands that open no vault (--help, --sessions, --cancel) get none.
 */
import type { Writable } from 'node:stream';
import { isAppFailure } from '../errors';
import type { LabLauncher } from '../cluster/lab-launch';
import { readBoundedDescriptor } from '../platform/safe-file';

export const SIGNER_NODE_FLAG = '--signer-node';
const MAX_PASSPHRASE_BYTES = 1024;
const WITHOUT_VAULT = new Set(['--help', '--sessions', '--cancel']);

/** The node options after `--signer-node`, or null when the app starts as the console. */
export function signerNodeArgs(argv: readonly string[]): string[] | null {
  const at = argv.indexOf(SIGNER_NODE_FLAG);
  return at < 0 ? null : argv.slice(at + 1);
}

export interface SignerNodeIo {
  stdout: Writable;
  stderr: Writable;
  /** The environment's VAULTKEEPER_NODE_PASSPHRASE (tests), used when no --passphrase-fd is given. */
  environmentPassphrase?: string | undefined;
  /** Calls `stop` on SIGINT and SIGTERM. */
  onStopSignal(stop: () => void): void;
  readDescriptor?: (fd: number) => Buffer;
}

function passphraseFor(args: string[], io: SignerNodeIo): { childArgs: string[]; passphrase: string | undefined; problem: string | null } {
  const childArgs = [...args];
  if (childArgs.some((a) => WITHOUT_VAULT.has(a))) return { childArgs, passphrase: undefined, problem: null };
  if (childArgs.includes('--passphrase-parent-port')) return { childArgs, passphrase: undefined, problem: '--passphrase-parent-port is how this app hands the passphrase to the node; give --passphrase-fd N instead.' };
  const at = childArgs.indexOf('--passphrase-fd');
  if (at < 0) {
    const text = io.environmentPassphrase;
    if (!text || !text.trim()) return { childArgs, passphrase: undefined, problem: 'no vault passphrase: pass --passphrase-fd N (e.g. 0 for stdin).' };
    return { childArgs, passphrase: text.replace(/\r?\n$/, ''), problem: null };
  }
  const fd = childArgs[at + 1] ?? '';
  if (!/^\d{1,4}$/.test(fd)) return { childArgs, passphrase: undefined, problem: `--passphrase-fd must be a file descriptor number, not "${fd}".` };
  childArgs.splice(at, 2);
  try {
    const bytes = (io.readDescriptor ?? ((n: number) => readBoundedDescriptor(n, MAX_PASSPHRASE_BYTES, 'passphrase')))(Number(fd));
    const text = bytes.toString('utf8').replace(/\r?\n$/, '');
    bytes.fill(0);
    if (!text.trim()) return { childArgs, passphrase: undefined, problem: `descriptor ${fd} gave an empty passphrase.` };
    return { childArgs, passphrase: text, problem: null };
  } catch (error) {
    return { childArgs, passphrase: undefined, problem: isAppFailure(error) ? error.message : `the passphrase could not be read from descriptor ${fd}.` };
  }
}

/** Runs the signer node until it exits; resolves with its exit code (2 when it could not start). */
export function runSignerNode(launcher: LabLauncher, args: string[], io: SignerNodeIo): Promise<number> {
  const unavailable = launcher.unavailableReason();
  if (unavailable) {
    io.stderr.write(`vaultkeeper --signer-node: ${unavailable}\n`);
    return Promise.resolve(2);
  }
  const { childArgs, passphrase, problem } = passphraseFor(args, io);
  if (problem) {
    io.stderr.write(`vaultkeeper --signer-node: ${problem}\n`);
    return Promise.resolve(2);
  }
  const child = launcher.launch('node', childArgs, passphrase);
  child.stdout.pipe(io.stdout, { end: false });
  child.stderr.pipe(io.stderr, { end: false });
  io.onStopSignal(() => child.terminate());
  // The exit code once the child exited and its last output was passed on (bounded: a stream that
  // never ends does not keep the app alive).
  const drained = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
  const exited = new Promise<void>((resolve) => child.onExit(resolve));
  const output = Promise.all([drained(child.stdout), drained(child.stderr)]);
  return exited
    .then(() => Promise.race([output, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]))
    .then(() => {
      const code = /^exit (\d+)$/.exec(child.ended() ?? '')?.[1];
      return code !== undefined ? Number(code) : 1;
    });
}
