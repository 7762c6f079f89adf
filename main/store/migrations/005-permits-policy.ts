import type { Migration } from '../migrations';

/**
 * Signing authorization of this node: trusted permit issuers, the single-use ledger of permits
 * and tx hashes (no row is ever updated or deleted: a permit or tx hash signed once is refused
 * forever), approvals given at this node, vault policy per keyset, the kill switch, the table of
 * amounts this node co-signed (daily caps), and execution authorizations.
 */
export const permitsPolicy: Migration = {
  version: 5,
  name: 'signing permits and vault policy',
  sql: `
      CREATE TABLE permit_issuers (
        fingerprint TEXT PRIMARY KEY,
        public_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        lab INTEGER NOT NULL CHECK (lab IN (0, 1)),
        enrolled_at INTEGER NOT NULL
      );

      CREATE TABLE permits_spent (
        permit_id TEXT PRIMARY KEY,
        tx_hash TEXT NOT NULL UNIQUE,
        keyset_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        issuer_fingerprint TEXT NOT NULL,
        spent_at INTEGER NOT NULL
      );
      CREATE TRIGGER permits_spent_no_update BEFORE UPDATE ON permits_spent
        BEGIN SELECT RAISE(ABORT, 'the single-use ledger is append-only'); END;
      CREATE TRIGGER permits_spent_no_delete BEFORE DELETE ON permits_spent
        BEGIN SELECT RAISE(ABORT, 'the single-use ledger is append-only'); END;

      CREATE TABLE permit_local_approvals (
        permit_id TEXT PRIMARY KEY,
        approved_by TEXT NOT NULL,
        approved_at INTEGER NOT NULL
      );

      CREATE TABLE permit_guardian_approvals (
        permit_id TEXT PRIMARY KEY,
        tx_hash TEXT NOT NULL,
        keyset_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        approvers TEXT NOT NULL,
        approved_at INTEGER NOT NULL
      );

      CREATE TABLE vault_policies (
        keyset_id TEXT PRIMARY KEY,
        policy TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE signing_kill_switch (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        engaged INTEGER NOT NULL CHECK (engaged IN (0, 1)),
        changed_at INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        reason TEXT NOT NULL
      );

      CREATE TABLE cosigned_amounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        keyset_id TEXT NOT NULL,
        asset TEXT NOT NULL,
        amount TEXT NOT NULL,
        permit_id TEXT NOT NULL,
        execution_authorization_id TEXT,
        signed_at INTEGER NOT NULL
      );
      CREATE INDEX cosigned_amounts_window ON cosigned_amounts (keyset_id, signed_at);
      CREATE INDEX cosigned_amounts_by_authorization ON cosigned_amounts (execution_authorization_id, signed_at);

      CREATE TABLE execution_authorizations (
        id TEXT PRIMARY KEY,
        keyset_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        enabled_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        enabled_by TEXT NOT NULL,
        revoked_at INTEGER,
        revoked_by TEXT,
        revoke_reason TEXT
      );
      CREATE INDEX execution_authorizations_by_keyset ON execution_authorizations (keyset_id, expires_at);
    `,
};
