/**
 * Who asked for a guarded operation: the operator proves it with the vault passphrase, a guardian
 * with their key's signature over the request; the requester's key never approves its own
 * request, also when the approval row is written straight into the database. And one approved
 * request runs once, also when two runs race.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import type { ApprovalRequestView, ErrorCode, RequestFileExport } from '../../preload/contract';
import { AppFailure } from '../../main/errors';
import type { RequesterProof } from '../../main/guardians/guardian-service';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, REQUEST_TYPES } from '../../main/guardians/typed-data';
import { createServices } from '../../main/services';
import { emulatorTransport } from '../emulators/ledger-eth/emulator';
import { approvalFile, enrolThree, guardianFixture, TEST_KEY_FILE_N, type GuardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE, TEST_KDF_COST, TRUSTED } from '../support/services';

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

function passphraseRequest(f: GuardianFixture, requester: RequesterProof) {
  const { guardians, vault } = f.services;
  return guardians.createRequest({
    operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: { reason: 'rotation' }, requester, ttlMinutes: 60,
  });
}

const requestCount = (f: GuardianFixture) => (f.services.db.prepare('SELECT count(*) AS n FROM approval_requests').get() as { n: number }).n;
const NEW_PASSPHRASE = 'violet canyon ember solstice harbor';

describe('authenticated requester', () => {
  it('attack: a guardian at the unlocked console cannot request "as operator" and then approve it', async () => {
    const f = await guardianFixture();
    const { sam, sofia } = await enrolThree(f);
    const send = (channel: string, payload: unknown) => f.services.router.dispatch(channel, payload, TRUSTED);
    // The old self-declared forms are no longer accepted by the channel.
    for (const requester of [null, 'operator', sam.view.id]) {
      const result = await send('approvals.requestPassphraseChange', { reason: 'rotation', requesterGuardianId: requester, ttlMinutes: 60 });
      assert.equal(!result.ok && result.error.code, 'VALIDATION_FAILED');
    }
    const unsigned = await send('approvals.requestPassphraseChange', { reason: 'rotation', requester: { as: 'guardian', guardianId: sofia.view.id }, ttlMinutes: 60 });
    assert.equal(!unsigned.ok && unsigned.error.code, 'VALIDATION_FAILED');
    // "As operator" needs the vault passphrase, which the guardian does not have.
    const asOperator = await send('approvals.requestPassphraseChange', { reason: 'rotation', requester: { as: 'operator', vaultPassphrase: sam.passphrase }, ttlMinutes: 60 });
    assert.equal(!asOperator.ok && asOperator.error.code, 'WRONG_PASSPHRASE');
    assert.equal(requestCount(f), 0, 'no request was created');
    assert.equal(f.services.vault.status().failedAttempts, 1, 'the attempt counts against the unlock throttle');
    // Requesting as himself works, and then his own approval never counts.
    const own = await passphraseRequest(f, { as: 'guardian', guardianId: sam.view.id, signer: { method: 'software', keyFile: sam.keyFile, passphrase: sam.passphrase } });
    assert.deepEqual(own.requester, { guardianId: sam.view.id, name: 'Sam', address: sam.view.address, signed: true });
    assert.equal(own.context.requesterAddress, sam.view.address, 'the requester key is part of what guardians sign');
    await rejectsWith(f.services.guardians.signWithKeyFile(own.id, sam.keyFile, sam.passphrase, 'approve'), 'APPROVAL_BY_REQUESTER');
    const remote = await approvalFile(sam.wallet, f.services.guardians.prepareMessage(own.id, 'approve'));
    await rejectsWith(() => f.services.guardians.importApproval(remote), 'APPROVAL_BY_REQUESTER');
    assert.equal(f.services.guardians.view(own.id).approvalsCounted, 0);
    await f.cleanup();
  });

  it('a guardian cannot sign a request in another guardian\'s name', async () => {
    const f = await guardianFixture();
    const { sam, sofia } = await enrolThree(f);
    // Sam's key file offered as Sofia's signer.
    await rejectsWith(passphraseRequest(f, { as: 'guardian', guardianId: sofia.view.id, signer: { method: 'software', keyFile: sam.keyFile, passphrase: sam.passphrase } }), 'KEYFILE_NOT_GUARDIAN');
    // A request signature made by another key is refused where requests are stored.
    const { guardians } = f.services;
    const sofiaRow = guardians.registryStore.active().find((g) => g.id === sofia.view.id)!;
    const draft = guardians.requests.draft({ operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: f.services.vault.passphraseChangeParameters(), context: {}, ttlMinutes: 60 }, sofiaRow);
    const bySam = await sam.wallet.signTypedData(APPROVAL_DOMAIN, REQUEST_TYPES, { ...guardians.requests.requesterMessage(draft) });
    const forged = await rejectsWith(() => guardians.requests.insert(draft, bySam), 'REQUESTER_SIGNATURE_INVALID');
    assert.ok(forged.message.includes(sam.view.address));
    await rejectsWith(() => guardians.requests.insert(draft, null), 'REQUESTER_SIGNATURE_INVALID');
    const bySofia = await sofia.wallet.signTypedData(APPROVAL_DOMAIN, REQUEST_TYPES, { ...guardians.requests.requesterMessage(draft) });
    const other = { ...draft, payloadHash: `0x${'22'.repeat(32)}` };
    await rejectsWith(() => guardians.requests.insert(other, bySofia), 'REQUESTER_SIGNATURE_INVALID');
    assert.equal(requestCount(f), 0);
    assert.equal(guardians.requests.insert(draft, bySofia).requester.name, 'Sofia');
    await f.cleanup();
  });

  it('a Ledger guardian requests by signing on the device', async () => {
    const f = await guardianFixture();
    const { lena } = await enrolThree(f);
    const request = await passphraseRequest(f, { as: 'guardian', guardianId: lena.id, signer: { method: 'ledger' } });
    assert.equal(request.requester.address, lena.address);
    assert.deepEqual(request.waitingFor.sort(), ['Sam', 'Sofia']);
    assert.equal(request.ledger, null, 'no other Ledger guardian could sign it');
    f.device.rejectNext = true;
    await rejectsWith(passphraseRequest(f, { as: 'guardian', guardianId: lena.id, signer: { method: 'ledger' } }), 'LEDGER_REJECTED');
    assert.equal(requestCount(f), 1);
    await f.cleanup();
  });

  it('the re-count inside the guarded transaction ignores a correctly signed approval by the requester written straight into the database', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { guardians, vault, db } = f.services;
    const request = await passphraseRequest(f, { as: 'guardian', guardianId: sam.view.id, signer: { method: 'software', keyFile: sam.keyFile, passphrase: sam.passphrase } });
    // A genuine signature by Sam's key over a nonce this console issued: only the requester rule can stop it.
    const message = guardians.prepareMessage(request.id, 'approve');
    const signature = await (sam.wallet as Wallet).signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, message);
    db.prepare("INSERT INTO approvals (request_id, guardian_id, address, decision, nonce, signature, via, received_at) VALUES (?, ?, ?, 'approve', ?, ?, 'file', ?)")
      .run(request.id, sam.view.id, sam.view.address, message.nonce, signature, f.clock.now());
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    assert.equal(guardians.view(request.id).approvalsCounted, 1);
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE), 'QUORUM_NOT_MET');
    await rejectsWith(() => guardians.requireApproval('vault.passphrase.change', request.subject, vault.passphraseChangeParameters(), request.id), 'QUORUM_NOT_MET');
    // Erasing the requester from the row does not help: the signed context still names the key.
    db.prepare('UPDATE approval_requests SET requester_guardian_id = NULL, requester_address = NULL WHERE id = ?').run(request.id);
    await rejectsWith(() => guardians.requireApproval('vault.passphrase.change', request.subject, vault.passphraseChangeParameters(), request.id), 'QUORUM_NOT_MET');
    assert.equal(guardians.view(request.id).status, 'pending');
    assert.equal(f.services.audit.list({ type: 'GUARDED_OPERATION_EXECUTED' }).total, 0);
    await f.cleanup();
  });
});

describe('a guardian requester who signs on their own machine', () => {
  it('the request is inert until the requester file comes back signed by that guardian\'s key', async () => {
    const f = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(f);
    const { guardians } = f.services;
    const send = async (channel: string, payload: unknown) => f.services.router.dispatch(channel, payload, TRUSTED);
    const created = await send('approvals.requestPassphraseChange', { reason: 'rotation', requester: { as: 'guardian', guardianId: sam.view.id, signer: { method: 'remote' } }, ttlMinutes: 60 });
    assert.ok(created.ok, JSON.stringify(created));
    const request = created.value as ApprovalRequestView;
    assert.equal(request.requester.signed, false);
    assert.equal(request.ledger, null, 'no device values for a request nobody may approve yet');
    // Nobody can approve it, and the guard refuses it, until Sam has signed.
    const early = await rejectsWith(f.services.guardians.signWithKeyFile(request.id, sofia.keyFile, sofia.passphrase, 'approve'), 'REQUESTER_NOT_SIGNED');
    assert.match(early.message, /Sam has not signed request/);
    await rejectsWith(() => guardians.prepareMessage(request.id, 'approve'), 'REQUESTER_NOT_SIGNED');
    // An approval file over a nonce slipped into the database is refused as well.
    const nonce = `0x${'c3'.repeat(32)}`;
    f.services.db.prepare('INSERT INTO approval_nonces (nonce, request_id, issued_at) VALUES (?, ?, 0)').run(nonce, request.id);
    const early2 = await approvalFile(sofia.wallet, { requestId: request.id, payloadHash: request.payloadHash, operation: request.operation, nonce, expiry: Math.floor(Date.parse(request.expiresAt) / 1000), decision: 'approve' });
    await rejectsWith(() => guardians.importApproval(early2), 'REQUESTER_NOT_SIGNED');

    const exported = await send('approvals.exportRequesterFile', { requestId: request.id });
    assert.ok(exported.ok);
    const file = JSON.parse((exported.value as RequestFileExport).json) as { typedData: { domain: Record<string, unknown>; types: Record<string, Array<{ name: string; type: string }>>; message: Record<string, unknown> } };
    const { EIP712Domain: _domain, ...types } = file.typedData.types;
    // Signed by someone else, or for another request: refused, nothing recorded.
    const bySofia = await sofia.wallet.signTypedData(file.typedData.domain, types, file.typedData.message);
    const wrongKey = await send('approvals.importRequesterSignature', { fileText: JSON.stringify({ message: file.typedData.message, signature: bySofia }) });
    assert.equal(!wrongKey.ok && wrongKey.error.code, 'REQUESTER_SIGNATURE_INVALID');
    const otherMessage = { ...file.typedData.message, payloadHash: `0x${'33'.repeat(32)}` };
    const bySamOther = await sam.wallet.signTypedData(file.typedData.domain, types, otherMessage);
    const other = await send('approvals.importRequesterSignature', { fileText: JSON.stringify({ message: otherMessage, signature: bySamOther }) });
    assert.equal(!other.ok && other.error.code, 'REQUESTER_SIGNATURE_INVALID');
    const oversize = await send('approvals.importRequesterSignature', { fileText: 'x'.repeat(20_000) });
    assert.equal(!oversize.ok && oversize.error.code, 'VALIDATION_FAILED');
    assert.equal(guardians.view(request.id).requester.signed, false);

    const bySam = await sam.wallet.signTypedData(file.typedData.domain, types, file.typedData.message);
    const imported = await send('approvals.importRequesterSignature', { fileText: JSON.stringify({ format: 'vaultkeeper.requester-signature/1', message: file.typedData.message, signature: bySam }) });
    assert.ok(imported.ok, JSON.stringify(imported));
    assert.equal((imported.value as ApprovalRequestView).requester.signed, true);
    assert.equal(f.services.audit.list({ type: 'APPROVAL_REQUEST_SIGNED' }).total, 1);
    // Now the others decide; Sam's own approval never counts.
    await rejectsWith(f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve'), 'APPROVAL_BY_REQUESTER');
    await guardians.signWithLedger(request.id, lena.id, 'approve');
    await guardians.signWithKeyFile(request.id, sofia.keyFile, sofia.passphrase, 'approve');
    await f.services.vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE);
    assert.equal(guardians.view(request.id).status, 'executed');
    await f.cleanup();
  });

  it('the guard refuses a request whose guardian requester never signed, even with two valid approvals written into the database', async () => {
    const f = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(f);
    const { guardians, vault, db } = f.services;
    const request = await passphraseRequest(f, { as: 'guardian', guardianId: lena.id, signer: { method: 'remote' } });
    for (const guardian of [sam, sofia]) {
      const nonce = `0x${(guardian === sam ? 'a1' : 'b2').repeat(32)}`;
      db.prepare('INSERT INTO approval_nonces (nonce, request_id, issued_at, consumed_at) VALUES (?, ?, 0, 0)').run(nonce, request.id);
      const message = { requestId: request.id, payloadHash: request.payloadHash, operation: request.operation, nonce, expiry: Math.floor(Date.parse(request.expiresAt) / 1000), decision: 'approve' as const };
      const signature = await guardian.wallet.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, message);
      db.prepare("INSERT INTO approvals (request_id, guardian_id, address, decision, nonce, signature, via, received_at) VALUES (?, ?, ?, 'approve', ?, ?, 'file', 0)")
        .run(request.id, guardian.view.id, guardian.view.address, nonce, signature);
    }
    assert.equal(guardians.view(request.id).approvalsCounted, 2, 'both approvals are genuine');
    await rejectsWith(vault.changePassphrase(request.id, GOOD_PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE), 'REQUESTER_NOT_SIGNED');
    // A signature put into the row by hand must verify for the requester's key.
    db.prepare('UPDATE approval_requests SET requester_signature = ? WHERE id = ?').run(`0x${'11'.repeat(65)}`, request.id);
    await rejectsWith(() => guardians.requireApproval('vault.passphrase.change', request.subject, vault.passphraseChangeParameters(), request.id), 'REQUESTER_NOT_SIGNED');
    assert.equal(f.services.audit.list({ type: 'GUARDED_OPERATION_EXECUTED' }).total, 0);
    await f.cleanup();
  });
});

describe('one approved request, two runs at once', () => {
  it('two consoles on one data folder race the same request: exactly one runs, the other gets APPROVAL_REQUEST_CLOSED', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const request = await passphraseRequest(f, { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE });
    await f.services.guardians.signWithLedger(request.id, lena.id, 'approve');
    await f.services.guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    // A second set of services over the same database file: a second connection, as a second process would have.
    const second = createServices({ dataDir: f.services.dataDir, clock: f.clock, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, ledgerTransport: emulatorTransport(f.device), keyFileScryptN: TEST_KEY_FILE_N });
    await second.vault.unlock(GOOD_PASSPHRASE);
    // Both runs must get past the early check before either commits, or this is no race.
    let passedEarlyCheck = 0;
    for (const guardians of [f.services.guardians, second.guardians]) {
      const check = guardians.checkApproval.bind(guardians);
      guardians.checkApproval = (...args) => {
        check(...args);
        passedEarlyCheck += 1;
      };
    }
    const passphrases = ['first racer passphrase amber kite', 'second racer passphrase cobalt reef'];
    const runs = await Promise.allSettled([
      f.services.vault.changePassphrase(request.id, GOOD_PASSPHRASE, passphrases[0]!, passphrases[0]!),
      second.vault.changePassphrase(request.id, GOOD_PASSPHRASE, passphrases[1]!, passphrases[1]!),
    ]);
    assert.equal(passedEarlyCheck, 2, 'both runs were approved when they started');
    const won = runs.findIndex((r) => r.status === 'fulfilled');
    const lost = runs.findIndex((r) => r.status === 'rejected');
    assert.ok(won >= 0 && lost >= 0, `exactly one run succeeds: ${runs.map((r) => r.status).join(', ')}`);
    const reason = (runs[lost] as PromiseRejectedResult).reason as AppFailure;
    assert.equal(reason.code, 'APPROVAL_REQUEST_CLOSED' satisfies ErrorCode, reason.message);
    // Nothing half-written: one change, one execution, and the vault opens with the winner's passphrase only.
    assert.equal(f.services.audit.list({ type: 'VAULT_PASSPHRASE_CHANGED' }).total, 1);
    assert.equal(f.services.audit.list({ type: 'GUARDED_OPERATION_EXECUTED' }).total, 1);
    assert.equal(f.services.guardians.view(request.id).status, 'executed');
    await second.close();
    await f.services.vault.lock();
    await rejectsWith(f.services.vault.unlock(passphrases[lost]!), 'WRONG_PASSPHRASE');
    await f.services.vault.unlock(passphrases[won]!);
    assert.equal(f.services.audit.verify().intact, true, 'the audit chain written by both connections verifies');
    await f.cleanup();
  });
});
