/**
 * The running signer node's control socket: DIR/control.sock, a Unix socket in its owner-only data
 * folder (0700; the socket itself 0600), so only the operator's own account reaches it — the
 * account that could stop the node anyway. One command per connection, one line each way:
 *   sessions          the sessions running here with their progress (SESSION lines, then END)
 *   cancel <id>       ends that session here as failed (the peers are told why); the id may be
 *                     shortened to its first 8+ hex digits when that names one session
 * `npm run node -- --data DIR --sessions` and `--cancel ID` are its client. It can only stop
 * sessions: nothing it accepts starts, approves or signs anything.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export const CONTROL_SOCKET_FILE = 'control.sock';
/** A command is a short line; anything longer is refused unread. */
export const MAX_CONTROL_LINE_BYTES = 256;
/** Linux's sun_path holds 107 bytes and a terminating zero. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Why the control socket cannot be served: a code and a sentence the operator can act on. */
export class ControlSocketError extends Error {
  constructor(readonly code: 'CONTROL_PATH_TOO_LONG' | 'CONTROL_PATH_TAKEN' | 'NODE_ALREADY_RUNNING', message: string) {
    super(message);
  }
}

export interface RunningSession {
  sessionId: string;
  protocol: string;
  keysetId: string;
  step: number;
  total: number;
  label: string;
}

export interface ControlTarget {
  running(): RunningSession[];
  /** Ends the session here as failed with `reason`; the peers are told. False when it no longer runs. */
  cancel(sessionId: string, reason: string): boolean;
}

export function controlSocketPath(dataDir: string): string {
  const path = join(dataDir, CONTROL_SOCKET_FILE);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlSocketError('CONTROL_PATH_TOO_LONG', `The data folder path is too long for the control socket (${Buffer.byteLength(path)} of ${MAX_SOCKET_PATH_BYTES} bytes): use a shorter --data path, or stop the node with Ctrl-C.`);
  }
  return path;
}

/** One status line per running session, as PROGRESS and `--sessions` print it. */
export function sessionLine(r: RunningSession): string {
  return `${r.sessionId} ${r.protocol} keyset ${r.keysetId} ${r.label} ${r.step}/${r.total}`;
}

/** What one command line asks; the answer lines (without newlines). */
export function answerControl(line: string, target: ControlTarget, reason: string): string[] {
  const [command, arg, ...rest] = line.trim().split(/\s+/);
  if (command === 'sessions' && arg === undefined) return [...target.running().map((r) => `SESSION ${sessionLine(r)}`), 'END'];
  if (command === 'cancel' && arg !== undefined && rest.length === 0) {
    if (!/^[0-9a-f]{8,64}$/.test(arg)) return [`REFUSED SESSION_ID_INVALID: "${arg.slice(0, 70)}" is not a session id (8 to 64 hex digits, as PROGRESS and --sessions print it).`];
    const matches = target.running().filter((r) => r.sessionId.startsWith(arg));
    if (matches.length === 0) return [`REFUSED SESSION_NOT_RUNNING: no session starting with ${arg} runs on this node (it may have ended already; see --sessions).`];
    if (matches.length > 1) return [`REFUSED SESSION_ID_AMBIGUOUS: ${matches.length} running sessions start with ${arg}; give more digits.`];
    const session = matches[0]!;
    if (!target.cancel(session.sessionId, reason)) return [`REFUSED SESSION_NOT_RUNNING: session ${session.sessionId} ended before it could be cancelled.`];
    return [`CANCELLED ${session.sessionId} ${session.protocol} keyset ${session.keysetId}`];
  }
  return [`REFUSED COMMAND_UNKNOWN: the node accepts "sessions" or "cancel <session id>".`];
}

/**
 * Listens on DIR/control.sock. A socket file left by a node that crashed is replaced; anything
 * else at that path (a regular file, a link) is refused, never removed.
 */
export async function serveControl(dataDir: string, target: ControlTarget, reason: string, onCancel: (answer: string) => void): Promise<{ path: string; close: () => void }> {
  const path = controlSocketPath(dataDir);
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw new ControlSocketError('CONTROL_PATH_TAKEN', `${path} exists and is not this node's control socket; move it away and start the node again.`);
    if (await answersAt(path)) throw new ControlSocketError('NODE_ALREADY_RUNNING', `Another node process serves ${path}: one node per data folder. Stop it first.`);
    unlinkSync(path);
  }
  const server: Server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline < 0 && buffered.length <= MAX_CONTROL_LINE_BYTES) return;
      socket.removeAllListeners('data');
      if (newline < 0 || newline > MAX_CONTROL_LINE_BYTES) {
        socket.end(`REFUSED COMMAND_TOO_LONG: a command is one line of at most ${MAX_CONTROL_LINE_BYTES} bytes.\n`);
        return;
      }
      const answer = answerControl(buffered.subarray(0, newline).toString('utf8'), target, reason);
      for (const a of answer) if (a.startsWith('CANCELLED ')) onCancel(a);
      socket.end(`${answer.join('\n')}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  server.unref();
  return {
    path,
    close: () => {
      server.close();
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/** True when a live node answers at `path` (a stale socket file refuses the connection). */
function answersAt(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Sends one command to the node serving DIR and returns its answer lines. */
export function sendControl(dataDir: string, command: string, timeoutMs = 10_000): Promise<string[]> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the node at ${dataDir} did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? `no node is running with --data ${dataDir} (no control socket answers at ${path})` : `the control socket at ${path} failed (${error.code ?? 'error'})`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(text.split('\n').filter((l) => l.length > 0));
    });
  });
}
