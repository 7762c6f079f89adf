/**
 * node:test reporter for mutation runs: hands every event to test/mutation/run.ts, which ends a
 * run at its first failing test (a mutant is killed as soon as one test fails) and prints nothing.
 */
export default async function* mutationReporter(source) {
  for await (const event of source) {
    globalThis.__vaultkeeperMutationEvents?.(event);
  }
}
