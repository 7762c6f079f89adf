// Mutation testing of the security core (`npm run test:mutation`, not part of `npm test`).
//
// StrykerJS with a runner for Node's test runner (test/mutation/node-test-runner.mjs): the initial
// run records which tests reach which mutant, and each mutant re-runs only those tests (with the
// tests before them in their files), stopping at the first failure. The core is split into groups,
// one per folder, each with the unit test files that exercise it; scripts/mutation.mjs runs the
// groups one after the other (STRYKER_GROUP selects one) and prints a score per folder. A group
// whose folder does not exist yet is skipped by that script. Incremental mode is not used: every
// run tests every mutant.
import { existsSync, readdirSync } from 'node:fs';

/**
 * Suites left out of every group: the parallel import verifies permits in worker threads, which
 * see neither the active mutant nor the coverage counters of the runner's thread (so they can
 * neither kill nor cover a mutant), and which do not start from the runner's re-imported modules.
 */
const notUnderMutation = new Set(['test/unit/permit-queue-parallel-import.test.ts']);

/** Test files whose name (under test/unit or test/cluster) starts with one of the prefixes. */
function testFiles(...prefixes) {
  return ['test/unit', 'test/cluster'].flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.test.ts') && prefixes.some((p) => `${dir}/${f}`.startsWith(p)) && !notUnderMutation.has(`${dir}/${f}`))
          .sort()
          .map((f) => `${dir}/${f}`)
      : [],
  );
}

// Each group's tests: unit suites only (the cluster suites start nodes and take minutes).
export const groups = {
  crypto: {
    mutate: ['main/crypto/**/*.ts'],
    tests: ['test/unit/crypto-primitives.test.ts', 'test/unit/envelope.test.ts', 'test/unit/sealed-records.test.ts', 'test/unit/kdf-defaults.test.ts'],
  },
  vault: {
    mutate: ['main/vault/**/*.ts'],
    tests: ['test/unit/vault-policies.test.ts', 'test/unit/sealed-records.test.ts', 'test/unit/vault.test.ts', 'test/unit/kdf-defaults.test.ts', 'test/unit/guardian-passphrase-change.test.ts', 'test/unit/guardian-requester.test.ts'],
  },
  audit: {
    mutate: ['main/audit/**/*.ts'],
    tests: ['test/unit/audit-chain-link.test.ts', 'test/unit/audit-log.test.ts', 'test/unit/audit-export.test.ts', 'test/unit/audit-verify-cli.test.ts'],
  },
  'cluster/envelope.ts': {
    mutate: ['main/cluster/envelope.ts'],
    tests: ['test/cluster/envelope-binding.test.ts', 'test/cluster/envelope.test.ts'],
  },
  guardians: {
    mutate: ['main/guardians/**/*.ts'],
    tests: testFiles('test/unit/guardian', 'test/unit/ledger-'),
  },
  permits: {
    mutate: ['main/permits/**/*.ts'],
    tests: testFiles('test/unit/permit', 'test/unit/policy', 'test/unit/safe-file'),
  },
  policy: {
    mutate: ['main/policy/**/*.ts'],
    // The pure checks first: most mutants die there in milliseconds. The permit-queue, chains,
    // refusal and issuer-CLI suites reach no policy mutant that these do not (same 499 covered).
    tests: ['test/unit/policy-checks.test.ts', ...testFiles('test/unit/policy-').filter((f) => !f.endsWith('policy-checks.test.ts')), 'test/unit/permits-authorizer.test.ts'],
  },
};

/**
 * Not generated: string literals. In this code they are either sentences for people (error and
 * log text, which tests match loosely on purpose) or single-sourced domain-separation labels and
 * SQL, where a mutant changes both sides at once (equivalent within one process) or breaks every
 * test (SQL). Leaving them out roughly halves the run on a shared two-core machine.
 */
export const excludedMutations = ['StringLiteral'];

const selected = process.env.STRYKER_GROUP ? [groups[process.env.STRYKER_GROUP]] : Object.values(groups);
if (selected.includes(undefined)) throw new Error(`unknown STRYKER_GROUP ${process.env.STRYKER_GROUP}; known: ${Object.keys(groups).join(', ')}`);
// STRYKER_TESTS (comma-separated test files) narrows a run to the fast suites that reach the
// mutants of STRYKER_MUTATE, e.g. when re-checking a few survivors.
const tests = process.env.STRYKER_TESTS ? process.env.STRYKER_TESTS.split(',') : [...new Set(selected.flatMap((g) => g.tests))];
const slug = (process.env.STRYKER_GROUP ?? 'all').replace(/[^a-z0-9]+/gi, '-');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  // Node's test runner through a local plugin: per-test coverage, so a mutant re-runs only the
  // tests that reach it (test/mutation/node-test-runner.mjs).
  plugins: ['@stryker-mutator/*', './test/mutation/node-test-runner.mjs'],
  testRunner: 'node-test',
  nodeTestRunner: { files: tests },
  coverageAnalysis: 'perTest',
  warnings: { unknownOptions: false },
  // STRYKER_MUTATE (comma-separated globs, `file.ts:from-to` line ranges allowed) narrows a run.
  mutate: process.env.STRYKER_MUTATE ? process.env.STRYKER_MUTATE.split(',') : selected.flatMap((g) => g.mutate),
  mutator: { excludedMutations },
  // The machine is shared: one mutant at a time.
  concurrency: 1,
  // Generous: a loaded machine must not turn slow-but-correct runs into timeouts (a timeout counts
  // as detected). Endless loops are cut short by Stryker's hit limit instead.
  timeoutMS: 60_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 10,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  htmlReporter: { fileName: `reports/mutation/${slug}.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // One sandbox folder per group, so groups can run side by side.
  tempDirName: `.stryker-tmp/${slug}`,
  cleanTempDir: 'always',
  // The test subset needs only sources, tests and the prebuilt addon.
  ignorePatterns: ['.stryker-tmp', 'renderer', 'dist', 'release', 'reports', 'test/e2e', 'test/native', 'native/target', 'native/src', '.vaultkeeper-data'],
};
