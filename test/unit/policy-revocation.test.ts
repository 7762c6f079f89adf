/**
 * Who revoked an execution authorization is proven, not typed: the operator by the vault
 * passphrase, or one guardian by signing the revocation here with their own key. A wrong proof
 * revokes nothing; the audit row carries a guardian's signed statement, checkable later.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import type { Channel, RequestOf, ResponseOf } from '../../preload/contract';
import { recoverSigner } from '../../main/guardians/typed-data';
import { AppFailure } from '../../main/errors';
import { checkRevocationSignature, REVOCATION_TYPES, type RevocationStatement } from '../../main/policy/revoker';
import { APPROVAL_DOMAIN } from '../../main/guardians/typed-data';
import { enrolThree, guardianFixture, type GuardianFixture } from '../support/guardians';
import { ALICE, evmPolicy, EVM_KEYSET } from '../support/permits';
import { GOOD_PASSPHRASE, TRUSTED } from '../support/services';

async function call<C extends Channel>(f: GuardianFixture, channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
  const result = await f.services.router.dispatch(channel, request, TRUSTED);
  if (!result.ok) assert.fail(`${channel}: ${result.error.code} ${result.error.message}`);
  return result.value as ResponseOf<C>;
}

async function failsWith<C extends Channel>(f: GuardianFixture, channel: C, request: RequestOf<C>, code: string): Promise<string> {
  const result = await f.services.router.dispatch(channel, request, TRUSTED);
  assert.equal(result.ok, false, `${channel} should fail with ${code}`);
  if (result.ok) return '';
  assert.equal(result.error.code, code, result.error.message);
  return result.error.message;
}

/** A console with three guardians and two active execution authorizations for one keyset. */
async function setUp() {
  const f = await guardianFixture();
  const g = await enrolThree(f);
  const ids = ['6a1e0c1e-0000-4000-8000-00000000e001', '6a1e0c1e-0000-4000-8000-00000000e002', '6a1e0c1e-0000-4000-8000-00000000e003'];
  const scope = { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '2' } }, validForMinutes: 60 };
  f.services.policy.applyNodeSetup({ policies: [evmPolicy()], authorizations: ids.map((id) => ({ id, scope })) }, false, 'test');
  const stateOf = (id: string) => f.services.policy.overview().executionAuthorizations.find((a) => a.id === id)!;
  const revocations = () => f.services.audit.list({ type: 'EXECUTION_AUTHORIZATION_REVOKED' }).entries;
  return { f, g, ids, stateOf, revocations };
}

describe('execution authorization revocation: who revoked is proven', () => {
  it('the operator revokes with the vault passphrase; a wrong passphrase revokes nothing', async () => {
    const { f, ids, stateOf, revocations } = await setUp();
    await failsWith(f, 'policy.revokeExecutionAuthorization', { id: ids[0]!, reason: 'laptop lost', by: { as: 'operator', vaultPassphrase: 'not the passphrase at all' } }, 'WRONG_PASSPHRASE');
    assert.equal(stateOf(ids[0]!).state, 'active');
    assert.equal(revocations().length, 0);
    const overview = await call(f, 'policy.revokeExecutionAuthorization', { id: ids[0]!, reason: 'laptop lost', by: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE } });
    const revoked = overview.executionAuthorizations.find((a) => a.id === ids[0])!;
    assert.equal(revoked.state, 'revoked');
    assert.equal(revoked.revokedBy, 'operator (vault passphrase confirmed)');
    const row = revocations()[0]!;
    assert.equal(row.actor, 'operator (vault passphrase confirmed)');
    assert.deepEqual((row.details as { proof: unknown }).proof, { kind: 'vault-passphrase' });
    await f.cleanup();
  });

  it('one guardian revokes by signing here (key file, Ledger); the audit row holds the statement and a signature that recovers to that guardian', async () => {
    const { f, g, ids, stateOf, revocations } = await setUp();
    await call(f, 'policy.revokeExecutionAuthorization', { id: ids[0]!, reason: 'batch finished', by: { as: 'guardian', guardianId: g.sam.view.id, signer: { method: 'software', keyFile: g.sam.keyFile, passphrase: g.sam.passphrase } } });
    assert.equal(stateOf(ids[0]!).revokedBy, `guardian Sam (${g.sam.view.address})`);
    const row = revocations()[0]!;
    const proof = (row.details as { proof: { kind: string; statement: RevocationStatement; signature: string; address: string } }).proof;
    assert.equal(proof.kind, 'guardian-signature');
    assert.equal(proof.statement.subject, ids[0]);
    assert.equal(proof.statement.reason, 'batch finished');
    assert.equal(proof.statement.vaultId, f.services.guardians.currentVaultId());
    assert.equal(recoverSigner(REVOCATION_TYPES, proof.statement, proof.signature), g.sam.view.address, 'anyone can check the signature later');

    await call(f, 'policy.revokeExecutionAuthorization', { id: ids[1]!, reason: 'suspicious', by: { as: 'guardian', guardianId: g.lena.id, signer: { method: 'ledger' } } });
    assert.equal(stateOf(ids[1]!).revokedBy, `guardian Lena (${g.lena.address})`);
    await f.cleanup();
  });

  it("refuses someone else's key file, an unknown guardian, a remote signer and a Ledger that signs with another key; nothing is revoked", async () => {
    const { f, g, ids, stateOf, revocations } = await setUp();
    // Sofia's name, Sam's key: the key file does not hold Sofia's registered key.
    await failsWith(f, 'policy.revokeExecutionAuthorization', { id: ids[2]!, reason: 'x', by: { as: 'guardian', guardianId: g.sofia.view.id, signer: { method: 'software', keyFile: g.sam.keyFile, passphrase: g.sam.passphrase } } }, 'KEYFILE_NOT_GUARDIAN');
    await failsWith(f, 'policy.revokeExecutionAuthorization', { id: ids[2]!, reason: 'x', by: { as: 'guardian', guardianId: '00000000-0000-4000-8000-000000000000', signer: { method: 'ledger' } } }, 'GUARDIAN_NOT_FOUND');
    const message = await failsWith(f, 'policy.revokeExecutionAuthorization', { id: ids[2]!, reason: 'x', by: { as: 'guardian', guardianId: g.sam.view.id, signer: { method: 'remote' } } }, 'VALIDATION_FAILED');
    assert.match(message, /acts at once/);
    // Lena's Ledger reports her address but signs with other words (faulty or tampered device).
    f.device.signTypedDataWith = Wallet.createRandom().mnemonic!.phrase;
    const forged = await failsWith(f, 'policy.revokeExecutionAuthorization', { id: ids[2]!, reason: 'x', by: { as: 'guardian', guardianId: g.lena.id, signer: { method: 'ledger' } } }, 'REVOCATION_SIGNATURE_INVALID');
    assert.match(forged, /not signed by Lena's registered key/);
    f.device.signTypedDataWith = null;
    assert.equal(stateOf(ids[2]!).state, 'active');
    assert.equal(revocations().length, 0);
    await f.cleanup();
  });

  it('a statement signed by any key other than the named guardian\'s is refused', async () => {
    const guardian = { name: 'Sam', address: Wallet.createRandom().address };
    const statement: RevocationStatement = { vaultId: 'v', operation: 'execution-authorization.revoke', subject: 'a', reason: 'r', challenge: `0x${'11'.repeat(32)}`, issuedAt: 1 };
    const other = Wallet.createRandom();
    const forged = await other.signTypedData(APPROVAL_DOMAIN, REVOCATION_TYPES, statement);
    assert.throws(() => checkRevocationSignature(guardian, statement, forged), (e) => e instanceof AppFailure && e.code === 'REVOCATION_SIGNATURE_INVALID' && /recovers to/.test(e.message));
    assert.throws(() => checkRevocationSignature(guardian, statement, '0x1234'), (e) => e instanceof AppFailure && e.code === 'REVOCATION_SIGNATURE_INVALID');
    const genuine = Wallet.createRandom();
    const signed = await genuine.signTypedData(APPROVAL_DOMAIN, REVOCATION_TYPES, statement);
    assert.doesNotThrow(() => checkRevocationSignature({ name: 'Sam', address: genuine.address }, statement, signed));
  });
});

describe('the kill switch: the operator or one guardian freezes at once, and who froze is proven', () => {
  const freezes = (f: GuardianFixture) => f.services.audit.list({ type: 'KILL_SWITCH_ENGAGED' }).entries;

  it('one guardian freezes by signing the freeze here; the audit row holds a statement that recovers to that guardian', async () => {
    const { f, g } = await setUp();
    const overview = await call(f, 'policy.engageKillSwitch', { reason: 'phishing wave', by: { as: 'guardian', guardianId: g.sam.view.id, signer: { method: 'software', keyFile: g.sam.keyFile, passphrase: g.sam.passphrase } } });
    assert.equal(overview.killSwitch.engaged, true);
    assert.equal(overview.killSwitch.changedBy, `guardian Sam (${g.sam.view.address})`);
    const row = freezes(f)[0]!;
    const proof = (row.details as { proof: { kind: string; statement: RevocationStatement; signature: string } }).proof;
    assert.equal(proof.kind, 'guardian-signature');
    assert.equal(proof.statement.operation, 'signing.freeze');
    assert.equal(proof.statement.reason, 'phishing wave');
    assert.equal(recoverSigner(REVOCATION_TYPES, proof.statement, proof.signature), g.sam.view.address);
    await f.cleanup();
  });

  it('the operator at the console freezes without any proof: freezing must never wait', async () => {
    const { f } = await setUp();
    const overview = await call(f, 'policy.engageKillSwitch', { reason: 'incident' });
    assert.equal(overview.killSwitch.changedBy, 'operator');
    assert.equal((freezes(f)[0]!.details as { proof?: unknown }).proof, undefined);
    await f.cleanup();
  });

  it('an operator who offers a proof must pass it: a wrong vault passphrase freezes nothing, the right one is recorded', async () => {
    const { f } = await setUp();
    await failsWith(f, 'policy.engageKillSwitch', { reason: 'incident', by: { as: 'operator', vaultPassphrase: 'not the passphrase at all' } }, 'WRONG_PASSPHRASE');
    assert.equal(f.services.policy.overview().killSwitch.engaged, false);
    assert.equal(freezes(f).length, 0);
    const overview = await call(f, 'policy.engageKillSwitch', { reason: 'incident', by: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE } });
    assert.equal(overview.killSwitch.changedBy, 'operator (vault passphrase confirmed)');
    assert.deepEqual((freezes(f)[0]!.details as { proof?: unknown }).proof, { kind: 'vault-passphrase' });
    await f.cleanup();
  });

  it("refuses a freeze signed with someone else's key, by an unknown guardian or a remote signer, and by a Ledger signing with another key: signing stays allowed", async () => {
    const { f, g } = await setUp();
    await failsWith(f, 'policy.engageKillSwitch', { reason: 'x', by: { as: 'guardian', guardianId: g.sofia.view.id, signer: { method: 'software', keyFile: g.sam.keyFile, passphrase: g.sam.passphrase } } }, 'KEYFILE_NOT_GUARDIAN');
    await failsWith(f, 'policy.engageKillSwitch', { reason: 'x', by: { as: 'guardian', guardianId: '00000000-0000-4000-8000-000000000000', signer: { method: 'ledger' } } }, 'GUARDIAN_NOT_FOUND');
    assert.match(await failsWith(f, 'policy.engageKillSwitch', { reason: 'x', by: { as: 'guardian', guardianId: g.sam.view.id, signer: { method: 'remote' } } }, 'VALIDATION_FAILED'), /Freezing acts at once/);
    f.device.signTypedDataWith = Wallet.createRandom().mnemonic!.phrase;
    assert.match(await failsWith(f, 'policy.engageKillSwitch', { reason: 'x', by: { as: 'guardian', guardianId: g.lena.id, signer: { method: 'ledger' } } }, 'REVOCATION_SIGNATURE_INVALID'), /freeze was not signed by Lena's registered key.*Nothing was frozen/);
    f.device.signTypedDataWith = null;
    assert.equal(f.services.policy.overview().killSwitch.engaged, false);
    assert.equal(freezes(f).length, 0);
    await f.cleanup();
  });
});
