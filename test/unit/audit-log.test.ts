import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog } from '../../main/audit/audit-log';
import { verifyExportedChain } from '../../main/audit/export-verifier';
import { ManualClock } from '../../main/platform/clock';
import { openDatabase } from '../../main/store/database';
import { tempDir } from '../support/temp-dir';

function freshLog() {
  const dir = tempDir();
  const db = openDatabase({ dataDir: dir.path });
  const clock = new ManualClock();
  return { dir, db, clock, log: new AuditLog(db, clock), done: () => (db.close(), dir.cleanup()) };
}

describe('audit chain', () => {
  it('appends linked rows and verifies an intact chain', () => {
    const { log, clock, done } = freshLog();
    const first = log.append({ type: 'VAULT_CREATED', actor: 'operator', details: { b: 2, a: 1 } });
    clock.advance(1000);
    const second = log.append({ type: 'VAULT_LOCKED', actor: 'system' });
    assert.equal(first.seq, 1);
    assert.equal(second.seq, 2);
    assert.notEqual(first.hash, second.hash);
    const result = log.verify();
    assert.equal(result.intact, true);
    assert.equal(result.rows, 2);
    assert.equal(result.intact && result.headHash, second.hash);
    done();
  });

  it('refuses UPDATE and DELETE through the database triggers', () => {
    const { log, db, done } = freshLog();
    log.append({ type: 'VAULT_CREATED', actor: 'operator' });
    assert.throws(() => db.prepare("UPDATE audit_log SET entry = json_set(entry, '$.actor', 'mallory')").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
    done();
  });

  for (const [what, tamper, reason] of [
    ['content of a middle row', "UPDATE audit_log SET entry = json_set(entry, '$.details.i', 99) WHERE seq = 3", /row 3 was altered/],
    ['a deleted middle row', 'DELETE FROM audit_log WHERE seq = 3', /row 3 is missing/],
    ['a re-hashed middle row', "UPDATE audit_log SET hash = randomblob(32) WHERE seq = 3", /row 3 was altered/],
  ] as const) {
    it(`names the first broken row after tampering: ${what}`, () => {
      const { log, db, done } = freshLog();
      for (let i = 0; i < 5; i += 1) log.append({ type: 'AUDIT_VERIFIED', actor: 'operator', details: { i } });
      // An attacker with the file can drop the triggers; the chain must still expose the change.
      db.exec('DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;');
      db.exec(tamper);
      const result = log.verify();
      assert.equal(result.intact, false);
      assert.equal(!result.intact && result.firstBrokenSeq, what === 'a deleted middle row' ? 4 : 3);
      assert.match(!result.intact ? result.reason : '', reason);
      done();
    });
  }

  it('rolls the event back with the change when the surrounding transaction fails', () => {
    const { log, db, done } = freshLog();
    assert.throws(() =>
      db.transaction(() => {
        log.append({ type: 'VAULT_CREATED', actor: 'operator' });
        throw new Error('change failed');
      })(),
    );
    assert.equal(log.list().total, 0);
    done();
  });

  it('filters by type and text and exports JSON Lines that re-verify offline', () => {
    const { log, dir, done } = freshLog();
    log.append({ type: 'VAULT_CREATED', actor: 'operator', subject: 'node-1' });
    log.append({ type: 'VAULT_UNLOCK_FAILED', actor: 'operator', details: { failedAttempts: 1 } });
    log.append({ type: 'VAULT_LOCKED', actor: 'system', details: { reason: 'idle' } });
    assert.equal(log.list({ type: 'VAULT_LOCKED' }).total, 1);
    assert.deepEqual(log.list({ text: 'IDLE' }).entries.map((e) => e.seq), [3]);
    assert.deepEqual(log.list({ limit: 2 }).entries.map((e) => e.seq), [3, 2]);
    const path = join(dir.path, 'out', 'audit.jsonl');
    const written = log.exportJsonLines(path);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(written.rows, 3);
    assert.equal(lines.length, 3);
    assert.equal(lines[1].prevHash, lines[0].hash);
    assert.equal(written.headHash, lines[2].hash);
    const text = readFileSync(path, 'utf8');
    const offline = verifyExportedChain(text);
    assert.equal(offline.intact && offline.headHash, written.headHash);
    const edited = text.replace('"failedAttempts":1', '"failedAttempts":0');
    const broken = verifyExportedChain(edited);
    assert.equal(!broken.intact && broken.firstBrokenSeq, 2);
    const truncated = verifyExportedChain(text.split('\n').filter((_, i) => i !== 1).join('\n'));
    assert.equal(!truncated.intact && truncated.reason, 'row 2 is missing (found 3 next)');
    done();
  });
});
