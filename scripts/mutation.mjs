// `npm run test:mutation [-- GROUP…]`: runs StrykerJS over the security core one group at a time
// (groups and test subsets are in stryker.config.mjs), then prints a mutation score per folder
// and every surviving mutant. Reports go to reports/mutation/ (not committed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { excludedMutations, groups } from '../stryker.config.mjs';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const requested = process.argv.slice(2);
const unknown = requested.filter((g) => !(g in groups));
if (unknown.length) {
  console.error(`unknown group ${unknown.join(', ')}; known: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
const names = requested.length ? requested : Object.keys(groups);
const slug = (name) => name.replace(/[^a-z0-9]+/gi, '-');

/** A group's mutate globs are `folder/**\/*.ts` or one file: does any source exist yet? */
function hasSources(group) {
  return group.mutate.some((glob) => {
    const base = join(root, glob.replace(/\/\*\*.*$/, ''));
    return existsSync(base) && (statSync(base).isFile() || glob.includes('**'));
  });
}

/** CPU seconds used by finished child processes (and theirs): /proc/self/stat cutime + cstime. */
function childCpuSeconds() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const rows = [];
const survivors = [];
let failed = false;
mkdirSync(join(root, 'reports', 'mutation'), { recursive: true });

for (const name of names) {
  const group = groups[name];
  if (!hasSources(group)) {
    rows.push({ name, note: 'no source files yet: skipped' });
    continue;
  }
  if (group.tests.length === 0) {
    rows.push({ name, note: 'no test files yet: skipped' });
    continue;
  }
  const started = Date.now();
  const cpuBefore = childCpuSeconds();
  console.log(`\n== mutation testing ${name}: ${group.mutate.join(', ')} against ${group.tests.length} test files`);
  const run = spawnSync(join(root, 'node_modules', '.bin', 'stryker'), ['run', 'stryker.config.mjs'], { cwd: root, stdio: 'inherit', env: { ...process.env, STRYKER_GROUP: name } });
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  // On a shared machine the wall time says little; CPU time is what the run itself costs.
  const cpuMinutes = ((childCpuSeconds() - cpuBefore) / 60).toFixed(1);
  const reportFile = join(root, 'reports', 'mutation', `${slug(name)}.json`);
  if (run.status !== 0 || !existsSync(reportFile)) {
    failed = true;
    rows.push({ name, note: `stryker failed (exit ${run.status}) after ${minutes} min` });
    continue;
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  const count = { detected: 0, undetected: 0, errors: 0, total: 0 };
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      // A report written before a mutator was excluded still lists its mutants: do not count them.
      if (excludedMutations.includes(m.mutatorName)) continue;
      count.total += 1;
      if (DETECTED.has(m.status)) count.detected += 1;
      else if (UNDETECTED.has(m.status)) {
        count.undetected += 1;
        survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${String(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100)}`);
      } else count.errors += 1;
    }
  }
  const valid = count.detected + count.undetected;
  rows.push({ name, ...count, score: valid ? ((100 * count.detected) / valid).toFixed(1) : 'n/a', minutes, cpuMinutes });
}

const lines = ['', 'mutation score per folder (killed or timed out / valid mutants)'];
for (const r of rows) {
  lines.push(r.note ? `  ${r.name.padEnd(22)} ${r.note}` : `  ${r.name.padEnd(22)} ${String(r.score).padStart(5)}%  ${r.detected} killed, ${r.undetected} survived, ${r.errors} invalid, ${r.total} total, ${r.minutes} min (${r.cpuMinutes} min CPU)`);
}
lines.push('', `surviving mutants (${survivors.length}):`, ...survivors.map((s) => `  ${s}`));
const summary = lines.join('\n');
console.log(summary);
writeFileSync(join(root, 'reports', 'mutation', 'summary.txt'), `${summary}\n`);
process.exit(failed ? 1 : 0);
