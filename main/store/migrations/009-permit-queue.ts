import type { Migration } from '../migrations';

/**
 * The permit queue of this console: every permit imported for review, its state and why it is
 * there. Only public material is stored (the signed permit, and once signed the signature and
 * the raw signed transaction, which the online side broadcasts anyway). A row in 'signing' when
 * the process starts means it stopped mid-signature: recovery settles it, never a second request.
 */
export const permitQueue: Migration = {
  version: 9,
  name: 'permit queue',
  sql: `
      CREATE TABLE permit_queue (
        permit_id TEXT PRIMARY KEY,
        keyset_id TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        signed_permit TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'signing', 'signed', 'exported', 'rejected', 'expired', 'failed')),
        reason TEXT,
        source TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        imported_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        approved_by TEXT,
        approved_at INTEGER,
        signing_started_at INTEGER,
        session_id TEXT,
        signature TEXT,
        recovery_id INTEGER,
        signed_tx TEXT,
        signed_tx_hash TEXT,
        signed_at INTEGER,
        exported_at INTEGER,
        export_file TEXT
      );
      CREATE INDEX permit_queue_state ON permit_queue (state, expires_at);
      CREATE INDEX permit_queue_tx_hash ON permit_queue (tx_hash);
  `,
};
