import type { Migration } from '../migrations';

/**
 * Emergency exit. `emergency_exit_attempts`: one row per attempt that reached the backups (the
 * rate limit of 3 per hour is counted from here, so it survives a restart). `keyset_exports`: a
 * keyset whose full private key left the MPC scheme; from then on it is marked "exported"
 * wherever it appears. Neither table holds a key.
 */
export const emergencyExit: Migration = {
  version: 14,
  name: 'emergency exit',
  sql: `
      CREATE TABLE emergency_exit_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        keyset_id TEXT NOT NULL,
        attempted_at INTEGER NOT NULL
      );
      CREATE INDEX emergency_exit_attempts_by_time ON emergency_exit_attempts (attempted_at);
      CREATE TABLE keyset_exports (
        export_id TEXT PRIMARY KEY,
        keyset_id TEXT NOT NULL,
        address TEXT NOT NULL,
        file_name TEXT NOT NULL,
        request_id TEXT NOT NULL,
        exported_at TEXT NOT NULL
      );
      CREATE INDEX keyset_exports_by_keyset ON keyset_exports (keyset_id, exported_at);
    `,
};
