/** `npm run audit:verify -- FILE [EXPECTED_HEAD_HASH]` as an auditor runs it, in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog } from '../../main/audit/audit-log';
import { ManualClock } from '../../main/platform/clock';
import { openDatabase } from '../../main/store/database';
import { tempDir } from '../support/temp-dir';

const CLI = join(import.meta.dirname, '..', '..', 'main', 'audit', 'verify-export-cli.ts');

function verifyCli(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('audit:verify command line', () => {
  const dir = tempDir();
  const db = openDatabase({ dataDir: dir.path });
  const log = new AuditLog(db, new ManualClock());
  for (let i = 0; i < 3; i += 1) log.append({ type: 'VAULT_UNLOCKED', actor: 'operator', details: { i } });
  const earlier = log.exportJsonLines(join(dir.path, 'earlier.jsonl'));
  log.append({ type: 'VAULT_LOCKED', actor: 'system' });
  const laterPath = join(dir.path, 'later.jsonl');
  const later = log.exportJsonLines(laterPath);
  db.close();

  it('exits 0 when the chain is intact and ends at the expected head hash', () => {
    const run = verifyCli(laterPath, later.headHash.toUpperCase());
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, new RegExp(`intact: 4 rows, head hash ${later.headHash}`));
  });

  it('exits non-zero with a sentence when the head hash is not the one recorded earlier', () => {
    // The anchor was taken at 3 rows; the file now has a 4th: intact on its own, but not what was anchored.
    const run = verifyCli(laterPath, earlier.headHash);
    assert.equal(run.code, 1, run.out);
    assert.match(run.out, new RegExp(`head hash ${later.headHash} is not the expected ${earlier.headHash}: rows were added or the tail was rewritten`));
    assert.doesNotMatch(run.out, /^intact: /m);
  });

  it('exits non-zero naming the row when the file is broken, and 2 with a sentence without a readable file', () => {
    const broken = join(dir.path, 'broken.jsonl');
    const text = `${JSON.stringify({ seq: 1, at: 'x', type: 'T', actor: 'a', subject: '', details: {}, hash: '00'.repeat(32) })}\n`;
    writeFileSync(broken, text);
    const run = verifyCli(broken, earlier.headHash);
    assert.equal(run.code, 1, run.out);
    assert.match(run.out, /BROKEN at row 1: row 1 was altered/);
    const usage = verifyCli();
    assert.equal(usage.code, 2);
    assert.match(usage.out, /^usage: npm run audit:verify -- FILE\.jsonl \[EXPECTED_HEAD_HASH\]/);
    const missing = verifyCli(join(dir.path, 'absent.jsonl'));
    assert.equal(missing.code, 2);
    assert.match(missing.out, /^FILE_NOT_FOUND: The audit export .*absent\.jsonl does not exist\./m);
    dir.cleanup();
  });
});
