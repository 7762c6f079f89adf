import type { Migration } from '../migrations';

/**
 * Share backups this node wrote: public facts only (the file itself is encrypted and lives on the
 * operator's medium). `epoch` is the short hash of the public share the backup holds; comparing
 * it with the share this node holds now tells a current backup from one a refresh made dead.
 */
export const shareBackups: Migration = {
  version: 10,
  name: 'share backups',
  sql: `
      CREATE TABLE share_backups (
        backup_id TEXT PRIMARY KEY,
        keyset_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        scheme TEXT NOT NULL CHECK (scheme IN ('ecdsa', 'eddsa')),
        address TEXT NOT NULL,
        epoch TEXT NOT NULL,
        file_path TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        guardians TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX share_backups_by_keyset ON share_backups (keyset_id, created_at);
    `,
};
