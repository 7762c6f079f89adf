/**
 * Encrypted records at rest. Each record type has its own HKDF subkey, and the associated data
 * binds record type, record id, schema version and node id, so a ciphertext copied to another
 * row, another type or another node's database fails to open.
 */
import { associatedData, EnvelopeOpenError, open, seal } from '../crypto/envelope';
import { fail } from '../errors';
import type { Clock } from '../platform/clock';
import { deleteSecretRows, type Db, type ScrubResult } from '../store/database';
import type { KeyRing } from './key-ring';

export interface SealedRecord {
  schemaVersion: number;
  plaintext: Buffer;
}

export interface KeyAccess {
  /** The unlocked key ring; throws VAULT_LOCKED otherwise. */
  keyRing(): KeyRing;
  nodeId(): string;
}

const RECORD_TYPE = /^[a-z][a-z0-9-]{0,63}$/;

export class SealedRecords {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyAccess,
    private readonly clock: Clock,
  ) {}

  private context(recordType: string, recordId: string, schemaVersion: number) {
    if (!RECORD_TYPE.test(recordType)) throw new TypeError(`bad record type ${recordType}`);
    return {
      key: this.keys.keyRing().subkey(`records/${recordType}`),
      aad: associatedData('record', recordType, recordId, schemaVersion, this.keys.nodeId()),
    };
  }

  put(recordType: string, recordId: string, schemaVersion: number, plaintext: Uint8Array): void {
    const { key, aad } = this.context(recordType, recordId, schemaVersion);
    const box = seal(key, plaintext, aad);
    this.db
      .prepare(
        `INSERT INTO sealed_records (record_type, record_id, schema_version, iv, tag, ciphertext, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (record_type, record_id) DO UPDATE SET
           schema_version = excluded.schema_version, iv = excluded.iv, tag = excluded.tag,
           ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
      )
      .run(recordType, recordId, schemaVersion, box.iv, box.tag, box.ciphertext, new Date(this.clock.now()).toISOString());
  }

  get(recordType: string, recordId: string): SealedRecord | null {
    const row = this.db
      .prepare('SELECT schema_version, iv, tag, ciphertext FROM sealed_records WHERE record_type = ? AND record_id = ?')
      .get(recordType, recordId) as { schema_version: number; iv: Buffer; tag: Buffer; ciphertext: Buffer } | undefined;
    if (!row) return null;
    const { key, aad } = this.context(recordType, recordId, row.schema_version);
    try {
      return { schemaVersion: row.schema_version, plaintext: open(key, row, aad) };
    } catch (error) {
      if (error instanceof EnvelopeOpenError) {
        fail('VAULT_CORRUPT', `The stored ${recordType} record "${recordId}" failed its integrity check: it was altered or copied from elsewhere. To recover, start the console on a new data folder and choose "Or: restore this node from a share backup" on the first screen (two guardians open it), then restore each share on the Backups screen.`, { recordType, recordId });
      }
      throw error;
    }
  }

  /**
   * Deletes a record and scrubs it from the database file and its WAL (secure_delete zeroes the
   * row; the checkpoint removes the older page images). Returns false when there was no record.
   */
  delete(recordType: string, recordId: string): { deleted: boolean } & ScrubResult {
    if (!RECORD_TYPE.test(recordType)) throw new TypeError(`bad record type ${recordType}`);
    const { deleted, ...scrub } = deleteSecretRows(this.db, 'DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?', recordType, recordId);
    return { deleted: deleted > 0, ...scrub };
  }
}
