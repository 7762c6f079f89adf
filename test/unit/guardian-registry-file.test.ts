/**
 * A signer node adopts the console's three guardians from a registry file at its first setup, so
 * it can check guarded cluster operations (refresh, repair) itself. Every enrolment proof is checked
 * on the node; a file that names a key that never proved itself, renames a guardian, or comes after
 * the node already has other guardians changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { REGISTRY_FILE_FORMAT, REGISTRY_FILE_FORMAT_V1, type GuardianRegistryFile } from '../../main/guardians/registry-file';
import { ENROLMENT_TYPES, APPROVAL_DOMAIN } from '../../main/guardians/typed-data';
import { rejectsWith } from '../cluster/backup-support';
import { statSync } from 'node:fs';
import { enrolThree, guardianFixture, type GuardianFixture } from '../support/guardians';
import { callChannel } from '../support/services';

describe('the guardian registry file', () => {
  let console_: GuardianFixture;
  let node: GuardianFixture;
  let file: GuardianRegistryFile;
  let text = '';

  before(async () => {
    console_ = await guardianFixture();
    node = await guardianFixture();
    await enrolThree(console_);
    const exported = console_.services.guardians.exportRegistryFile();
    text = exported.json;
    file = JSON.parse(text) as GuardianRegistryFile;
  });
  after(async () => {
    await console_.cleanup();
    await node.cleanup();
  });

  const variant = (change: (f: GuardianRegistryFile) => void): string => {
    const copy = structuredClone(file);
    change(copy);
    return JSON.stringify(copy);
  };
  const adoptRefused = (body: string, code = 'GUARDIAN_FILE_INVALID') => rejectsWith(() => node.services.guardians.adoptRegistryFile(body, 'guardians.json'), code);

  it('is public data: names, kinds, addresses and the enrolment proofs, no secret', () => {
    assert.equal(file.format, REGISTRY_FILE_FORMAT);
    assert.deepEqual(file.guardians.map((g) => g.name), ['Lena', 'Sam', 'Sofia']);
    assert.deepEqual(file.guardians.map((g) => g.address), console_.services.guardians.registry().guardians.map((g) => g.address));
    assert.doesNotMatch(text, /passphrase|privateKey|ciphertext|crypto/i);
    assert.equal(console_.services.audit.list({ type: 'GUARDIAN_REGISTRY_EXPORTED' }).total, 1);
  });

  it('refuses a renamed guardian, a swapped address, a foreign vault id, a duplicate, two guardians, junk and an oversized file', async () => {
    await adoptRefused(variant((f) => (f.guardians[1]!.name = 'Mallory')));
    await adoptRefused(variant((f) => (f.guardians[2]!.address = Wallet.createRandom().address)));
    await adoptRefused(variant((f) => (f.vaultId = '00000000-0000-4000-8000-000000000000')));
    await adoptRefused(variant((f) => (f.guardians[2] = { ...f.guardians[1]!, name: 'Sam again' })));
    await adoptRefused(variant((f) => f.guardians.pop()));
    await adoptRefused('{"format":');
    await adoptRefused(text + ' '.repeat(129 * 1024));
    assert.equal(node.services.guardians.registry().guardians.length, 0, 'nothing was enrolled');
  });

  it('refuses a key that signed a proof for another name, even with a valid signature', async () => {
    const impostor = Wallet.createRandom();
    const proof = { vaultId: file.vaultId, guardianName: 'Sofia', challenge: `0x${'11'.repeat(32)}` };
    const signature = await impostor.signTypedData(APPROVAL_DOMAIN, ENROLMENT_TYPES, { ...proof, guardianName: 'Someone else' });
    await adoptRefused(variant((f) => (f.guardians[2] = { ...f.guardians[2]!, address: impostor.address, proof: { challenge: proof.challenge, signature } })));
  });

  it('enrols the three guardians at first setup; the same file again is unchanged', () => {
    const first = node.services.guardians.adoptRegistryFile(text, 'guardians.json');
    assert.equal(first.outcome, 'enrolled');
    const registry = node.services.guardians.registry();
    assert.equal(registry.complete, true);
    assert.deepEqual(registry.guardians.map((g) => [g.name, g.kind, g.address]), console_.services.guardians.registry().guardians.map((g) => [g.name, g.kind, g.address]));
    const rows = node.services.audit.list({ type: 'GUARDIAN_ENROLLED' }).entries;
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.details.fromFile === 'guardians.json' && r.details.enrolledByVault === file.vaultId));
    assert.equal(node.services.guardians.adoptRegistryFile(text, 'guardians.json').outcome, 'unchanged');
  });

  it('still reads a /1 file, which carries no replacements', async () => {
    const v1 = variant((f) => {
      (f as { format: string }).format = REGISTRY_FILE_FORMAT_V1;
      delete (f as Partial<GuardianRegistryFile>).replacements;
    });
    assert.equal(node.services.guardians.adoptRegistryFile(v1, 'guardians-v1.json').outcome, 'unchanged');
    await adoptRefused(variant((f) => ((f as { format: string }).format = REGISTRY_FILE_FORMAT_V1)));
  });

  it('a node that has guardians refuses another set: they change only by an approved replacement', async () => {
    const other = await guardianFixture();
    try {
      await enrolThree(other);
      const err = await adoptRefused(other.services.guardians.registryFileJson(), 'GUARDIAN_SETUP_CONFLICT');
      assert.match(err.message, /replacement/);
      assert.deepEqual(node.services.guardians.registry().guardians.map((g) => g.address), file.guardians.map((g) => g.address));
    } finally {
      await other.cleanup();
    }
  });

  it('the Guardians screen exports it through IPC into the data folder, owner-only', async () => {
    const result = await callChannel(console_.services, 'guardians.exportRegistryFile', {});
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(statSync(result.value.path).mode & 0o777, 0o600);
    assert.deepEqual((JSON.parse(result.value.json) as GuardianRegistryFile).guardians, file.guardians);
    assert.equal(result.value.replacements, 0);
  });

  it('a console with fewer than three guardians has no file to give', async () => {
    const fresh = await guardianFixture();
    try {
      await rejectsWith(() => fresh.services.guardians.registryFileJson(), 'GUARDIAN_REGISTRY_INCOMPLETE');
    } finally {
      await fresh.cleanup();
    }
  });
});
