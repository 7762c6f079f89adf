import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyMigrations, DATABASE_FILE, openDatabase } from '../../main/store/database';
import { MIGRATIONS } from '../../main/store/migrations';
import { tempDir } from '../support/temp-dir';

describe('migrations', () => {
  it('run once; a second run is a no-op', () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const before = db.prepare('SELECT version, applied_at FROM schema_migrations').all();
    assert.deepEqual(applyMigrations(db), []);
    assert.deepEqual(db.prepare('SELECT version, applied_at FROM schema_migrations').all(), before);
    assert.equal(before.length, MIGRATIONS.length);
    db.close();
    // Reopening applies nothing either.
    const again = openDatabase({ dataDir: dir.path });
    assert.equal((again.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n, MIGRATIONS.length);
    again.close();
    dir.cleanup();
  });

  it('applies only the new ones when the code gains a migration', () => {
    const dir = tempDir();
    openDatabase({ dataDir: dir.path }).close();
    const extra = [...MIGRATIONS, { version: 999, name: 'test table', sql: 'CREATE TABLE probe (x INTEGER)' }];
    const db = openDatabase({ dataDir: dir.path, migrations: extra });
    assert.ok(db.prepare("SELECT name FROM sqlite_master WHERE name = 'probe'").get());
    assert.deepEqual(applyMigrations(db, extra), []);
    db.close();
    dir.cleanup();
  });

  it('refuses a database written by a newer version', () => {
    const dir = tempDir();
    openDatabase({ dataDir: dir.path }).close();
    const raw = new Database(join(dir.path, DATABASE_FILE));
    raw.prepare("INSERT INTO schema_migrations VALUES (1000, 'future', 'now')").run();
    raw.close();
    assert.throws(() => openDatabase({ dataDir: dir.path }), /newer than this Vaultkeeper/);
    dir.cleanup();
  });
});
