/**
 * node:test reporter for mutation runs: stops the process at the first failing test (a mutant
 * is killed as soon as one test fails, so the rest need not run) and prints nothing otherwise.
 */
export default async function* bailReporter(source) {
  for await (const event of source) {
    if (event.type === 'test:fail' && event.data.details?.type !== 'suite') {
      yield `killed by: ${event.data.name}\n`;
      process.exit(1);
    }
  }
}
