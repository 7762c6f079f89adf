/**
 * StrykerJS test runner for Node's test runner (`testRunner: 'node-test'`, loaded as a local
 * plugin by stryker.config.mjs).
 *
 * The initial run executes the group's test files once and records which mutants each test
 * reaches; a mutant no test reaches is reported NoCoverage without running anything. Each mutant
 * then re-runs only the files holding a test that reaches it, each from its start, until those
 * tests have passed or one test fails. All runs happen in one long-lived test process
 * (test/mutation/run.ts) that re-creates the project's modules for every run, with the mutant
 * active while they load; it is replaced every RUNS_PER_PROCESS runs to bound its memory.
 */
import { fork } from 'node:child_process';
import { commonTokens, declareClassPlugin, PluginKind } from '@stryker-mutator/api/plugin';
import { DryRunStatus, MutantRunStatus, TestStatus } from '@stryker-mutator/api/test-runner';

const ACTIVE_MUTANT_ENV = '__STRYKER_ACTIVE_MUTANT__';
const RUNS_PER_PROCESS = 60;
const RUN_SCRIPT = 'test/mutation/run.ts';
const NODE_ARGS = ['--import', 'tsx', '--test-reporter=./test/mutation/reporter.mjs', '--test-reporter-destination=stderr'];
/** Test ids are `file :: suite > test` (test/mutation/run.ts). */
const fileOf = (testId) => testId.slice(0, testId.indexOf(' :: '));

function cleanEnv() {
  const env = { ...process.env };
  // The mutant is switched on per run, never for the whole process.
  delete env[ACTIVE_MUTANT_ENV];
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
    this.server = undefined;
  }

  capabilities() {
    // Every run loads the project's modules anew, so mutants in module-level code count too.
    return { reloadEnvironment: true };
  }

  async dryRun() {
    const run = await this.runInServer({ files: this.files });
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

  async mutantRun({ activeMutant, testFilter, hitLimit }) {
    let request = { files: this.files, activeMutant: activeMutant.id, hitLimit };
    if (testFilter) {
      const wanted = new Set(testFilter.map(fileOf));
      request = { ...request, files: this.files.filter((f) => wanted.has(f)), needed: testFilter };
    }
    const run = await this.runInServer(request);
    if (run.error) return { status: MutantRunStatus.Error, errorMessage: run.error };
    // The test process died with the mutant on: a full test run would have failed too.
    if (run.crashed) return { status: MutantRunStatus.Killed, killedBy: [], failureMessage: run.crashed.slice(-2000), nrOfTests: 0 };
    const { report } = run;
    if (report.hitLimitReached) return { status: MutantRunStatus.Timeout, reason: 'the mutant was reached far more often than without it (endless loop)' };
    if (!report.failed) return { status: MutantRunStatus.Survived, nrOfTests: report.tests.length };
    const failed = report.tests.find((t) => t.status === 'failed');
    return { status: MutantRunStatus.Killed, killedBy: failed ? [failed.id] : [], failureMessage: (report.failureMessage ?? '').slice(0, 2000), nrOfTests: report.tests.length };
  }

  async startServer() {
    const child = fork(RUN_SCRIPT, [], { cwd: process.cwd(), env: cleanEnv(), execArgv: NODE_ARGS, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const output = tail(child);
    let ready;
    const isReady = new Promise((resolveReady) => (ready = resolveReady));
    const server = { child, output, pending: undefined, runs: 0 };
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
    if (this.server && this.server.runs >= RUNS_PER_PROCESS) this.stopServer();
    const server = this.server ?? (await this.startServer());
    server.runs += 1;
    return new Promise((resolvePromise) => {
      server.pending = resolvePromise;
      server.child.send(request);
    });
  }

  stopServer() {
    const server = this.server;
    this.server = undefined;
    server?.child.kill('SIGKILL');
  }

  async dispose() {
    // A timed-out run is abandoned by Stryker: end its process too.
    this.stopServer();
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test', NodeTestRunner)];
