import type { Migration } from '../migrations';

/** Signer-cluster bookkeeping of this node: peers, keysets, sessions. No secrets: shares are sealed records. */
export const cluster: Migration = {
  version: 3,
  name: 'cluster nodes, keysets and sessions',
  sql: `
      CREATE TABLE mpc_nodes (
        node_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        card TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        is_self INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('enrolled', 'quarantined')),
        quarantine_reason TEXT,
        quarantined_at TEXT,
        enrolled_at TEXT NOT NULL
      );

      CREATE TABLE mpc_keysets (
        keyset_id TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        scheme TEXT NOT NULL CHECK (scheme IN ('ecdsa', 'eddsa')),
        key_ref TEXT NOT NULL UNIQUE,
        threshold INTEGER NOT NULL,
        participants TEXT NOT NULL,
        my_party_index INTEGER NOT NULL,
        public_key TEXT,
        address TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'failed')),
        session_id TEXT NOT NULL,
        created_at TEXT NOT NULL
      );

      CREATE TABLE mpc_sessions (
        session_id TEXT PRIMARY KEY,
        idempotency_key TEXT,
        protocol TEXT NOT NULL,
        keyset_id TEXT NOT NULL,
        requester TEXT NOT NULL,
        parties TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
        error_class TEXT,
        error_code TEXT,
        error_reason TEXT,
        blamed_node TEXT,
        result TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX mpc_sessions_by_keyset ON mpc_sessions (keyset_id, started_at);
    `,
};
