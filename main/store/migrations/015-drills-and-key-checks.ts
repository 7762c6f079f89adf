import type { Migration } from '../migrations';

/**
 * Key checks and recovery drills.
 *
 * key_check_results: one row per check of a share (keyset id), a guardian key (guardian id) or a
 * backup (backup id): when, the outcome, a sentence why, and the next due date computed with the
 * interval in force then. The latest row per subject is its state.
 *
 * guardian_key_challenges: a fresh challenge issued to one guardian key; answered once, before it
 * expires, by a signature from that guardian's registered address.
 *
 * drill_runs: the report of each drill that ended (passed or failed); a cancelled drill writes none.
 *
 * drill_settings: the schedule (one row).
 */
export const drillsAndKeyChecks: Migration = {
  version: 15,
  name: 'drills and key checks',
  sql: `
      CREATE TABLE key_check_results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subject_kind TEXT NOT NULL CHECK (subject_kind IN ('share', 'guardian', 'backup')),
        subject_id TEXT NOT NULL,
        checked_at INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('passed', 'failed')),
        detail TEXT NOT NULL,
        next_due_at INTEGER NOT NULL,
        via TEXT NOT NULL
      );
      CREATE INDEX key_check_results_by_subject ON key_check_results (subject_kind, subject_id, checked_at);

      CREATE TABLE guardian_key_challenges (
        challenge_id TEXT PRIMARY KEY,
        guardian_id TEXT NOT NULL,
        guardian_address TEXT NOT NULL,
        challenge TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        answered_at INTEGER
      );

      CREATE TABLE drill_runs (
        drill_id TEXT PRIMARY KEY,
        runbook TEXT NOT NULL,
        keyset_id TEXT,
        lab INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('passed', 'failed')),
        time_to_recover_ms INTEGER,
        participants TEXT NOT NULL,
        steps TEXT NOT NULL,
        failure_reason TEXT
      );
      CREATE INDEX drill_runs_by_runbook ON drill_runs (runbook, finished_at);

      CREATE TABLE drill_settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key_check_interval_days INTEGER NOT NULL,
        drill_interval_days INTEGER NOT NULL
      );
      INSERT INTO drill_settings (id, key_check_interval_days, drill_interval_days) VALUES (1, 90, 91);
    `,
};
