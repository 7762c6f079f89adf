import type { Migration } from '../migrations';

/** The vault's wrapped master key and identity, sealed records, and the audit chain. */
export const vaultAndAudit: Migration = {
  version: 1,
  name: 'vault, sealed records and audit chain',
  sql: `
      CREATE TABLE vault_meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        vault_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        node_public_key BLOB NOT NULL,
        kdf_params TEXT NOT NULL,
        wrapped_master_key BLOB NOT NULL,
        created_at TEXT NOT NULL,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        unlock_blocked_until INTEGER
      );

      CREATE TABLE sealed_records (
        record_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        iv BLOB NOT NULL,
        tag BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (record_type, record_id)
      );

      -- Each event is stored once, as canonical JSON in entry; the hash covers seq and entry.
      -- The other columns are derived from entry (they cannot be edited on their own) and exist
      -- for filtering and indexing.
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        entry TEXT NOT NULL,
        hash BLOB NOT NULL,
        at TEXT GENERATED ALWAYS AS (json_extract(entry, '$.at')) VIRTUAL,
        type TEXT GENERATED ALWAYS AS (json_extract(entry, '$.type')) VIRTUAL,
        actor TEXT GENERATED ALWAYS AS (json_extract(entry, '$.actor')) VIRTUAL,
        subject TEXT GENERATED ALWAYS AS (json_extract(entry, '$.subject')) VIRTUAL
      );
      CREATE INDEX audit_log_by_type ON audit_log (type, seq);
      CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    `,
};
