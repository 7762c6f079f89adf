/**
 * Runs test files for mutation runs, driven by test/mutation/node-test-runner.mjs over IPC
 * (`node --import tsx test/mutation/run.ts`, started by that runner).
 *
 * One long-lived process: libraries load once; each request imports the test files anew, and
 * with them a fresh instance of every project module (test/mutation/fresh-modules.mjs), with one
 * mutant switched on from the start, so module-level code runs again with the mutant active and
 * no state carries over from an earlier run. Loading the libraries takes seconds, re-evaluating
 * the project's modules a fraction of that: this is what keeps a mutation run within its budget.
 *
 * Every test gets an id (file, enclosing suites, name) and its results are recorded with the
 * mutants it reached (Stryker's per-test coverage), so a mutant later re-runs only the tests that
 * reach it. A run that needs only some tests still runs their files from the start, in order, so
 * every test sees the state the tests before it left, exactly as in a full run; it ends once the
 * needed tests have passed or any test has failed (the rest are skipped).
 */
import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type TestFn = (...args: unknown[]) => unknown;
interface Coverage {
  static: Record<string, number>;
  perTest: Record<string, Record<string, number>>;
}
interface StrykerNamespace {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: Coverage;
  hitCount?: number;
  hitLimit?: number;
}
interface TestRecord {
  id: string;
  fileName: string;
  status: 'passed' | 'failed';
  timeSpentMs: number;
  failureMessage?: string;
}
interface TestEvent {
  type: string;
  data: { name: string; nesting: number; todo?: unknown; details?: { error?: unknown } };
}
export interface RunRequest {
  files: string[];
  needed?: string[];
  activeMutant?: string;
  hitLimit?: number;
}
export interface RunReport {
  tests: TestRecord[];
  coverage: Coverage;
  failed: boolean;
  failureMessage?: string;
  hitLimitReached: boolean;
}

const globals = globalThis as { __stryker__?: StrykerNamespace; __vaultkeeperMutationEvents?: (event: TestEvent) => void };
const ns: StrykerNamespace = (globals.__stryker__ ??= {});

/** One run over some files: what it needs, what it saw. */
class Round {
  readonly records: TestRecord[] = [];
  done = false;
  failed = false;
  failureMessage?: string;
  topLevelRegistered = 0;
  topLevelFinished = 0;
  private finishedListener?: () => void;
  constructor(readonly needed: Set<string> | undefined) {}

  fail(message: string): void {
    if (this.done) return;
    this.failed = true;
    this.failureMessage = message;
    this.finish();
  }

  passed(id: string): void {
    if (this.needed?.delete(id) && this.needed.size === 0) this.finish();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
  }

  topLevelEnded(): void {
    this.topLevelFinished += 1;
    if (this.topLevelFinished >= this.topLevelRegistered) this.finishedListener?.();
  }

  allTopLevelEnded(): Promise<void> {
    if (this.topLevelFinished >= this.topLevelRegistered) return Promise.resolve();
    return new Promise((resolvePromise) => (this.finishedListener = resolvePromise));
  }
}

// Code run by a hook is credited to the next test that starts: a run that stops after that test
// has run the hook too.
const PENDING = '\u0000hooks';
let round = new Round(undefined);
// Tests may start while later test files are still loading; they wait, so code that runs while
// modules load is never credited to a test (such a mutant must re-run every file).
let importsDone: Promise<void> = Promise.resolve();
let currentFile = '';
let fileStartedAt = 0;
let lastTestId: string | undefined;
const suitePath: string[] = [];
let seenIds = new Map<string, number>();

function creditPendingTo(id: string): void {
  const perTest = ns.mutantCoverage?.perTest;
  const pending = perTest?.[PENDING];
  if (!perTest || !pending) return;
  const target = (perTest[id] ??= {});
  for (const [mutant, hits] of Object.entries(pending)) target[mutant] = (target[mutant] ?? 0) + hits;
  delete perTest[PENDING];
}

/** A unique id per test: file, enclosing suites, name (and a counter when a name repeats). */
function testId(name: string): string {
  const base = `${currentFile} :: ${[...suitePath, name].join(' > ')}`;
  const seen = seenIds.get(base) ?? 0;
  seenIds.set(base, seen + 1);
  return seen === 0 ? base : `${base} #${seen + 1}`;
}

/** Keeps the arity: node:test passes a `done` callback to functions declaring two parameters. */
function withArity(fn: TestFn, body: (self: unknown, args: unknown[]) => unknown): TestFn {
  return fn.length >= 2
    ? function (this: unknown, a: unknown, b: unknown) { return body(this, [a, b]); }
    : function (this: unknown, ...args: unknown[]) { return body(this, args); };
}

function lastFunctionIndex(args: unknown[]): number {
  for (let i = args.length - 1; i >= 0; i -= 1) if (typeof args[i] === 'function') return i;
  return -1;
}

function describeError(error: unknown): string {
  return String((error as Error)?.stack ?? error);
}

function wrapTest(original: TestFn): TestFn {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    if (suitePath.length === 0) round.topLevelRegistered += 1;
    const at = lastFunctionIndex(args);
    if (at < 0) return original.apply(this, args);
    const fn = args[at] as TestFn;
    const name = typeof args[0] === 'string' ? args[0] : fn.name || '<anonymous>';
    const id = testId(name);
    const fileName = currentFile;
    const owner = round;
    args[at] = withArity(fn, async (self, fnArgs) => {
      await importsDone;
      // A finished run (killed, or every needed test passed) skips the rest of its tests.
      if (owner.done) return undefined;
      ns.currentTestId = id;
      creditPendingTo(id);
      if (lastTestId === undefined || !lastTestId.startsWith(`${fileName} :: `)) fileStartedAt = performance.now();
      lastTestId = id;
      // A test's time counts from its file's start: what a run that stops after it costs.
      const record = (status: TestRecord['status'], failure?: unknown) =>
        owner.records.push({ id, fileName, status, timeSpentMs: Math.round(performance.now() - fileStartedAt), failureMessage: failure === undefined ? undefined : describeError(failure) });
      try {
        const result = await fn.apply(self, fnArgs);
        record('passed');
        owner.passed(id);
        return result;
      } catch (error) {
        record('failed', error);
        owner.fail(`${id}: ${describeError(error)}`);
        throw error;
      }
    });
    return original.apply(this, args);
  };
  return Object.assign(wrapped, original);
}

function wrapSuite(original: TestFn): TestFn {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    if (suitePath.length === 0) round.topLevelRegistered += 1;
    const at = lastFunctionIndex(args);
    if (at < 0) return original.apply(this, args);
    const fn = args[at] as TestFn;
    const name = typeof args[0] === 'string' ? args[0] : fn.name || '<anonymous>';
    // A suite's body runs synchronously while the file registers its tests.
    args[at] = function (this: unknown, ...fnArgs: unknown[]) {
      suitePath.push(name);
      try {
        return fn.apply(this, fnArgs);
      } finally {
        suitePath.pop();
      }
    };
    return original.apply(this, args);
  };
  return Object.assign(wrapped, original);
}

function wrapHook(original: TestFn, kind: string): TestFn {
  const cleanup = kind.startsWith('after');
  return function (this: unknown, ...args: unknown[]) {
    const at = lastFunctionIndex(args);
    if (at >= 0) {
      const fn = args[at] as TestFn;
      const owner = round;
      args[at] = withArity(fn, async (self, fnArgs) => {
        await importsDone;
        if (owner.done && !cleanup) return undefined;
        ns.currentTestId = PENDING;
        // Cleanup after a finished run may find its setup skipped: that is not a failure.
        if (owner.done) return Promise.resolve(fn.apply(self, fnArgs)).catch(() => undefined);
        return fn.apply(self, fnArgs);
      });
    }
    return original.apply(this, args);
  };
}

// The test files' `import { describe, it, … } from 'node:test'` see these wrappers.
const nodeTest = createRequire(import.meta.url)('node:test') as Record<'it' | 'test' | 'describe' | 'suite' | 'before' | 'after' | 'beforeEach' | 'afterEach', TestFn>;
nodeTest.it = wrapTest(nodeTest.it);
nodeTest.test = wrapTest(nodeTest.test);
nodeTest.describe = wrapSuite(nodeTest.describe);
nodeTest.suite = wrapSuite(nodeTest.suite);
for (const hook of ['before', 'after', 'beforeEach', 'afterEach'] as const) nodeTest[hook] = wrapHook(nodeTest[hook], hook);
syncBuiltinESMExports();

// Events from test/mutation/reporter.mjs: failures outside test bodies (hooks) and the end
// of each top-level suite.
globals.__vaultkeeperMutationEvents = (event) => {
  if (event.type !== 'test:pass' && event.type !== 'test:fail') return;
  if (event.type === 'test:fail' && !event.data.todo && !round.done) round.fail(`${event.data.name}: ${describeError(event.data.details?.error)}`);
  if (event.data.nesting === 0) round.topLevelEnded();
};

let imports = 0;
async function runRound(request: RunRequest): Promise<RunReport> {
  round = new Round(request.needed ? new Set(request.needed) : undefined);
  seenIds = new Map();
  lastTestId = undefined;
  ns.activeMutant = request.activeMutant;
  ns.mutantCoverage = { static: {}, perTest: {} };
  ns.currentTestId = undefined;
  if (request.hitLimit !== undefined) {
    ns.hitCount = 0;
    ns.hitLimit = request.hitLimit;
  } else {
    ns.hitCount = undefined;
    ns.hitLimit = undefined;
  }
  imports += 1;
  let loaded = () => {};
  importsDone = new Promise((resolveLoaded) => (loaded = resolveLoaded));
  try {
    for (const file of request.files) {
      currentFile = relative(process.cwd(), resolve(file));
      // A new instance of the test file and of every project module it reaches.
      await import(`${pathToFileURL(resolve(file)).href}?run=${imports}`);
    }
  } finally {
    loaded();
  }
  await round.allTopLevelEnded();
  if (lastTestId !== undefined) creditPendingTo(lastTestId);
  const report: RunReport = {
    tests: round.records,
    coverage: ns.mutantCoverage,
    failed: round.failed,
    failureMessage: round.failureMessage,
    hitLimitReached: ns.hitLimit !== undefined && (ns.hitCount ?? 0) > ns.hitLimit,
  };
  ns.activeMutant = undefined;
  return report;
}

register('./fresh-modules.mjs', import.meta.url);

process.on('message', (request: RunRequest) => {
  void runRound(request).then(
    (report) => process.send?.(report),
    (error) => process.send?.({ tests: [], coverage: { static: {}, perTest: {} }, failed: true, failureMessage: describeError(error), hitLimitReached: false }),
  );
});
process.send?.({ ready: true });
