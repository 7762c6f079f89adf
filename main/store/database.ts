/**
 * The SQLite store: better-sqlite3 in WAL mode with migrations applied on open.
 * synchronous=NORMAL in WAL keeps every committed transaction across an application crash;
 * only an OS crash or power loss can drop the last transactions before a checkpoint.
 *
 * secure_delete=ON makes SQLite overwrite deleted content with zeros instead of leaving it in
 * free pages; the WAL still holds older page images until a checkpoint, so code that deletes
 * secret-bearing rows calls deleteSecretRows (or scrubAfterDelete) to fold the WAL into the
 * database and truncate it.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations';

export type Db = Database.Database;

export const DATABASE_FILE = 'vaultkeeper.sqlite3';

export interface OpenOptions {
  /** Folder for the database; created with owner-only permissions if missing. */
  dataDir: string;
  migrations?: readonly Migration[];
}

export function openDatabase({ dataDir, migrations = MIGRATIONS }: OpenOptions): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
  if (!existsSync(file)) closeSync(openSync(file, 'wx', 0o600));
  chmodSync(file, 0o600);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('secure_delete = ON');
  applyMigrations(db, migrations);
  return db;
}

export interface ScrubResult {
  /** True when the whole WAL was written back and truncated; false when a reader held it. */
  complete: boolean;
  /** WAL frames that were still in use by a reader and could not be cleared. */
  framesLeft: number;
}

/**
 * After secret-bearing rows were deleted: writes the WAL (which still holds the pages as they
 * were before the delete) back into the database, where secure_delete has zeroed the rows, and
 * truncates the WAL file to zero bytes. A concurrent reader can keep frames alive; the result
 * says so, and the next scrub clears them.
 */
export function scrubAfterDelete(db: Db): ScrubResult {
  const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  if (!row) return { complete: true, framesLeft: 0 };
  const framesLeft = row.log < 0 ? 0 : row.log - row.checkpointed;
  return { complete: row.busy === 0 && framesLeft === 0, framesLeft };
}

/**
 * Runs a DELETE of secret-bearing rows (sealed records: shares, presignatures, identity keys) in
 * one transaction, then scrubs the WAL. Returns how many rows went and whether the scrub finished.
 * Must not be called inside an open transaction: a checkpoint cannot run there.
 */
export function deleteSecretRows(db: Db, sql: string, ...params: unknown[]): { deleted: number } & ScrubResult {
  if (!/^\s*DELETE\s+FROM\s/i.test(sql)) throw new TypeError('deleteSecretRows runs DELETE statements only');
  if (db.inTransaction) throw new TypeError('deleteSecretRows cannot scrub inside an open transaction; call scrubAfterDelete after it commits');
  const deleted = db.transaction(() => db.prepare(sql).run(...params).changes)();
  return { deleted, ...scrubAfterDelete(db) };
}

/** Applies what has not run yet; returns the versions applied now. */
export function applyMigrations(db: Db, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  );
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new Error(`database schema version ${Math.max(...unknown)} is newer than this Vaultkeeper; update the application`);
  }
  const ran: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
    })();
    ran.push(migration.version);
  }
  return ran;
}
