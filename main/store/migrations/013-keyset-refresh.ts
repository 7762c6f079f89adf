import type { Migration } from '../migrations';

/**
 * Share refresh of a keyset.
 *
 * - `mpc_keysets.share_epoch`: how many refreshes this node's share of the keyset went through;
 *   every session request names it, and a node at another epoch refuses the session.
 * - `mpc_keysets.refreshed_at`: when the last refresh switched here (null: never refreshed).
 * - `mpc_keysets.refresh_interval_days`: the keyset's refresh schedule (null: the default).
 * - `keyset_refreshes`: one row per refresh session this node took part in. A row in state
 *   `pending` has the new share sealed beside the old one (record `mpc-share-pending`) and waits
 *   for the switch; `switched`, `failed` and `discarded` are final.
 * - `refresh_approvals_used`: every guardian approval (requesting vault, request id) a refresh
 *   ran on here, so the same approval never starts a second refresh at this node.
 */
export const keysetRefresh: Migration = {
  version: 13,
  name: 'keyset share refresh: epochs, pending shares, schedule',
  sql: `
      ALTER TABLE mpc_keysets ADD COLUMN share_epoch INTEGER NOT NULL DEFAULT 0 CHECK (share_epoch >= 0);
      ALTER TABLE mpc_keysets ADD COLUMN refreshed_at TEXT;
      ALTER TABLE mpc_keysets ADD COLUMN refresh_interval_days INTEGER CHECK (refresh_interval_days IS NULL OR refresh_interval_days BETWEEN 1 AND 3650);
      CREATE TABLE keyset_refreshes (
        session_id TEXT PRIMARY KEY,
        keyset_id TEXT NOT NULL,
        from_epoch INTEGER NOT NULL,
        to_epoch INTEGER NOT NULL,
        requester TEXT NOT NULL,
        new_aux_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'switched', 'failed', 'discarded')),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        note TEXT
      );
      CREATE INDEX keyset_refreshes_keyset ON keyset_refreshes (keyset_id, state);
      CREATE TABLE refresh_approvals_used (
        vault_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        keyset_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        used_at TEXT NOT NULL,
        PRIMARY KEY (vault_id, request_id)
      );
  `,
};
