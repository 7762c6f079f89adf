import type { Migration } from '../migrations';

/**
 * Guardian registry, approval requests, the nonces issued for approvals and the approvals
 * received. Guardians are never deleted: a replaced guardian keeps its row (status 'replaced')
 * so past approvals stay attributable.
 */
export const guardians: Migration = {
  version: 2,
  name: 'guardians and approvals',
  sql: `
      CREATE TABLE guardians (
        id TEXT PRIMARY KEY,
        slot INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 3),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('ledger', 'software')),
        address TEXT NOT NULL,
        derivation_path TEXT,
        enrolled_at TEXT NOT NULL,
        proof_signature TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'replaced')),
        replaced_at TEXT,
        replaced_by TEXT,
        mac TEXT NOT NULL
      );
      CREATE UNIQUE INDEX guardians_active_slot ON guardians (slot) WHERE status = 'active';
      CREATE UNIQUE INDEX guardians_active_address ON guardians (address) WHERE status = 'active';

      CREATE TABLE approval_requests (
        id TEXT PRIMARY KEY,
        operation TEXT NOT NULL,
        subject TEXT NOT NULL,
        parameters TEXT NOT NULL,
        context TEXT NOT NULL,
        payload_hash TEXT NOT NULL,
        requester_guardian_id TEXT,
        requester_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'executed', 'rejected')),
        closed_at INTEGER
      );
      CREATE INDEX approval_requests_by_status ON approval_requests (status, created_at);

      CREATE TABLE approval_nonces (
        nonce TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES approval_requests (id),
        issued_at INTEGER NOT NULL,
        consumed_at INTEGER
      );

      CREATE TABLE approvals (
        request_id TEXT NOT NULL REFERENCES approval_requests (id),
        guardian_id TEXT NOT NULL REFERENCES guardians (id),
        address TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
        nonce TEXT NOT NULL UNIQUE,
        signature TEXT NOT NULL,
        via TEXT NOT NULL CHECK (via IN ('ledger', 'software', 'file')),
        received_at INTEGER NOT NULL,
        PRIMARY KEY (request_id, guardian_id)
      );
    `,
};
