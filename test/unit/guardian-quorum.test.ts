import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { AppFailure } from '../../main/errors';
import { GUARDED_OPERATIONS } from '../../main/guardians/guarded-operations';
import type { RequesterProof } from '../../main/guardians/guardian-service';
import { payloadHash } from '../../main/guardians/typed-data';
import { approvalFile, enrolThree, guardianFixture, softwareKey, type GuardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE } from '../support/services';

const NEW_PASSPHRASE = 'violet canyon ember solstice harbor';

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

const AS_OPERATOR: RequesterProof = { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE };

function passphraseRequest(f: GuardianFixture, requester: RequesterProof = AS_OPERATOR) {
  const { guardians, vault } = f.services;
  return guardians.createRequest({
    operation: 'vault.passphrase.change',
    subject: guardians.currentVaultId(),
    parameters: vault.passphraseChangeParameters(),
    context: { reason: 'quarterly rotation' },
    requester,
    ttlMinutes: 60,
  });
}

function refusals(f: GuardianFixture): string[] {
  return f.services.audit.list({ type: 'APPROVAL_REFUSED' }).entries.map((e) => String(e.details.code));
}

describe('guardian registry', () => {
  it('enrols exactly three guardians, each proving possession, and refuses a fourth', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    assert.equal(lena.kind, 'ledger');
    assert.equal(lena.address, f.device.addressAt("44'/60'/0'/0/0"));
    assert.equal(sam.view.kind, 'software');
    const registry = f.services.guardians.registry();
    assert.equal(registry.complete, true);
    assert.deepEqual(registry.guardians.map((g) => g.slot), [1, 2, 3]);
    const extra = await softwareKey('extra guardian passphrase 99');
    const full = await rejectsWith(f.services.guardians.enrol({ method: 'software', name: 'Extra', keyFile: extra.keyFile, passphrase: 'extra guardian passphrase 99' }), 'GUARDIAN_REGISTRY_FULL');
    assert.match(full.message, /request a guardian replacement/);
    assert.equal(f.services.audit.list({ type: 'GUARDIAN_ENROLLED' }).total, 3);
    await f.cleanup();
  });

  it('refuses the same key twice while enrolling', async () => {
    const f = await guardianFixture();
    const key = await softwareKey('twice enrolled passphrase 7');
    await f.services.guardians.enrol({ method: 'software', name: 'A', keyFile: key.keyFile, passphrase: 'twice enrolled passphrase 7' });
    await rejectsWith(f.services.guardians.enrol({ method: 'software', name: 'B', keyFile: key.keyFile, passphrase: 'twice enrolled passphrase 7' }), 'GUARDIAN_ALREADY_REGISTERED');
    await rejectsWith(passphraseRequest(f), 'GUARDIAN_REGISTRY_INCOMPLETE');
    await f.cleanup();
  });

  it('refuses a registry row changed in the database behind the console', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const intruder = Wallet.createRandom();
    f.services.db.prepare('UPDATE guardians SET address = ? WHERE slot = 2').run(intruder.address);
    const tampered = await rejectsWith(() => f.services.guardians.registry(), 'GUARDIAN_REGISTRY_TAMPERED');
    assert.match(tampered.message, /slot 2/);
    await f.cleanup();
  });
});

describe('approval quorum', () => {
  it('two distinct guardians approve (Ledger and software key) → the guard allows', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const request = await passphraseRequest(f);
    assert.equal(request.status, 'pending');
    assert.match(request.payloadHash, /^0x[0-9a-f]{64}$/);
    assert.ok(request.summary.some((line) => line.includes('Change the passphrase')));
    await f.services.guardians.signWithLedger(request.id, lena.id, 'approve');
    const one = f.services.guardians.view(request.id);
    assert.equal(one.approvalsCounted, 1);
    await rejectsWith(() => f.services.guardians.checkApproval('vault.passphrase.change', request.subject, f.services.vault.passphraseChangeParameters(), request.id), 'QUORUM_NOT_MET');
    const two = await f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    assert.equal(two.approvalsCounted, 2);
    assert.deepEqual(two.approvals.map((a) => [a.guardianName, a.via, a.counts]), [['Lena', 'ledger', true], ['Sam', 'software', true]]);
    f.services.guardians.checkApproval('vault.passphrase.change', request.subject, f.services.vault.passphraseChangeParameters(), request.id);
    assert.equal(f.services.audit.list({ type: 'APPROVAL_SIGNED' }).total, 2);
    await f.cleanup();
  });

  it('refuses the same guardian twice', async () => {
    const f = await guardianFixture();
    const { sam } = await enrolThree(f);
    const request = await passphraseRequest(f);
    await f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    const twice = await rejectsWith(f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve'), 'APPROVAL_DUPLICATE_GUARDIAN');
    assert.match(twice.message, /Sam already approved this request/);
    assert.equal(f.services.guardians.view(request.id).approvalsCounted, 1);
    await f.cleanup();
  });

  it('never counts the requester', async () => {
    const f = await guardianFixture();
    const { sam } = await enrolThree(f);
    const request = await passphraseRequest(f, { as: 'guardian', guardianId: sam.view.id, signer: { method: 'software', keyFile: sam.keyFile, passphrase: sam.passphrase } });
    const own = await rejectsWith(f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve'), 'APPROVAL_BY_REQUESTER');
    assert.match(own.message, /Sam requested this operation/);
    assert.deepEqual(f.services.guardians.view(request.id).waitingFor.sort(), ['Lena', 'Sofia']);
    await f.cleanup();
  });

  it('refuses an unregistered key', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const request = await passphraseRequest(f);
    const stranger = Wallet.createRandom();
    const file = await approvalFile(new Wallet(stranger.privateKey), f.services.guardians.prepareMessage(request.id, 'approve'));
    const refused = await rejectsWith(() => f.services.guardians.importApproval(file), 'APPROVAL_SIGNER_NOT_GUARDIAN');
    assert.ok(refused.message.includes(stranger.address));
    const keyFile = await softwareKey('stranger key passphrase 55');
    await rejectsWith(f.services.guardians.signWithKeyFile(request.id, keyFile.keyFile, 'stranger key passphrase 55', 'approve'), 'KEYFILE_NOT_GUARDIAN');
    await f.cleanup();
  });

  it('refuses an approval that arrives after the request expired', async () => {
    const f = await guardianFixture();
    const { sam } = await enrolThree(f);
    const request = await passphraseRequest(f);
    const file = await approvalFile(sam.wallet, f.services.guardians.prepareMessage(request.id, 'approve'));
    f.clock.advance(64 * 60_000);
    const late = await rejectsWith(() => f.services.guardians.importApproval(file), 'APPROVAL_EXPIRED');
    assert.match(late.message, /expired 4 min ago/);
    assert.equal(f.services.guardians.view(request.id).status, 'expired');
    await f.cleanup();
  });

  it('refuses a replayed nonce', async () => {
    const f = await guardianFixture();
    const { sam } = await enrolThree(f);
    const request = await passphraseRequest(f);
    const file = await approvalFile(sam.wallet, f.services.guardians.prepareMessage(request.id, 'approve'));
    f.services.guardians.importApproval(file);
    const replay = await rejectsWith(() => f.services.guardians.importApproval(file), 'APPROVAL_NONCE_REPLAYED');
    assert.match(replay.message, /already used/);
    // A nonce the console never issued for this request is refused as well.
    const other = await passphraseRequest(f);
    const foreign = { ...f.services.guardians.prepareMessage(other.id, 'approve'), requestId: request.id, payloadHash: request.payloadHash };
    await rejectsWith(async () => f.services.guardians.importApproval(await approvalFile(sam.wallet, foreign)), 'APPROVAL_NONCE_UNKNOWN');
    await f.cleanup();
  });

  it('refuses an approval for an altered request', async () => {
    const f = await guardianFixture();
    const { sam, sofia } = await enrolThree(f);
    const request = await passphraseRequest(f);
    // Signed over another payload than the request carries.
    const message = f.services.guardians.prepareMessage(request.id, 'approve');
    const otherHash = payloadHash(f.services.guardians.currentVaultId(), 'vault.passphrase.change', request.subject, { newKdf: { N: 1024 } }, {});
    const signedOther = await rejectsWith(async () => f.services.guardians.importApproval(await approvalFile(sam.wallet, { ...message, payloadHash: otherHash })), 'APPROVAL_REQUEST_ALTERED');
    assert.match(signedOther.message, /different version of the request/);
    // The request changed in the database after a guardian signed it.
    const signed = await approvalFile(sofia.wallet, f.services.guardians.prepareMessage(request.id, 'approve'));
    f.services.db.prepare("UPDATE approval_requests SET context = ? WHERE id = ?").run(JSON.stringify({ reason: 'something else', requestedBy: 'operator' }), request.id);
    const changed = await rejectsWith(() => f.services.guardians.importApproval(signed), 'APPROVAL_REQUEST_ALTERED');
    assert.match(changed.message, /changed after it was created/);
    await f.cleanup();
  });

  it('refuses a malformed signature and records every refusal in the audit log', async () => {
    const f = await guardianFixture();
    const { sam } = await enrolThree(f);
    const request = await passphraseRequest(f);
    const message = f.services.guardians.prepareMessage(request.id, 'approve');
    await rejectsWith(() => f.services.guardians.importApproval(JSON.stringify({ message, signature: '0x1234' })), 'APPROVAL_SIGNATURE_INVALID');
    await rejectsWith(() => f.services.guardians.importApproval('{not json'), 'APPROVAL_FILE_INVALID');
    f.services.guardians.importApproval(await approvalFile(sam.wallet, message));
    await rejectsWith(async () => f.services.guardians.importApproval(await approvalFile(sam.wallet, message)), 'APPROVAL_NONCE_REPLAYED');
    assert.deepEqual(refusals(f).sort(), ['APPROVAL_NONCE_REPLAYED', 'APPROVAL_SIGNATURE_INVALID']);
    await f.cleanup();
  });

  it('records rejections and closes the request once quorum is out of reach', async () => {
    const f = await guardianFixture();
    const { sam, sofia, lena } = await enrolThree(f);
    const request = await passphraseRequest(f, { as: 'guardian', guardianId: lena.id, signer: { method: 'ledger' } });
    const first = await f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'reject');
    // Lena requested; with Sam against, only Sofia is left: no two approvals are possible.
    assert.equal(first.status, 'rejected');
    assert.equal(f.services.audit.list({ type: 'APPROVAL_REJECTED' }).total, 1);
    await rejectsWith(f.services.guardians.signWithKeyFile(request.id, sofia.keyFile, sofia.passphrase, 'approve'), 'APPROVAL_REQUEST_CLOSED');
    await f.cleanup();
  });

  it('does not count an approval row written into the database by hand', async () => {
    const f = await guardianFixture();
    const { sam, sofia } = await enrolThree(f);
    const request = await passphraseRequest(f);
    await f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    const nonce = `0x${'ab'.repeat(32)}`;
    f.services.db
      .prepare("INSERT INTO approvals (request_id, guardian_id, address, decision, nonce, signature, via, received_at) VALUES (?, ?, ?, 'approve', ?, ?, 'file', 0)")
      .run(request.id, sofia.view.id, sofia.view.address, nonce, `0x${'11'.repeat(65)}`);
    assert.equal(f.services.guardians.view(request.id).approvalsCounted, 1);
    await rejectsWith(
      f.services.vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE),
      'QUORUM_NOT_MET',
    );
    await f.cleanup();
  });
});

describe('guarded operations', () => {
  it('lists the catalogue from seed 001 and marks the wired ones', () => {
    for (const kind of ['wallet.rotate', 'share.restore', 'withdrawal.large', 'account.recovery', 'override.manual', 'ceremony.run', 'policy.change', 'guardian.replace', 'vault.passphrase.change']) {
      assert.ok(kind in GUARDED_OPERATIONS, kind);
    }
    assert.deepEqual(Object.entries(GUARDED_OPERATIONS).filter(([, op]) => op.wired).map(([kind]) => kind).sort(), [
      'ceremony.certify', 'ceremony.cold.sign', 'ceremony.run', 'cluster.peer.remove', 'cluster.peer.replace', 'execution-authorization.enable', 'guardian.replace', 'keyset.exit', 'keyset.refresh', 'keyset.repair', 'permit-issuer.enrol', 'permit-issuer.remove', 'policy.change', 'share.restore', 'signing.unfreeze', 'vault.passphrase.change', 'withdrawal.large',
    ]);
  });

  it('vault passphrase change: refused without quorum, runs with it, once', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { vault, guardians } = f.services;
    const request = await passphraseRequest(f);
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE), 'QUORUM_NOT_MET');
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    const one = await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE), 'QUORUM_NOT_MET');
    assert.match(one.message, /1 of 2 required guardian approvals \(Lena\)\. Waiting for Sam or Sofia/);
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, `${NEW_PASSPHRASE}x`), 'PASSPHRASE_MISMATCH');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'WEAK_PASSPHRASE');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, 'password1234', 'password1234'), 'WEAK_PASSPHRASE');
    await rejectsWith(vault.changePassphrase(request.id, 'not the passphrase at all', NEW_PASSPHRASE, NEW_PASSPHRASE), 'WRONG_PASSPHRASE');
    const done = await vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE);
    assert.equal(done.requestId, request.id);
    assert.equal(guardians.view(request.id).status, 'executed');
    await rejectsWith(vault.changePassphrase(request.id, NEW_PASSPHRASE, GOOD_PASSPHRASE, GOOD_PASSPHRASE), 'APPROVAL_REQUEST_CLOSED');
    await vault.lock();
    await rejectsWith(vault.unlock(GOOD_PASSPHRASE), 'WRONG_PASSPHRASE');
    await vault.unlock(NEW_PASSPHRASE);
    // Sealed records still open: the master key is the same, only its wrapping changed.
    assert.ok(vault.records.get('node-identity', 'self'));
    const executed = f.services.audit.list({ type: 'GUARDED_OPERATION_EXECUTED' }).entries;
    assert.equal(executed.length, 1);
    assert.deepEqual(executed[0]?.details.approvers, ['Lena', 'Sam']);
    const log = JSON.stringify(f.services.audit.list({ limit: 500 }).entries);
    for (const secret of [GOOD_PASSPHRASE, NEW_PASSPHRASE, sam.passphrase, sam.wallet.privateKey.slice(2)]) assert.ok(!log.includes(secret), 'no secret in the audit log');
    await f.cleanup();
  });

  it('the guard refuses a fully approved request once it expired; at its expiry millisecond it still allows', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { vault, guardians } = f.services;
    const request = await passphraseRequest(f);
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    const check = () => guardians.checkApproval('vault.passphrase.change', request.subject, vault.passphraseChangeParameters(), request.id);
    f.clock.advance(Date.parse(request.expiresAt) - f.clock.now());
    check();
    f.clock.advance(1);
    await rejectsWith(check, 'APPROVAL_EXPIRED');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE), 'APPROVAL_EXPIRED');
    assert.equal(f.services.audit.list({ type: 'VAULT_PASSPHRASE_CHANGED' }).total, 0);
    await f.cleanup();
  });

  it('the guard refuses an approval used for other parameters or another operation', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { guardians } = f.services;
    const request = await passphraseRequest(f);
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    await rejectsWith(() => guardians.requireApproval('vault.passphrase.change', request.subject, { newKdf: { algorithm: 'scrypt', N: 1024, r: 1, p: 1 } }, request.id), 'GUARD_PAYLOAD_MISMATCH');
    await rejectsWith(() => guardians.requireApproval('policy.change', request.subject, f.services.vault.passphraseChangeParameters(), request.id), 'GUARD_PAYLOAD_MISMATCH');
    await rejectsWith(() => guardians.executeReplacement(request.id), 'GUARD_PAYLOAD_MISMATCH');
    f.clock.advance(61 * 60_000);
    await rejectsWith(f.services.vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE), 'APPROVAL_EXPIRED');
    await f.cleanup();
  });

  it('guardian replacement: refused without quorum, runs with it; the old key stops counting', async () => {
    const f = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(f);
    const { guardians } = f.services;
    const newcomer = await softwareKey('newcomer guardian passphrase 3');
    const request = await guardians.requestReplacement(sam.view.id, { method: 'software', name: 'Nora', keyFile: newcomer.keyFile, passphrase: 'newcomer guardian passphrase 3' }, { as: 'guardian', guardianId: lena.id, signer: { method: 'ledger' } }, 60);
    assert.ok(request.summary.some((line) => line.includes('Replace guardian 2, "Sam"')));
    await rejectsWith(() => guardians.executeReplacement(request.id), 'QUORUM_NOT_MET');
    await guardians.signWithKeyFile(request.id, sofia.keyFile, sofia.passphrase, 'approve');
    await rejectsWith(() => guardians.executeReplacement(request.id), 'QUORUM_NOT_MET');
    assert.ok(guardians.registry().guardians.some((g) => g.name === 'Sam'));
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    const registry = guardians.executeReplacement(request.id);
    assert.deepEqual(registry.guardians.map((g) => `${g.slot}:${g.name}`), ['1:Lena', '2:Nora', '3:Sofia']);
    assert.equal(f.services.audit.list({ type: 'GUARDIAN_REPLACED' }).total, 1);
    await rejectsWith(() => guardians.executeReplacement(request.id), 'APPROVAL_REQUEST_CLOSED');
    // Sam's key is no guardian any more.
    const next = await passphraseRequest(f);
    await rejectsWith(async () => guardians.importApproval(await approvalFile(sam.wallet, guardians.prepareMessage(next.id, 'approve'))), 'APPROVAL_SIGNER_NOT_GUARDIAN');
    guardians.importApproval(await approvalFile(newcomer.wallet, guardians.prepareMessage(next.id, 'approve')));
    assert.equal(guardians.view(next.id).approvalsCounted, 1);
    assert.equal(guardians.registry().complete, true);
    await f.cleanup();
  });
});
