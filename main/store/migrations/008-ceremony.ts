import type { Migration } from '../migrations';

/**
 * Master-seed ceremonies. Only public material is stored: addresses, the account xpub, the seed
 * fingerprint and the share fingerprints; `mac` is an HMAC under a vault subkey over that record,
 * so fingerprints swapped in the file cannot make a wrong recovery pass. Reveals are counted
 * here (not in memory) so a restart does not reset the hourly limit.
 */
export const ceremony: Migration = {
  version: 8,
  name: 'master-seed ceremonies',
  sql: `
      CREATE TABLE ceremonies (
        id TEXT PRIMARY KEY,
        mode TEXT NOT NULL CHECK (mode IN ('console', 'ledger')),
        label TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('in-progress', 'awaiting-signatures', 'certified', 'aborted')),
        start_request_id TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        certified_at TEXT,
        plan TEXT NOT NULL,
        steps TEXT NOT NULL,
        public_material TEXT,
        seed_fingerprint TEXT,
        share_fingerprints TEXT NOT NULL DEFAULT '[]',
        ledger_checks TEXT NOT NULL DEFAULT '[]',
        transcript TEXT,
        transcript_hash TEXT,
        certify_request_id TEXT,
        signatures TEXT,
        mac TEXT
      );
      CREATE TABLE ceremony_reveals (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ceremony_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        revealed_at INTEGER NOT NULL
      );
      CREATE INDEX ceremony_reveals_time ON ceremony_reveals (revealed_at);
      CREATE TABLE cold_signatures (
        request_id TEXT PRIMARY KEY,
        ceremony_id TEXT NOT NULL,
        from_address TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        signed_tx TEXT NOT NULL,
        signed_at TEXT NOT NULL
      );
    `,
};
