/**
 * The offline verifier of exported audit files refuses what is not an audit line, and the live
 * log's listing and export behave at their edges (empty log, paging, new folders, file mode).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, GENESIS_HASH } from '../../main/audit/audit-log';
import { verifyExportedChain } from '../../main/audit/export-verifier';
import { ManualClock } from '../../main/platform/clock';
import { openDatabase } from '../../main/store/database';
import { tempDir } from '../support/temp-dir';

function logWith(rows: number) {
  const dir = tempDir();
  const db = openDatabase({ dataDir: dir.path });
  const clock = new ManualClock();
  const log = new AuditLog(db, clock);
  for (let i = 0; i < rows; i += 1) {
    log.append({ type: i % 2 ? 'VAULT_LOCKED' : 'VAULT_UNLOCKED', actor: 'operator', subject: `s${i}`, details: { i } });
    clock.advance(1000);
  }
  return { dir, log, done: () => (db.close(), dir.cleanup()) };
}

function exportedLines(rows: number): Array<Record<string, unknown>> {
  const { dir, log, done } = logWith(rows);
  const path = join(dir.path, 'a.jsonl');
  log.exportJsonLines(path);
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  done();
  return lines;
}

const jsonl = (lines: Array<Record<string, unknown>>) => lines.map((l) => JSON.stringify(l)).join('\n');

describe('exported audit file verifier', () => {
  it('accepts an intact file, ignores blank and whitespace-only lines, and reports rows and head hash', () => {
    const lines = exportedLines(3);
    // Blank and whitespace-only lines (an editor's trailing spaces, CRLF endings) are not rows.
    const result = verifyExportedChain(`\n${jsonl(lines).replaceAll('\n', '\r\n   \n')}\n \t\n`, 'when');
    assert.deepEqual(result, { intact: true, rows: 3, headHash: lines[2]!.hash, checkedAt: 'when' });
  });

  it('an empty file is an intact chain of no rows ending at the genesis hash', () => {
    assert.deepEqual(verifyExportedChain('', 'when'), { intact: true, rows: 0, headHash: GENESIS_HASH.toString('hex'), checkedAt: 'when' });
  });

  it('names a line that is not JSON', () => {
    const lines = exportedLines(2);
    const result = verifyExportedChain(`${JSON.stringify(lines[0])}\n{"seq": 2,`);
    assert.equal(!result.intact && result.firstBrokenSeq, 2);
    assert.equal(!result.intact && result.reason, 'line 2 is not JSON');
  });

  for (const field of ['seq', 'at', 'type', 'actor', 'subject', 'details', 'hash']) {
    it(`names a line whose ${field} is missing or of the wrong type`, () => {
      const lines = exportedLines(2);
      for (const bad of [undefined, field === 'details' ? null : field === 'seq' ? '2' : 2]) {
        const edited = lines.map((l, i) => (i === 1 ? { ...l, [field]: bad } : l));
        const result = verifyExportedChain(jsonl(edited));
        assert.equal(result.intact, false, `${field} = ${String(bad)}`);
        assert.equal(!result.intact && result.firstBrokenSeq, 2);
        assert.equal(!result.intact && result.reason, 'line 2 lacks a field of an audit entry');
      }
    });
  }

  it('names a row out of sequence, and an altered first row without mentioning a row 0', () => {
    const lines = exportedLines(3);
    const swapped = verifyExportedChain(jsonl([lines[0]!, lines[2]!, lines[1]!]));
    assert.equal(!swapped.intact && swapped.reason, 'row 2 is missing (found 3 next)');
    assert.equal(!swapped.intact && swapped.firstBrokenSeq, 3);
    const edited = verifyExportedChain(jsonl([{ ...lines[0]!, actor: 'mallory' }, lines[1]!, lines[2]!]));
    assert.equal(!edited.intact && edited.reason, 'row 1 was altered after it was written');
    // A later row names itself and the row it must follow.
    const third = verifyExportedChain(jsonl([lines[0]!, lines[1]!, { ...lines[2]!, subject: 'moved' }]));
    assert.equal(!third.intact && third.reason, 'row 3 was altered after it was written, or no longer follows row 2');
    assert.equal(!third.intact && third.firstBrokenSeq, 3);
  });
});

describe('audit log listing and export edges', () => {
  it('pages newest first with limit and offset, and filters by type and text together', () => {
    const { log, done } = logWith(6);
    assert.deepEqual(log.list({ limit: 2, offset: 1 }).entries.map((e) => e.seq), [5, 4]);
    assert.equal(log.list({ limit: 2 }).total, 6);
    assert.deepEqual(log.list().entries.map((e) => e.seq), [6, 5, 4, 3, 2, 1]);
    const both = log.list({ type: 'VAULT_LOCKED', text: 'S3' });
    assert.deepEqual(both.entries.map((e) => e.seq), [4]);
    assert.equal(both.total, 1);
    assert.equal(log.list({ type: 'VAULT_LOCKED' }).total, 3);
    const entry = log.list({ limit: 1 }).entries[0]!;
    assert.deepEqual({ type: entry.type, actor: entry.actor, subject: entry.subject, details: entry.details }, { type: 'VAULT_LOCKED', actor: 'operator', subject: 's5', details: { i: 5 } });
    done();
  });

  it('records an event without subject or details as empty ones', () => {
    const { log, done } = logWith(0);
    const entry = log.append({ type: 'VAULT_LOCKED', actor: 'system' });
    assert.equal(entry.subject, '');
    assert.deepEqual(entry.details, {});
    done();
  });

  it('exports an empty log as an empty file into a folder it creates, readable by the owner only', () => {
    const { dir, log, done } = logWith(0);
    const path = join(dir.path, 'new', 'nested', 'audit.jsonl');
    assert.deepEqual(log.exportJsonLines(path), { rows: 0, headHash: GENESIS_HASH.toString('hex') });
    assert.equal(readFileSync(path, 'utf8'), '');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const verified = log.verify();
    assert.deepEqual({ intact: verified.intact, rows: verified.rows }, { intact: true, rows: 0 });
    done();
  });

  it('names an altered first row without mentioning a row before it', () => {
    const { log, done } = logWith(2);
    const db = (log as unknown as { db: ReturnType<typeof openDatabase> }).db;
    db.exec("DROP TRIGGER audit_log_append_only_update; UPDATE audit_log SET entry = json_set(entry, '$.actor', 'mallory') WHERE seq = 1;");
    const result = log.verify();
    assert.equal(!result.intact && result.reason, 'row 1 was altered after it was written');
    assert.equal(!result.intact && result.firstBrokenSeq, 1);
    done();
  });

  it('a chain that starts at row 2 names row 1 as missing', () => {
    const { log, done } = logWith(3);
    const db = (log as unknown as { db: ReturnType<typeof openDatabase> }).db;
    db.exec('DROP TRIGGER audit_log_append_only_delete; DELETE FROM audit_log WHERE seq = 1;');
    const result = log.verify();
    assert.equal(!result.intact && result.reason, 'row 1 is missing (found 2 next)');
    assert.equal(!result.intact && result.firstBrokenSeq, 2);
    done();
  });
});
