import type { Migration } from '../migrations';

/**
 * Presignature pool hardening and lab marks.
 *
 * - Presignatures expire (`expires_at`, milliseconds on this node's clock; the TTL is a per-keyset
 *   setting, `presignature_ttl_ms`, default one hour).
 * - A row is keyed by (id, keyset, quorum): a presignature is bound to the parties that made it.
 * - The pool made before this migration had none of these protections: it is discarded, secrets
 *   included, rather than carried over.
 * - `lab` marks keysets made while this console served the embedded lab cluster, permanently.
 */
export const presignatureHardening: Migration = {
  version: 6,
  name: 'presignature expiry, quorum binding, lab keysets',
  sql: `
      DELETE FROM sealed_records WHERE record_type = 'mpc-presignature';
      DROP INDEX IF EXISTS mpc_presignatures_ready;
      DROP TABLE mpc_presignatures;
      CREATE TABLE mpc_presignatures (
        presignature_id TEXT NOT NULL,
        keyset_id TEXT NOT NULL,
        quorum TEXT NOT NULL,
        holds_secret INTEGER NOT NULL CHECK (holds_secret IN (0, 1)),
        share_epoch TEXT,
        public_data BLOB,
        state TEXT NOT NULL CHECK (state IN ('ready', 'used')),
        created_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at TEXT,
        PRIMARY KEY (presignature_id, keyset_id, quorum)
      );
      CREATE UNIQUE INDEX mpc_presignatures_id ON mpc_presignatures (presignature_id);
      CREATE INDEX mpc_presignatures_ready ON mpc_presignatures (keyset_id, state, quorum, created_at);
      ALTER TABLE mpc_keysets ADD COLUMN lab INTEGER NOT NULL DEFAULT 0 CHECK (lab IN (0, 1));
      ALTER TABLE mpc_keysets ADD COLUMN presignature_ttl_ms INTEGER NOT NULL DEFAULT 3600000 CHECK (presignature_ttl_ms > 0);
    `,
};
