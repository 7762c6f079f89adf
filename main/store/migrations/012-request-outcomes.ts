import type { Migration } from '../migrations';

/**
 * What a closed guardian request looked like when it closed: the guardian set in force (registry
 * epoch and members), each decision with whether it counted, and the quorum. History is read from
 * here, never recomputed from today's registry, so replacing a guardian does not rewrite the past.
 * `mac` is an HMAC under a vault subkey over the record, so an edited row is noticed.
 */
export const requestOutcomes: Migration = {
  version: 12,
  name: 'approval request outcomes',
  sql: `
      CREATE TABLE approval_request_outcomes (
        request_id TEXT PRIMARY KEY REFERENCES approval_requests(id),
        status TEXT NOT NULL CHECK (status IN ('executed', 'rejected')),
        closed_at INTEGER NOT NULL,
        registry_epoch INTEGER NOT NULL,
        guardians TEXT NOT NULL,
        approvals TEXT NOT NULL,
        approvals_counted INTEGER NOT NULL,
        quorum INTEGER NOT NULL,
        mac TEXT NOT NULL
      );
  `,
};
