import type { Migration } from '../migrations';

/**
 * The guardian registry head: one row that binds the registry as a whole (how many guardian rows
 * exist, an epoch that grows with every change, a hash over every row including replaced ones),
 * MACed under a vault subkey. Row MACs alone let rows be deleted unnoticed; the head does not.
 *
 * The MAC needs the vault master key, which a migration does not have, so the row starts as
 * 'awaiting-first-unlock' and is sealed over the rows present the first time the registry is read
 * with the vault unlocked (trust on first use; the sealing is recorded in the audit log, and a
 * head reset to this state after that record exists is treated as tampering).
 *
 * Approval requests also record the key that requested them: a guardian requester's address and
 * EIP-712 signature over the request, or null for the authenticated console operator.
 */
export const guardianRegistryHead: Migration = {
  version: 7,
  name: 'guardian registry head and authenticated requesters',
  sql: `
      CREATE TABLE guardian_registry_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL CHECK (state IN ('awaiting-first-unlock', 'sealed')),
        guardian_count INTEGER,
        epoch INTEGER,
        digest TEXT,
        mac TEXT,
        sealed_at TEXT
      );
      INSERT INTO guardian_registry_head (id, state) VALUES (1, 'awaiting-first-unlock');

      ALTER TABLE approval_requests ADD COLUMN requester_address TEXT;
      ALTER TABLE approval_requests ADD COLUMN requester_signature TEXT;
    `,
};
