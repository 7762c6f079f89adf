/**
 * The guardian registry as a whole: rows deleted, added or rewritten in the SQLite file behind
 * the console are tampering, enrolment never reopens, and a vault from before the registry head
 * gets one on first use, once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Wallet } from 'ethers';
import { AppFailure } from '../../main/errors';
import { HEAD_SEALED_EVENT, type GuardianRow } from '../../main/guardians/registry';
import { applyMigrations, DATABASE_FILE } from '../../main/store/database';
import { MIGRATIONS } from '../../main/store/migrations';
import { enrolThree, guardianFixture, LEDGER_PATH, softwareKey, type GuardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE } from '../support/services';
import { tempDir } from '../support/temp-dir';

async function rejectsWith(work: Promise<unknown> | (() => unknown), code: string): Promise<AppFailure> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    assert.ok(error instanceof AppFailure, `expected AppFailure ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

/** A second, raw connection to the console's database, as someone with the file would open it. */
function rawDb(f: GuardianFixture): Database.Database {
  return new Database(join(f.services.dataDir, DATABASE_FILE));
}

const EXTRA_PASS = 'extra guardian passphrase 99';

describe('guardian registry head', () => {
  it('rows deleted with a raw SQLite connection: reads fail as tampering and enrolment stays closed', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const raw = rawDb(f);
    raw.prepare('DELETE FROM guardians WHERE slot IN (2, 3)').run();
    raw.close();
    const read = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(read.message, /holds 1 entries but its sealed head records 3: 2 removed/);
    assert.match(read.message, /restore the data folder from a copy taken before the change, or .*restore this node from a share backup/);
    const extra = await softwareKey(EXTRA_PASS);
    await rejectsWith(f.services.guardians.enrol({ method: 'software', name: 'Mallory', keyFile: extra.keyFile, passphrase: EXTRA_PASS }), 'GUARDIAN_REGISTRY_TAMPERED');
    await rejectsWith(f.services.guardians.createRequest({
      operation: 'vault.passphrase.change', subject: f.services.guardians.currentVaultId(), parameters: f.services.vault.passphraseChangeParameters(), context: {},
      requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60,
    }), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.equal(f.services.audit.list({ type: 'GUARDIAN_ENROLLED' }).total, 3, 'nothing was enrolled');
    await f.cleanup();
  });

  it('every row deleted: still tampering, never an empty registry that takes new guardians', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const raw = rawDb(f);
    raw.prepare('DELETE FROM guardians').run();
    raw.close();
    await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    await rejectsWith(f.services.guardians.enrol({ method: 'ledger', name: 'Mallory', derivationPath: "44'/60'/0'/0/7" }), 'GUARDIAN_REGISTRY_TAMPERED');
    await f.cleanup();
  });

  it('a single row rewritten with a valid row MAC but no new head is detected', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const store = f.services.guardians.registryStore;
    const row = f.services.db.prepare('SELECT * FROM guardians WHERE slot = 2').get() as GuardianRow;
    const intruder = Wallet.createRandom().address;
    const swapped = { ...row, address: intruder };
    // The row's own MAC is correct for the new content: only the head can tell.
    f.services.db.prepare('UPDATE guardians SET address = ?, mac = ? WHERE id = ?').run(intruder, store.rowMac(swapped), row.id);
    const tampered = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(tampered.message, /swapped or rewritten/);
    await f.cleanup();
  });

  it('a row added with a valid row MAC is detected', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const store = f.services.guardians.registryStore;
    const base = {
      id: '00000000-0000-4000-8000-000000000000', slot: 1, name: 'Ghost', kind: 'software' as const, address: Wallet.createRandom().address, derivation_path: null,
      enrolled_at: new Date(0).toISOString(), proof_signature: '{}', status: 'replaced' as const, replaced_at: null, replaced_by: null,
    };
    f.services.db.prepare(`INSERT INTO guardians (id, slot, name, kind, address, derivation_path, enrolled_at, proof_signature, status, replaced_at, replaced_by, mac)
      VALUES (@id, @slot, @name, @kind, @address, @derivation_path, @enrolled_at, @proof_signature, @status, @replaced_at, @replaced_by, @mac)`).run({ ...base, mac: store.rowMac(base) });
    const tampered = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(tampered.message, /1 added/);
    await f.cleanup();
  });

  it('rows deleted and the head rewritten to match them (count and digest, without the vault key) is tampering', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const { db } = f.services;
    db.prepare('DELETE FROM guardians WHERE slot = 3').run();
    const left = db.prepare('SELECT * FROM guardians').all() as GuardianRow[];
    db.prepare('UPDATE guardian_registry_head SET guardian_count = ?, digest = ?').run(left.length, f.services.guardians.registryStore.digest(left));
    const tampered = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(tampered.message, /its seal does not verify/);
    await rejectsWith(f.services.guardians.enrol({ method: 'ledger', name: 'Mallory', derivationPath: "44'/60'/0'/0/7" }), 'GUARDIAN_REGISTRY_TAMPERED');
    await f.cleanup();
  });

  it('a head edited, deleted, or reset to its first-use state is tampering', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const { db } = f.services;
    db.prepare('UPDATE guardian_registry_head SET guardian_count = 1').run();
    await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    db.prepare('UPDATE guardian_registry_head SET guardian_count = 3').run();
    assert.equal(f.services.guardians.registry().guardians.length, 3, 'restored head verifies again');

    // Deleting rows and resetting the head so it would be sealed afresh over what is left.
    db.prepare('DELETE FROM guardians WHERE slot = 3').run();
    db.prepare("UPDATE guardian_registry_head SET state = 'awaiting-first-unlock', guardian_count = NULL, epoch = NULL, digest = NULL, mac = NULL").run();
    const reset = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(reset.message, new RegExp(HEAD_SEALED_EVENT));
    assert.equal(f.services.audit.list({ type: HEAD_SEALED_EVENT }).total, 1);

    db.prepare('DELETE FROM guardian_registry_head').run();
    const gone = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(gone.message, /head is missing/);
    await f.cleanup();
  });

  it('enrolment is refused once three guardians were ever enrolled, also after a replacement', async () => {
    const f = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(f);
    const { guardians } = f.services;
    const newcomer = await softwareKey('newcomer guardian passphrase 3');
    const request = await guardians.requestReplacement(sam.view.id, { method: 'software', name: 'Nora', keyFile: newcomer.keyFile, passphrase: 'newcomer guardian passphrase 3' }, { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, 60);
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sofia.keyFile, sofia.passphrase, 'approve');
    guardians.executeReplacement(request.id);
    assert.equal((f.services.db.prepare('SELECT epoch, guardian_count FROM guardian_registry_head').get() as { epoch: number }).epoch, 5, 'sealed once, then 3 enrolments and 1 replacement');
    const extra = await softwareKey(EXTRA_PASS);
    const full = await rejectsWith(guardians.enrol({ method: 'software', name: 'Extra', keyFile: extra.keyFile, passphrase: EXTRA_PASS }), 'GUARDIAN_REGISTRY_FULL');
    assert.match(full.message, /4 registry entries, replaced ones included/);
    // Removing the replaced guardian's row does not reopen anything either.
    f.services.db.prepare("DELETE FROM guardians WHERE status = 'replaced'").run();
    await rejectsWith(guardians.enrol({ method: 'ledger', name: 'Extra', derivationPath: LEDGER_PATH }), 'GUARDIAN_REGISTRY_TAMPERED');
    await f.cleanup();
  });

  it('a vault from before the head: sealed on first use over its rows, once, and checked from then on', async () => {
    const f = await guardianFixture();
    const { db } = f.services;
    // Three guardians as an older version wrote them: MACed rows, no head yet.
    const store = f.services.guardians.registryStore;
    for (const slot of [1, 2, 3]) {
      const base = {
        id: `0000000${slot}-0000-4000-8000-000000000000`, slot, name: `Guardian ${slot}`, kind: 'software' as const, address: Wallet.createRandom().address, derivation_path: null,
        enrolled_at: new Date(0).toISOString(), proof_signature: '{}', status: 'active' as const, replaced_at: null, replaced_by: null,
      };
      db.prepare(`INSERT INTO guardians (id, slot, name, kind, address, derivation_path, enrolled_at, proof_signature, status, replaced_at, replaced_by, mac)
        VALUES (@id, @slot, @name, @kind, @address, @derivation_path, @enrolled_at, @proof_signature, @status, @replaced_at, @replaced_by, @mac)`).run({ ...base, mac: store.rowMac(base) });
    }
    assert.equal((db.prepare('SELECT state FROM guardian_registry_head').get() as { state: string }).state, 'awaiting-first-unlock');
    assert.equal(f.services.guardians.registry().guardians.length, 3);
    const sealed = f.services.audit.list({ type: HEAD_SEALED_EVENT }).entries;
    assert.equal(sealed.length, 1);
    assert.deepEqual(sealed[0]?.details, { guardians: 3, trustOnFirstUse: true });
    db.prepare('DELETE FROM guardians WHERE slot = 1').run();
    await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    await f.cleanup();
  });

  it('migration 007 gives an existing database an unsealed head and the requester columns', () => {
    const dir = tempDir();
    const db = new Database(join(dir.path, DATABASE_FILE));
    applyMigrations(db, MIGRATIONS.filter((m) => m.version < 7));
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'guardian_registry_head'").get(), undefined);
    applyMigrations(db);
    assert.deepEqual(db.prepare('SELECT state, mac FROM guardian_registry_head').all(), [{ state: 'awaiting-first-unlock', mac: null }]);
    const columns = (db.prepare('PRAGMA table_info(approval_requests)').all() as Array<{ name: string }>).map((c) => c.name);
    assert.ok(columns.includes('requester_address') && columns.includes('requester_signature'));
    assert.throws(() => db.prepare("INSERT INTO guardian_registry_head (id, state) VALUES (2, 'sealed')").run(), /CHECK/);
    db.close();
    dir.cleanup();
  });
});
