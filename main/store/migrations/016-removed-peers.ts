import type { Migration } from '../migrations';

/**
 * Peers removed from this node's cluster under a guardian quorum. A removed node's card can never
 * be enrolled again (its identity may be in other hands): a replacement machine makes a new one.
 */
export const removedPeers: Migration = {
  version: 16,
  name: 'removed cluster peers',
  sql: `
      CREATE TABLE mpc_removed_nodes (
        node_id TEXT PRIMARY KEY,
        signing_public_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        removed_at TEXT NOT NULL,
        request_id TEXT NOT NULL,
        replaced_by TEXT
      );
  `,
};
