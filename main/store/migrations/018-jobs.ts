import type { Migration } from '../migrations';

/**
 * Long operations (jobs) as records, so a console that stopped while one ran lists it after the
 * restart as interrupted, never as still running. Nothing secret: labels, phases, outcomes.
 */
export const jobs: Migration = {
  version: 18,
  name: 'jobs',
  sql: `
      CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        label TEXT NOT NULL,
        activity TEXT NOT NULL,
        job_group TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
        phase TEXT NOT NULL,
        percent INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        error_code TEXT,
        error_message TEXT,
        result_summary TEXT,
        result_keyset_id TEXT
      );
      CREATE INDEX jobs_by_state ON jobs (state, started_at);
  `,
};
