/**
 * One time format on every screen (UTC, local time on hover; renderer/src/components/Time.tsx):
 * a screen that formats a time by itself shows the operator a second zone or layout, and two
 * screens stop comparing at a glance.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const ROOT = join(process.cwd(), 'renderer', 'src');
const TIME_MODULE = join(ROOT, 'components', 'Time.tsx');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** Ways a screen could format a time on its own. */
const OWN_FORMATTING = [/\.toLocale(Date|Time)?String\(/, /\.slice\(0, 1[69]\)\.replace\('T'/, /\.replace\('T', ' '\)/];

it('no renderer module formats a time except the Time component', () => {
  const offenders: string[] = [];
  for (const file of files(ROOT)) {
    if (file === TIME_MODULE) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
      if (OWN_FORMATTING.some((pattern) => pattern.test(line))) offenders.push(`${file.slice(ROOT.length + 1)}:${index + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], `format times with <Time> or utcText from components/Time.tsx:\n${offenders.join('\n')}`);
});
