/**
 * The audit chain's link: each row's hash covers the previous row's hash. An attacker who rewrites
 * one row and gives it a hash that is correct for that row alone must still be caught at the next
 * row — otherwise the rewrite leaves the head hash (the exported anchor) unchanged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import { AuditLog, chainHash, GENESIS_HASH } from '../../main/audit/audit-log';
import { verifyExportedChain } from '../../main/audit/export-verifier';
import { ManualClock } from '../../main/platform/clock';
import { openDatabase } from '../../main/store/database';
import { tempDir } from '../support/temp-dir';

function fiveRows() {
  const dir = tempDir();
  const db = openDatabase({ dataDir: dir.path });
  const clock = new ManualClock();
  const log = new AuditLog(db, clock);
  for (let i = 0; i < 5; i += 1) {
    log.append({ type: 'GUARDIAN_APPROVED', actor: 'operator', details: { i, amount: '10' } });
    clock.advance(1000);
  }
  // An attacker holding the file can drop the append-only triggers.
  db.exec('DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;');
  return { dir, db, log, done: () => (db.close(), dir.cleanup()) };
}

const rowText = (db: ReturnType<typeof openDatabase>, seq: number) => (db.prepare('SELECT entry FROM audit_log WHERE seq = ?').get(seq) as { entry: string }).entry;

describe('audit chain link to the previous row', () => {
  it('the row hash is SHA-256 over the previous hash, the sequence number and the entry', () => {
    const { db, log, done } = fiveRows();
    const rows = db.prepare('SELECT seq, entry, hash FROM audit_log ORDER BY seq').all() as Array<{ seq: number; entry: string; hash: Buffer }>;
    // Two rows with the same content at the same position but different predecessors hash apart.
    assert.notDeepEqual(chainHash(GENESIS_HASH, 2, rows[1]!.entry), chainHash(rows[0]!.hash, 2, rows[1]!.entry));
    let prev: Buffer = GENESIS_HASH;
    for (const row of rows) {
      assert.deepEqual(row.hash, chainHash(prev, row.seq, row.entry));
      prev = row.hash;
    }
    assert.equal(log.verify().intact, true);
    done();
  });

  it('names the next row when one row is rewritten with a hash correct for that row alone', () => {
    const { db, log, done } = fiveRows();
    const before = log.verify();
    assert.ok(before.intact);
    const original = JSON.parse(rowText(db, 3)) as { details: Record<string, unknown> };
    const forged = canonicalize({ ...original, details: { ...original.details, amount: '10000' } })!;
    const prevHash = (db.prepare('SELECT hash FROM audit_log WHERE seq = 2').get() as { hash: Buffer }).hash;
    // The forger re-hashes the edited row exactly as the log would have, so row 3 itself checks out.
    db.prepare('UPDATE audit_log SET entry = ?, hash = ? WHERE seq = 3').run(forged, chainHash(prevHash, 3, forged));
    const after = log.verify();
    assert.equal(after.intact, false, 'a rewritten row went unnoticed');
    assert.equal(!after.intact && after.firstBrokenSeq, 4);
    assert.match(!after.intact ? after.reason : '', /row 4 .*no longer follows row 3/);
    done();
  });

  it('the exported file exposes the same rewrite, though its head hash is unchanged', () => {
    const { db, dir, log, done } = fiveRows();
    const path = join(dir.path, 'audit.jsonl');
    const exported = log.exportJsonLines(path);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const row = lines[2]!;
    row.details = { ...(row.details as Record<string, unknown>), amount: '10000' };
    const entryText = canonicalize({ at: row.at, type: row.type, actor: row.actor, subject: row.subject, details: row.details })!;
    row.hash = chainHash(Buffer.from(String(lines[1]!.hash), 'hex'), 3, entryText).toString('hex');
    const result = verifyExportedChain(lines.map((l) => JSON.stringify(l)).join('\n'));
    assert.equal(result.intact, false, 'a rewritten row went unnoticed in the export');
    assert.equal(!result.intact && result.firstBrokenSeq, 4);
    assert.equal(lines[4]!.hash, exported.headHash);
    void db;
    done();
  });
});
