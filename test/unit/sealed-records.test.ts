/**
 * Sealed records are bound to their schema version and to the node that wrote them, not only to
 * their type and id: a ciphertext moved to a row of another schema version, or into another
 * node's database, fails to open.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { ManualClock } from '../../main/platform/clock';
import { openDatabase, type Db } from '../../main/store/database';
import { KeyRing } from '../../main/vault/key-ring';
import { SealedRecords } from '../../main/vault/sealed-records';
import { tempDir } from '../support/temp-dir';

const NODE_A = 'a'.repeat(32);
const NODE_B = 'b'.repeat(32);

function store(db: Db, ring: KeyRing, nodeId: string) {
  return new SealedRecords(db, { keyRing: () => ring, nodeId: () => nodeId }, new ManualClock());
}

const corrupt = (e: unknown) => e instanceof AppFailure && e.code === 'VAULT_CORRUPT' && /altered or copied from elsewhere.*restore this node from a share backup/.test(e.message);

describe('sealed record associated data', () => {
  it('opens what it sealed, with its schema version', () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    const records = store(db, new KeyRing(randomBytes(32)), NODE_A);
    records.put('backup-key', 'k1', 3, Buffer.from('secret one'));
    assert.deepEqual(records.get('backup-key', 'k1'), { schemaVersion: 3, plaintext: Buffer.from('secret one') });
    db.close();
    dir.cleanup();
  });

  it('refuses a record whose schema version was changed in the row', () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    const records = store(db, new KeyRing(randomBytes(32)), NODE_A);
    records.put('backup-key', 'k1', 1, Buffer.from('written as version 1'));
    // E.g. to make a newer reader parse old bytes under a new layout.
    db.prepare("UPDATE sealed_records SET schema_version = 2 WHERE record_id = 'k1'").run();
    assert.throws(() => records.get('backup-key', 'k1'), corrupt);
    db.close();
    dir.cleanup();
  });

  it('refuses a ciphertext moved onto a row of another schema version', () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    const records = store(db, new KeyRing(randomBytes(32)), NODE_A);
    records.put('backup-key', 'k1', 1, Buffer.from('version one bytes'));
    records.put('backup-key', 'k1', 2, Buffer.from('version two bytes'));
    const v2 = db.prepare("SELECT iv, tag, ciphertext FROM sealed_records WHERE record_id = 'k1'").get() as { iv: Buffer; tag: Buffer; ciphertext: Buffer };
    db.prepare("UPDATE sealed_records SET schema_version = 1, iv = ?, tag = ?, ciphertext = ? WHERE record_id = 'k1'").run(v2.iv, v2.tag, v2.ciphertext);
    assert.throws(() => records.get('backup-key', 'k1'), corrupt);
    db.close();
    dir.cleanup();
  });

  it("refuses a row copied into another node's database, even under the same master key", () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    // The same master key on two nodes (a restored backup used on the wrong machine).
    const masterKey = randomBytes(32);
    const onA = store(db, new KeyRing(Buffer.from(masterKey)), NODE_A);
    const onB = store(db, new KeyRing(Buffer.from(masterKey)), NODE_B);
    onA.put('node-hpke-key', 'self', 1, Buffer.from('node A private key'));
    assert.equal(onA.get('node-hpke-key', 'self')?.plaintext.toString(), 'node A private key');
    assert.throws(() => onB.get('node-hpke-key', 'self'), corrupt);
    db.close();
    dir.cleanup();
  });

  it('names the altered record in the refusal, answers null for a missing one, and deletes only what exists', () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    const records = store(db, new KeyRing(randomBytes(32)), NODE_A);
    assert.equal(records.get('backup-key', 'never-written'), null);
    records.put('backup-key', 'k1', 1, Buffer.from('original'));
    db.prepare("UPDATE sealed_records SET ciphertext = zeroblob(8) WHERE record_id = 'k1'").run();
    assert.throws(() => records.get('backup-key', 'k1'), (e: unknown) => corrupt(e) && (e as AppFailure).details?.recordType === 'backup-key' && (e as AppFailure).details?.recordId === 'k1');
    assert.equal(records.delete('backup-key', 'k1').deleted, true);
    assert.equal(records.delete('backup-key', 'k1').deleted, false);
    db.close();
    dir.cleanup();
  });

  it('accepts only lowercase record types of 1–64 characters, anchored at both ends', () => {
    const dir = tempDir();
    const db = openDatabase({ dataDir: dir.path });
    const records = store(db, new KeyRing(randomBytes(32)), NODE_A);
    records.put(`a${'-'.repeat(63)}`, 'k', 1, Buffer.from('x'));
    // A type is part of the subkey label "records/<type>": nothing may ride along before or after.
    for (const bad of ['Xbackup', 'backup\n', '-backup', `a${'b'.repeat(64)}`, '', 'backup/../x']) {
      assert.throws(() => records.put(bad, 'k', 1, Buffer.from('x')), TypeError, JSON.stringify(bad));
      assert.throws(() => records.delete(bad, 'k'), TypeError, JSON.stringify(bad));
    }
    db.close();
    dir.cleanup();
  });
});
