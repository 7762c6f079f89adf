/**
 * Runs the test files named on the command line in this one process (no process per file), for
 * mutation runs where every mutant re-runs them: `node --import tsx test/mutation/run.ts FILES…`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const file of process.argv.slice(2)) await import(pathToFileURL(resolve(file)).href);
