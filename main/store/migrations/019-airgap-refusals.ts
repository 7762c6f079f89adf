import type { Migration } from '../migrations';

/**
 * Session requests carried across the air gap that this node's operator refused, kept so a
 * refused request stays refused after a restart (later imports report it with when and why).
 * Nothing secret: ids, the requester, and the reason the operator typed.
 */
export const airgapRefusals: Migration = {
  version: 19,
  name: 'air-gap refusals',
  sql: `
      CREATE TABLE airgap_refusals (
        session_id TEXT PRIMARY KEY,
        requester TEXT NOT NULL,
        keyset_id TEXT,
        protocol TEXT NOT NULL,
        reason TEXT NOT NULL,
        refused_at TEXT NOT NULL,
        reply_file TEXT NOT NULL
      );
  `,
};
