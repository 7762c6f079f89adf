/**
 * Network silence of an air-gapped console: the end-to-end path that matters — the headless host
 * with the browser UI, and the lab cluster (coordinator and two signer nodes as child processes)
 * — runs inside a network namespace that has only loopback, under a connect tracer. No
 * Vaultkeeper process (the test process with the host and services, signer nodes, coordinator;
 * all `node`) may attempt a connection to anything but loopback. The tracer's summary is printed.
 * Skipped, with the reason, where unshare, ip or strace are missing or not permitted.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { chromiumAvailable } from '../support/browser';
import { rendererBuilt } from '../support/host';
import { formatSummary, networkSilenceUnavailable, parseConnectTrace, runInSilentNamespace, traceFileIn } from '../support/network-silence';
import { tempDir } from '../support/temp-dir';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Set inside the traced run so the suite it runs does not start another one. */
const INNER_MARK = 'VAULTKEEPER_NETWORK_SILENCE_INNER';
const SUITE = ['test/e2e/vault.e2e.test.ts', 'test/e2e/keysets.e2e.test.ts'];
const VAULTKEEPER_EXECUTABLES = new Set(['node', basename(process.execPath)]);

const unavailable = process.env[INNER_MARK] ? 'already inside the traced run' : networkSilenceUnavailable();
if (unavailable && !process.env[INNER_MARK]) process.stdout.write(`network silence: SKIPPED — ${unavailable}\n`);

describe('connect trace parsing', () => {
  it('attributes connects to the executable (threads and children included) and separates loopback', () => {
    const trace = [
      '100 execve("/usr/bin/node", ["node"], 0x0 /* 1 var */) = 0',
      '100 clone3({flags=CLONE_VM|CLONE_THREAD, ...} <unfinished ...>',
      '100 <... clone3 resumed> => {parent_tid=[101]}, 88) = 101',
      '101 connect(20, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.2")}, 16) = -1 ENETUNREACH (Network is unreachable)',
      '100 connect(21, {sa_family=AF_INET, sin_port=htons(4000), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)',
      '100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 200',
      '200 execve("/usr/lib/chromium/chromium", ["chromium"], 0x0 /* 1 var */) = 0',
      '200 clone(child_stack=NULL, flags=SIGCHLD) = 201',
      '201 execve("/proc/self/exe", ["chromium", "--type=utility"], 0x0 /* 1 var */) = 0',
      '201 connect(7, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.2")}, 16) = -1 ENETUNREACH (Network is unreachable)',
      '200 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>',
      '200 connect(6, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
      '100 connect(22, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)',
      '100 connect(23, {sa_family=AF_UNSPEC, sa_data="\\0\\0"}, 16) = 0',
    ].join('\n');
    const summary = parseConnectTrace(trace, 'node');
    assert.deepEqual(summary.nonLoopback.map((a) => [a.executable, a.address, a.port]), [['node', '10.0.0.2', 53], ['chromium', '10.0.0.2', 53], ['chromium', '2001:db8::1', 443]]);
    assert.deepEqual(summary.byExecutable, { node: { loopback: 1, unix: 1, nonLoopback: 1 }, chromium: { loopback: 1, unix: 0, nonLoopback: 2 } });
  });
});

describe('network silence in a loopback-only namespace', { skip: unavailable ?? (!rendererBuilt() ? 'renderer not built (npm run build:renderer)' : !chromiumAvailable() ? 'chromium not installed' : false) }, () => {
  const dir = tempDir('vaultkeeper-netns-');
  after(() => dir.cleanup());

  it('the tracer sees a non-loopback attempt when one is made (canary)', async () => {
    const script = `const net = require('node:net');
      net.connect(443, '192.0.2.1').on('error', () => {});
      net.connect(9, '127.0.0.1').on('error', () => {});
      setTimeout(() => {}, 300);`;
    const run = await runInSilentNamespace([process.execPath, '-e', script], { cwd: ROOT, traceFile: `${dir.path}/canary.txt`, timeoutMs: 30_000 });
    assert.equal(run.exitCode, 0, run.output);
    assert.deepEqual(run.summary.nonLoopback.map((a) => `${a.executable} ${a.address}:${a.port}`), [`${basename(process.execPath)} 192.0.2.1:443`]);
    assert.equal(run.summary.byExecutable[basename(process.execPath)]?.loopback, 1);
  });

  it(`host + browser + lab cluster (${SUITE.map((s) => basename(s)).join(', ')}): no Vaultkeeper process attempts a non-loopback connection`, { timeout: 600_000 }, async () => {
    const run = await runInSilentNamespace([process.execPath, '--import', 'tsx', '--test', '--test-concurrency=1', ...SUITE], {
      cwd: ROOT,
      traceFile: traceFileIn(dir.path),
      // Without NODE_TEST_CONTEXT the inner run is a test run of its own, not a nested one.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), [INNER_MARK]: '1' },
      timeoutMs: 540_000,
    });
    process.stdout.write(`network silence (${SUITE.join(' ')}):\n${formatSummary(run.summary)}\n`);
    assert.equal(run.exitCode, 0, `the suite failed inside the namespace:\n${run.output.slice(-4000)}`);
    assert.match(run.output, /# fail 0/);
    const ours = run.summary.nonLoopback.filter((a) => VAULTKEEPER_EXECUTABLES.has(a.executable));
    assert.deepEqual(ours, [], 'a Vaultkeeper process tried to reach beyond loopback');
    // The trace is real: the host, the browser and the lab talked over loopback.
    const loopback = Object.entries(run.summary.byExecutable).filter(([exe]) => VAULTKEEPER_EXECUTABLES.has(exe)).reduce((n, [, c]) => n + c.loopback, 0);
    assert.ok(loopback > 0, 'no loopback connection was traced at all; the tracer saw nothing');
  });
});
