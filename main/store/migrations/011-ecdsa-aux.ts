import type { Migration } from '../migrations';

/**
 * ECDSA auxiliary data per signer group.
 *
 * - `mpc_aux_groups`: one row per auxiliary-data session this node finished with its group (the
 *   secret part is sealed in the vault as an `mpc-aux` record with the same id). `aux_id` is the
 *   hash of the group's public auxiliary data, the same at every member; `participants` binds it
 *   to the exact nodes and party indices that made it. A group has at most one `active` row;
 *   older ones are `retired` (replaced after a suspected compromise).
 * - `mpc_keysets.aux_group_id`: the auxiliary data an ECDSA keyset's share carries (null for
 *   keysets made with their own, in one key-generation session).
 * - `mpc_keysets.presignature_target`: how many ready presignatures this node keeps for the
 *   keyset, refilled in the background (0: no refilling).
 */
export const ecdsaAux: Migration = {
  version: 11,
  name: 'ecdsa auxiliary data per signer group, presignature pool target',
  sql: `
      CREATE TABLE mpc_aux_groups (
        aux_group_id TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        participants TEXT NOT NULL,
        my_party_index INTEGER NOT NULL,
        aux_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        session_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        retired_at TEXT
      );
      CREATE INDEX mpc_aux_groups_aux_id ON mpc_aux_groups (aux_id);
      ALTER TABLE mpc_keysets ADD COLUMN aux_group_id TEXT;
      ALTER TABLE mpc_keysets ADD COLUMN presignature_target INTEGER NOT NULL DEFAULT 0 CHECK (presignature_target >= 0);
  `,
};
