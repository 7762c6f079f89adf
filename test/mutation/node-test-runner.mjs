/**
 * StrykerJS test runner for Node's test runner (`testRunner: 'node-test'`, loaded as a local
 * plugin by stryker.config.mjs).
 *
 * The initial run executes the group's test files once, in a new process (test/mutation/run.ts),
 * and records which mutants each test reaches; a mutant no test reaches is reported NoCoverage
 * without running anything. Each mutant then re-runs only the files holding a test that reaches
 * it, each from its start, until those tests have passed or one test fails:
 * - a mutant in code that runs while modules load ("static") in a new process, active from the
 *   start;
 * - every other mutant in one long-lived process where the product modules stay loaded and the
 *   mutant is switched on for the run only (Stryker's runtime activation).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonTokens, declareClassPlugin, PluginKind } from '@stryker-mutator/api/plugin';
import { DryRunStatus, MutantRunStatus, TestStatus } from '@stryker-mutator/api/test-runner';

const ACTIVE_MUTANT_ENV = '__STRYKER_ACTIVE_MUTANT__';
const RUN_SCRIPT = 'test/mutation/run.ts';
const NODE_ARGS = ['--import', 'tsx', '--test-reporter=./test/mutation/reporter.mjs', '--test-reporter-destination=stderr'];
/** Test ids are `file :: suite > test` (test/mutation/run.ts). */
const fileOf = (testId) => testId.slice(0, testId.indexOf(' :: '));

function cleanEnv() {
  const env = { ...process.env };
  for (const name of [ACTIVE_MUTANT_ENV, 'MUTATION_NEEDED_TESTS', 'MUTATION_HIT_LIMIT', 'MUTATION_REPORT_FILE', 'MUTATION_SERVER']) delete env[name];
  return env;
}

/** Keeps the last few kilobytes a child printed, for error reports. */
function tail(child) {
  const chunks = [];
  const keep = (chunk) => {
    chunks.push(chunk);
    if (chunks.length > 100) chunks.splice(0, chunks.length - 100);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => Buffer.concat(chunks).toString().slice(-4000);
}

class NodeTestRunner {
  static inject = [commonTokens.options];

  constructor(options) {
    this.files = options.nodeTestRunner?.files ?? [];
    if (this.files.length === 0) throw new Error('nodeTestRunner.files names no test files');
    this.scratch = mkdtempSync(join(tmpdir(), 'vaultkeeper-mutation-'));
    this.oneShot = undefined;
    this.server = undefined;
  }

  capabilities() {
    // Static mutants get a new process.
    return { reloadEnvironment: true };
  }

  async dryRun() {
    const run = await this.runOnce({ files: this.files });
    if (run.error || run.crashed) return { status: DryRunStatus.Error, errorMessage: run.error ?? run.crashed };
    const tests = run.report.tests.map((t) => {
      const base = { id: t.id, name: t.id, fileName: t.fileName, timeSpentMs: t.timeSpentMs };
      return t.status === 'passed' ? { ...base, status: TestStatus.Success } : { ...base, status: TestStatus.Failed, failureMessage: t.failureMessage ?? '' };
    });
    if (run.report.failed && tests.every((t) => t.status === TestStatus.Success)) {
      return { status: DryRunStatus.Error, errorMessage: `the unmutated run failed: ${run.report.failureMessage}` };
    }
    return { status: DryRunStatus.Complete, tests, mutantCoverage: run.report.coverage };
  }

  async mutantRun({ activeMutant, testFilter, hitLimit, mutantActivation }) {
    let request = { files: this.files, activeMutant: activeMutant.id, hitLimit };
    if (testFilter) {
      const wanted = new Set(testFilter.map(fileOf));
      request = { ...request, files: this.files.filter((f) => wanted.has(f)), needed: testFilter };
    }
    const run = mutantActivation === 'static' ? await this.runOnce(request) : await this.runInServer(request);
    if (run.error) return { status: MutantRunStatus.Error, errorMessage: run.error };
    // The test process died with the mutant on: a full test run would have failed too.
    if (run.crashed) return { status: MutantRunStatus.Killed, killedBy: [], failureMessage: run.crashed.slice(-2000), nrOfTests: 0 };
    const { report } = run;
    if (report.hitLimitReached) return { status: MutantRunStatus.Timeout, reason: 'the mutant was reached far more often than without it (endless loop)' };
    if (!report.failed) return { status: MutantRunStatus.Survived, nrOfTests: report.tests.length };
    const failed = report.tests.find((t) => t.status === 'failed');
    return { status: MutantRunStatus.Killed, killedBy: failed ? [failed.id] : [], failureMessage: (report.failureMessage ?? '').slice(0, 2000), nrOfTests: report.tests.length };
  }

  /** One run in a new process, the mutant (if any) active from the start. */
  runOnce({ files, activeMutant, needed, hitLimit }) {
    const reportFile = join(this.scratch, 'report.json');
    rmSync(reportFile, { force: true });
    const env = { ...cleanEnv(), MUTATION_REPORT_FILE: reportFile };
    if (activeMutant !== undefined) env[ACTIVE_MUTANT_ENV] = activeMutant;
    if (needed) env.MUTATION_NEEDED_TESTS = JSON.stringify(needed);
    if (hitLimit !== undefined) env.MUTATION_HIT_LIMIT = String(hitLimit);
    return new Promise((resolvePromise) => {
      const child = fork(RUN_SCRIPT, files, { cwd: process.cwd(), env, execArgv: NODE_ARGS, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      this.oneShot = child;
      const output = tail(child);
      child.on('error', (error) => resolvePromise({ error: String(error) }));
      child.on('exit', (exitCode) => {
        this.oneShot = undefined;
        try {
          resolvePromise({ report: JSON.parse(readFileSync(reportFile, 'utf8')) });
        } catch {
          resolvePromise({ crashed: `the test process wrote no report (exit ${exitCode}):\n${output()}` });
        }
      });
    });
  }

  async startServer() {
    const child = fork(RUN_SCRIPT, [], { cwd: process.cwd(), env: { ...cleanEnv(), MUTATION_SERVER: '1' }, execArgv: NODE_ARGS, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const output = tail(child);
    let ready;
    const isReady = new Promise((resolveReady) => (ready = resolveReady));
    const server = { child, output, pending: undefined };
    child.on('message', (message) => {
      if (message.ready) return ready();
      const pending = server.pending;
      server.pending = undefined;
      pending?.({ report: message });
    });
    child.on('exit', (exitCode) => {
      if (this.server === server) this.server = undefined;
      server.pending?.({ crashed: `the test process ended (exit ${exitCode}):\n${output()}` });
      server.pending = undefined;
      ready();
    });
    this.server = server;
    await isReady;
    return server;
  }

  async runInServer(request) {
    const server = this.server ?? (await this.startServer());
    return new Promise((resolvePromise) => {
      server.pending = resolvePromise;
      server.child.send(request);
    });
  }

  async dispose() {
    // A timed-out run is abandoned by Stryker: end its process too.
    this.oneShot?.kill('SIGKILL');
    this.server?.child.kill('SIGKILL');
    this.server = undefined;
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test', NodeTestRunner)];
