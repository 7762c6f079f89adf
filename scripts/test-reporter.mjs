/**
 * node:test reporter for `npm test`: one short summary line per test file, each failure with its
 * error under it, log output the code under test wrote (marked "expected" where the test declared
 * it with expectLog(), "log" otherwise), and a summary at the end.
 *
 *   node --test --test-reporter=./scripts/test-reporter.mjs test/unit/*.test.ts
 */
import { relative } from 'node:path';

const EXPECTED_PREFIX = 'expected log: ';
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const green = (t) => paint(32, t);
const red = (t) => paint(31, t);
const dim = (t) => paint(2, t);

function seconds(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function errorText(error) {
  const cause = error?.cause ?? error;
  const message = cause?.message ?? String(cause);
  return String(message).split('\n').slice(0, 12).map((line) => `      ${line}`).join('\n');
}

function newFile(file) {
  return { file, pass: 0, fail: 0, skip: 0, duration: 0, failures: [], logs: [], expected: [] };
}

function fileSummary(f) {
  const name = f.file ? relative(process.cwd(), f.file) : '(no file)';
  const counts = `${f.pass} passed${f.fail ? `, ${f.fail} failed` : ''}${f.skip ? `, ${f.skip} skipped` : ''}`;
  const lines = [`${f.fail ? red('✗') : green('✓')} ${name} — ${counts} ${dim(`(${seconds(f.duration)})`)}`];
  for (const failure of f.failures) lines.push(red(`    ✗ ${failure.name}`), errorText(failure.error));
  const patterns = f.expected.map((p) => new RegExp(p));
  for (const line of f.logs) {
    const expected = patterns.some((p) => p.test(line));
    lines.push(dim(`    ${expected ? 'expected log' : 'log'} │ ${line}`));
  }
  return `${lines.join('\n')}\n`;
}

export default async function* reporter(source) {
  let current = null;
  const totals = { files: 0, failedFiles: 0, pass: 0, fail: 0, skip: 0 };
  let duration = 0;
  const failed = [];
  const flush = function* () {
    if (!current) return;
    totals.files += 1;
    if (current.fail) {
      totals.failedFiles += 1;
      failed.push(relative(process.cwd(), current.file ?? ''));
    }
    yield fileSummary(current);
    current = null;
  };
  for await (const event of source) {
    const data = event.data ?? {};
    // Node reports a file's results together once it ends; start and queue events come earlier.
    const reported = ['test:pass', 'test:fail', 'test:diagnostic', 'test:stderr', 'test:stdout'].includes(event.type);
    if (reported && data.file && current && current.file !== data.file) yield* flush();
    if (reported && data.file && !current) current = newFile(data.file);
    switch (event.type) {
      case 'test:pass':
      case 'test:fail': {
        if (!current) current = newFile(data.file);
        // Suites and top-level tests carry their duration; count only leaf tests.
        if (data.nesting === 0) current.duration += data.details?.duration_ms ?? 0;
        const isSuite = data.details?.type === 'suite';
        if (isSuite) break;
        if (data.skip || data.todo) {
          current.skip += 1;
          totals.skip += 1;
        } else if (event.type === 'test:pass') {
          current.pass += 1;
          totals.pass += 1;
        } else {
          current.fail += 1;
          totals.fail += 1;
          current.failures.push({ name: data.name, error: data.details?.error });
        }
        break;
      }
      case 'test:diagnostic':
        if (current && typeof data.message === 'string' && data.message.startsWith(EXPECTED_PREFIX)) current.expected.push(data.message.slice(EXPECTED_PREFIX.length));
        else if (!data.file && typeof data.message === 'string' && data.message.startsWith('duration_ms ')) duration = Number(data.message.slice(12));
        break;
      case 'test:stderr':
      case 'test:stdout':
        if (current && typeof data.message === 'string') for (const line of data.message.split('\n')) if (line.trim()) current.logs.push(line.trimEnd());
        break;
      default:
        break;
    }
  }
  yield* flush();
  const outcome = totals.fail ? red(`${totals.fail} FAILED`) : green('all passed');
  yield `\n${totals.files} test file(s): ${totals.pass} tests passed, ${outcome}${totals.skip ? `, ${totals.skip} skipped` : ''} ${dim(`(${seconds(duration)})`)}\n`;
  if (failed.length) yield red(`Failed files:\n${failed.map((f) => `  ${f}`).join('\n')}\n`);
}
