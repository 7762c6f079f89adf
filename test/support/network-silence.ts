/**
 * Runs a command inside a network namespace that has only loopback (`unshare -n`, then
 * `ip link set lo up`) under a connect tracer (`strace -f`), and reads back every connect(2)
 * each process attempted, attributed to the executable that made it. Used by the network
 * silence test: an air-gapped console must not even try to reach anything but loopback.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface ConnectAttempt {
  pid: number;
  executable: string;
  family: 'inet' | 'inet6' | 'unix' | 'other';
  address: string;
  port: number | null;
  result: string;
}

export interface TraceSummary {
  attempts: ConnectAttempt[];
  /** Attempts to anything that is not loopback (unix sockets are local and not counted). */
  nonLoopback: ConnectAttempt[];
  /** Executable → number of connect attempts by kind. */
  byExecutable: Record<string, { loopback: number; unix: number; nonLoopback: number }>;
}

/** Why the traced run cannot happen here, or null when it can. */
export function networkSilenceUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  for (const tool of ['unshare', 'strace', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install util-linux strace iproute2)`;
  }
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8' });
  if (probe.status !== 0) return `this machine does not allow a private network namespace (unshare -n: ${probe.stderr.trim() || `exit ${probe.status}`})`;
  const trace = spawnSync('strace', ['-f', '-qq', '-e', 'trace=connect', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (trace.status !== 0) return `strace cannot trace here (${trace.stderr.trim() || `exit ${trace.status}`}); ptrace may be forbidden`;
  return null;
}

export function isLoopbackAddress(family: ConnectAttempt['family'], address: string): boolean {
  if (family === 'inet') return /^127\./.test(address);
  if (family === 'inet6') return address === '::1' || /^::ffff:127\./i.test(address);
  return false;
}

const LINE = /^(\d+)\s+(.*)$/;
const EXECVE = /^execve\("([^"]+)".*\)\s*=\s*0$/;
const EXECVE_STARTED = /^execve\("([^"]+)".*<unfinished \.\.\.>$/;
const EXECVE_RESUMED = /^<\.\.\. execve resumed>.*=\s*0$/;
// A spawn's child pid is its return value, on the call line or on its "resumed" line.
const SPAWN = /^(?:(?:clone3?|fork|vfork)\(|<\.\.\. (?:clone3?|fork|vfork) resumed>).*=\s*(\d+)(?:\s|$)/;
// A connect may be split by another thread's call; its address is on the first half.
const CONNECT = /^connect\(\d+,\s*\{sa_family=(AF_[A-Z0-9]+),?\s*(.*?)\}(?:,\s*\d+\)\s*=\s*(.*)|,\s*\d+\s*<unfinished \.\.\.>)$/;

/** Parses `strace -f -e trace=connect,execve,clone,clone3,fork,vfork` output. */
export function parseConnectTrace(text: string, rootExecutable = 'unknown'): TraceSummary {
  const exeOf = new Map<number, string>();
  const pendingExec = new Map<number, string>();
  // Chromium re-executes itself through /proc/self/exe: the process stays what it was.
  const named = (pid: number, path: string) => (path === '/proc/self/exe' ? (exeOf.get(pid) ?? rootExecutable) : basename(path));
  const attempts: ConnectAttempt[] = [];
  let first = true;
  for (const raw of text.split('\n')) {
    const line = LINE.exec(raw.trim());
    if (!line) continue;
    const pid = Number(line[1]);
    const call = line[2]!;
    if (first) {
      exeOf.set(pid, rootExecutable);
      first = false;
    }
    const execve = EXECVE.exec(call);
    if (execve) {
      exeOf.set(pid, named(pid, execve[1]!));
      continue;
    }
    const started = EXECVE_STARTED.exec(call);
    if (started) {
      pendingExec.set(pid, named(pid, started[1]!));
      continue;
    }
    if (EXECVE_RESUMED.test(call) && pendingExec.has(pid)) {
      exeOf.set(pid, pendingExec.get(pid)!);
      pendingExec.delete(pid);
      continue;
    }
    const spawned = SPAWN.exec(call);
    if (spawned) {
      // A thread or child runs the parent's executable until it calls execve.
      exeOf.set(Number(spawned[1]), exeOf.get(pid) ?? rootExecutable);
      continue;
    }
    const connect = CONNECT.exec(call);
    if (!connect) continue;
    const [, fam, rest, finished] = connect;
    const result = finished ?? '(unfinished)';
    const executable = exeOf.get(pid) ?? rootExecutable;
    if (fam === 'AF_INET') {
      const port = /sin_port=htons\((\d+)\)/.exec(rest!)?.[1];
      const addr = /inet_addr\("([^"]+)"\)/.exec(rest!)?.[1] ?? '?';
      attempts.push({ pid, executable, family: 'inet', address: addr, port: port ? Number(port) : null, result: result.trim() });
    } else if (fam === 'AF_INET6') {
      const port = /sin6_port=htons\((\d+)\)/.exec(rest!)?.[1];
      const addr = /inet_pton\(AF_INET6,\s*"([^"]+)"/.exec(rest!)?.[1] ?? '?';
      attempts.push({ pid, executable, family: 'inet6', address: addr, port: port ? Number(port) : null, result: result.trim() });
    } else if (fam === 'AF_UNIX') {
      const path = /sun_path=(@?"[^"]*")/.exec(rest!)?.[1] ?? '?';
      attempts.push({ pid, executable, family: 'unix', address: path, port: null, result: result.trim() });
    } else if (fam !== 'AF_UNSPEC' && fam !== 'AF_NETLINK') {
      attempts.push({ pid, executable, family: 'other', address: `${fam} ${rest}`.slice(0, 120), port: null, result: result.trim() });
    }
  }
  const nonLoopback = attempts.filter((a) => a.family !== 'unix' && !isLoopbackAddress(a.family, a.address));
  const byExecutable: TraceSummary['byExecutable'] = {};
  for (const a of attempts) {
    const entry = (byExecutable[a.executable] ??= { loopback: 0, unix: 0, nonLoopback: 0 });
    if (a.family === 'unix') entry.unix += 1;
    else if (isLoopbackAddress(a.family, a.address)) entry.loopback += 1;
    else entry.nonLoopback += 1;
  }
  return { attempts, nonLoopback, byExecutable };
}

export interface TracedRun {
  exitCode: number | null;
  output: string;
  summary: TraceSummary;
}

/**
 * Runs `command` in a loopback-only network namespace under strace; resolves when it ends or
 * after `timeoutMs` (then the whole namespace's process tree is killed).
 */
export function runInSilentNamespace(command: string[], options: { cwd: string; traceFile: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<TracedRun> {
  const quoted = command.map((c) => `'${c.replace(/'/g, `'\\''`)}'`).join(' ');
  // --seccomp-bpf stops only at the traced calls, so the suite runs at near its normal speed.
  const inner = `ip link set lo up && exec strace -f -qq --seccomp-bpf -e signal=none -e trace=connect,execve,clone,clone3,fork,vfork -o '${options.traceFile}' ${quoted}`;
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', 'sh', '-c', inner], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => {
      output += `\n[network-silence] timed out after ${options.timeoutMs} ms; stopping the run\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const trace = existsSync(options.traceFile) ? readFileSync(options.traceFile, 'utf8') : '';
      resolve({ exitCode: code, output, summary: parseConnectTrace(trace, basename(command[0] ?? 'unknown')) });
    });
  });
}

/** A short printable summary: per executable, then each distinct non-loopback destination with its count. */
export function formatSummary(summary: TraceSummary): string {
  const lines = ['connect(2) attempts by executable (loopback / unix socket / non-loopback):'];
  for (const [exe, c] of Object.entries(summary.byExecutable).sort()) lines.push(`  ${exe.padEnd(24)} ${c.loopback} / ${c.unix} / ${c.nonLoopback}`);
  if (summary.attempts.length === 0) lines.push('  (no connect calls)');
  const distinct = new Map<string, number>();
  for (const a of summary.nonLoopback) {
    const key = `${a.executable}: ${a.family} ${a.address}${a.port === null ? '' : `:${a.port}`}`;
    distinct.set(key, (distinct.get(key) ?? 0) + 1);
  }
  for (const [key, count] of distinct) lines.push(`  non-loopback ${key} (${count}×)`);
  return lines.join('\n');
}

export const TRACE_FILE_NAME = 'connect-trace.txt';
export const traceFileIn = (dir: string) => join(dir, TRACE_FILE_NAME);
