import type { Migration } from '../migrations';

/**
 * Pool of ECDSA presignatures. The secret part of each is a sealed record (`mpc-presignature`),
 * removed in the same transaction that marks the row used, so a crash never leaves a used
 * presignature usable. Rows with holds_secret = 0 are presignatures this node asked for as
 * requester without being in their quorum: it only needs their ids to request the online step.
 */
export const presignatures: Migration = {
  version: 4,
  name: 'mpc presignature pool',
  sql: `
      CREATE TABLE mpc_presignatures (
        presignature_id TEXT PRIMARY KEY,
        keyset_id TEXT NOT NULL,
        quorum TEXT NOT NULL,
        holds_secret INTEGER NOT NULL CHECK (holds_secret IN (0, 1)),
        share_epoch TEXT,
        public_data BLOB,
        state TEXT NOT NULL CHECK (state IN ('ready', 'used')),
        created_at TEXT NOT NULL,
        used_at TEXT
      );
      CREATE INDEX mpc_presignatures_ready ON mpc_presignatures (keyset_id, state, quorum, created_at);
    `,
};
