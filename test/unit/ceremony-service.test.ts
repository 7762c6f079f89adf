/**
 * The ceremony service end to end under Node with the emulated Ledger: guarded start, the console
 * ceremony's steps and their order, Ledger verification (match and mismatch), the wipe, the
 * certificate, the Ledger-generated path, and the refusals on each step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CeremonyRecords } from '../../main/ceremony/ceremony-records';
import { createHash } from 'node:crypto';
import { getBytes, Mnemonic, verifyTypedData } from 'ethers';
import { solanaAddress } from '../../main/ceremony/derivation-plan';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, payloadHash } from '../../main/guardians/typed-data';
import { isAppFailure } from '../../main/errors';
import { EMULATOR_MNEMONIC } from '../emulators/ledger-eth/emulator';
import { ceremonyFixture, runConsoleCeremony, type CeremonyFixture } from '../support/ceremony';
import { GOOD_PASSPHRASE } from '../support/services';

const code = (c: string) => (e: unknown) => {
  assert.ok(isAppFailure(e), `expected AppFailure ${c}, got ${String(e)}`);
  assert.equal(e.code, c, e.message);
  return true;
};

describe('console-generated ceremony', () => {
  let f: CeremonyFixture;
  before(async () => {
    f = await ceremonyFixture();
  });
  after(async () => f.cleanup());

  it('will not start without the guardian quorum, and a consumed approval does not start a second one', async () => {
    const { ceremonies } = f.services.ceremony;
    const request = await ceremonies.requestStart({ mode: 'console', label: 'No quorum', userWallets: 1, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    await assert.rejects(ceremonies.start(request.id), code('QUORUM_NOT_MET'));
    await f.services.guardians.signWithKeyFile(request.id, f.sam.keyFile, f.sam.passphrase, 'approve');
    await assert.rejects(ceremonies.start(request.id), code('QUORUM_NOT_MET'));
    assert.equal(ceremonies.list().length, 0, 'nothing was recorded');
    await f.services.guardians.signWithKeyFile(request.id, f.sofia.keyFile, f.sofia.passphrase, 'approve');
    const started = await ceremonies.start(request.id);
    assert.equal(started.words!.length, 24);
    await assert.rejects(ceremonies.start(request.id), code('APPROVAL_REQUEST_CLOSED'));
    ceremonies.abort(started.ceremony.id);
  });

  it('refuses a request for another operation as the start approval', async () => {
    const other = await f.services.guardians.createRequest({ operation: 'policy.change', subject: f.services.guardians.currentVaultId(), parameters: { mode: 'console', label: 'x', userWallets: 1, solanaAccounts: 1 }, context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    await f.approve(other);
    await assert.rejects(f.services.ceremony.ceremonies.start(other.id), code('GUARD_PAYLOAD_MISMATCH'));
  });

  it('enforces the order of steps: transcription, shares, Ledger, then the wipe', async () => {
    const { ceremonies } = f.services.ceremony;
    const request = await ceremonies.requestStart({ mode: 'console', label: 'Order', userWallets: 1, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    await f.approve(request);
    const { ceremony, words } = await ceremonies.start(request.id);
    assert.equal(ceremony.step, 'words');
    assert.throws(() => ceremonies.checkTranscription(ceremony.id, {}), code('CEREMONY_STEP_OUT_OF_ORDER'));
    await assert.rejects(ceremonies.issueShares(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'));
    await assert.rejects(ceremonies.verifyLedger(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'));
    assert.throws(() => ceremonies.finish(ceremony.id, 60), code('CEREMONY_STEP_OUT_OF_ORDER'));
    const challenge = ceremonies.transcriptionChallenge(ceremony.id);
    assert.equal(challenge.step, 'transcription');
    assert.ok(challenge.checkPositions.length >= 4);
    const answers = Object.fromEntries(challenge.checkPositions.map((p) => [String(p), words![p - 1]!]));
    const wrongAt = challenge.checkPositions[1]!;
    assert.throws(() => ceremonies.checkTranscription(ceremony.id, { ...answers, [wrongAt]: words![wrongAt - 1] === 'zoo' ? 'abandon' : 'zoo' }), (e: unknown) => {
      code('TRANSCRIPTION_MISMATCH')(e);
      assert.match((e as Error).message, new RegExp(`Word ${wrongAt} does not match`));
      return true;
    });
    assert.equal(ceremonies.checkTranscription(ceremony.id, answers).step, 'shares');
    const issued = await ceremonies.issueShares(ceremony.id);
    assert.equal(issued.sheets.length, 3);
    assert.deepEqual(issued.sheets.map((s) => s.guardianName), ['Lena', 'Sam', 'Sofia']);
    assert.ok(issued.sheets.every((s) => s.words.length === 25 && s.qrDataUrl.startsWith('data:image/png;base64,')));
    await assert.rejects(ceremonies.issueShares(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'));
    assert.equal(ceremonies.view(ceremony.id).step, 'ledger');
    ceremonies.abort(ceremony.id);
    await assert.rejects(ceremonies.issueShares(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'));
  });

  it('detects a Ledger holding a different seed, then verifies the restored one, wipes the seed and certifies', async () => {
    const { ceremonies } = f.services.ceremony;
    const request = await ceremonies.requestStart({ mode: 'console', label: 'Main', userWallets: 2, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    await f.approve(request);
    const { ceremony, words } = await ceremonies.start(request.id);
    const challenge = ceremonies.transcriptionChallenge(ceremony.id);
    ceremonies.checkTranscription(ceremony.id, Object.fromEntries(challenge.checkPositions.map((p) => [String(p), words![p - 1]!])));
    await ceremonies.issueShares(ceremony.id);

    // Views and lists (what the renderer polls) never carry words, whatever the step.
    const pairs = words!.slice(1).map((w, i) => `${words![i]} ${w}`);
    for (const text of [JSON.stringify(ceremonies.view(ceremony.id)), JSON.stringify(ceremonies.list())]) assert.ok(pairs.every((p) => !text.includes(p)) && !text.includes(`"${words![0]}","${words![1]}"`));

    f.device.useMnemonic(EMULATOR_MNEMONIC);
    await assert.rejects(ceremonies.verifyLedger(ceremony.id), (e: unknown) => {
      code('LEDGER_SEED_MISMATCH')(e);
      assert.match((e as Error).message, /holds a different seed/);
      return true;
    });
    assert.equal(ceremonies.view(ceremony.id).step, 'ledger');
    assert.ok(ceremonies.view(ceremony.id).ledgerChecks.some((c) => !c.matches));

    f.device.useMnemonic(words!.join(' '));
    await assert.rejects(ceremonies.ledgerSolana(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'), 'Solana comes after the Ethereum check');
    const verifiedEvm = await ceremonies.verifyLedger(ceremony.id);
    assert.equal(verifiedEvm.step, 'ledger-solana');
    assert.equal(verifiedEvm.ledgerChecks.length, 5, 'master, 2 users, signing wallet and the xpub');
    assert.throws(() => ceremonies.finish(ceremony.id, 60), code('CEREMONY_STEP_OUT_OF_ORDER'), 'the seed is not wiped before the Solana account is checked');

    // The Solana account, with the Solana app open: the Ethereum app open instead is named as such,
    // and a device holding another seed is a mismatch, recorded.
    await assert.rejects(ceremonies.ledgerSolana(ceremony.id), (e: unknown) => code('LEDGER_WRONG_APP')(e) && /Solana app is not open/.test((e as Error).message));
    f.device.app = 'solana';
    f.device.useMnemonic(EMULATOR_MNEMONIC);
    await assert.rejects(ceremonies.ledgerSolana(ceremony.id), code('LEDGER_SEED_MISMATCH'));
    assert.equal(ceremonies.view(ceremony.id).step, 'ledger-solana');
    f.device.useMnemonic(words!.join(' '));
    const verified = await ceremonies.ledgerSolana(ceremony.id);
    assert.equal(verified.step, 'finish');
    assert.ok(verified.ledgerChecks.every((c) => c.matches));
    assert.equal(verified.ledgerChecks.length, 6, 'the five Ethereum checks and the Solana vault account');
    const solana = verified.addresses.find((a) => a.chain === 'solana')!;
    assert.deepEqual(await ceremonies.showOnDevice(ceremony.id, 0, 'solana'), { address: solana.address, path: solana.path });
    f.device.app = 'ethereum';
    const shown = await ceremonies.showOnDevice(ceremony.id, 0);
    assert.equal(shown.address, verified.addresses[0]!.address);

    const finished = ceremonies.finish(ceremony.id, 60);
    assert.equal(finished.status, 'awaiting-signatures');
    assert.match(finished.transcriptHash!, /^[0-9a-f]{64}$/);
    assert.equal(finished.checkPositions.length, 0);
    await assert.rejects(ceremonies.issueShares(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'));
    assert.throws(() => ceremonies.certify(ceremony.id), code('QUORUM_NOT_MET'));
    await f.approve(finished.certifyRequestId!);
    const certified = ceremonies.certify(ceremony.id);
    assert.equal(certified.status, 'certified');
    const certificate = await ceremonies.certificate(ceremony.id);
    assert.equal(certificate.signatures.length, 2);
    assert.ok(certificate.signatures.every((s) => /^0x[0-9a-f]{130}$/.test(s.signature)));
    // Offline check of the certificate: each signature is the guardian's EIP-712 approval of the
    // certify request, whose payload hash commits to exactly this transcript hash.
    const certify = f.services.guardians.view(finished.certifyRequestId!);
    assert.equal(certify.parameters.transcriptHash, certificate.transcriptHash);
    assert.equal(payloadHash(f.services.guardians.currentVaultId(), 'ceremony.certify', ceremony.id, certify.parameters, certify.context), certify.payloadHash);
    assert.equal(createHash('sha256').update(certificate.transcript).digest('hex'), certificate.transcriptHash);
    for (const s of certificate.signatures) {
      assert.equal(s.message.payloadHash, certify.payloadHash);
      assert.equal(verifyTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, s.message, s.signature), s.address);
    }
    assert.deepEqual(certificate.signatures.map((s) => s.guardianName).sort(), ['Sam', 'Sofia']);
    assert.ok(certificate.html.includes(certificate.transcriptHash));
    assert.ok(certificate.html.includes(verified.addresses[0]!.address));
    for (let i = 0; i + 1 < words!.length; i += 1) assert.ok(!certificate.html.includes(`${words![i]} ${words![i + 1]}`));
    const types = f.services.audit.list({ limit: 500 }).entries.map((e) => e.type);
    for (const t of ['CEREMONY_STARTED', 'CEREMONY_TRANSCRIPTION_CHECKED', 'CEREMONY_SHARES_ISSUED', 'CEREMONY_LEDGER_MISMATCH', 'CEREMONY_LEDGER_VERIFIED', 'CEREMONY_SEED_WIPED', 'CEREMONY_CERTIFIED']) assert.ok(types.includes(t), t);
  });

  it('locking the vault wipes a ceremony in progress', async () => {
    const { ceremonies } = f.services.ceremony;
    const request = await ceremonies.requestStart({ mode: 'console', label: 'Interrupted', userWallets: 1, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    await f.approve(request);
    const { ceremony } = await ceremonies.start(request.id);
    await f.services.vault.lock('idle');
    await f.services.vault.unlock('correct horse battery staple orbit');
    assert.equal(ceremonies.view(ceremony.id).status, 'aborted');
    assert.throws(() => ceremonies.transcriptionChallenge(ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'));
  });
});

describe('Ledger-generated ceremony', () => {
  let f: CeremonyFixture;
  before(async () => {
    f = await ceremonyFixture();
  });
  after(async () => f.cleanup());

  it('records the public material read from the device, with no words and no shares', async () => {
    const { ceremonies } = f.services.ceremony;
    const request = await ceremonies.requestStart({ mode: 'ledger', label: 'Ledger seed', userWallets: 1, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    const apdus = f.device.log.length;
    await assert.rejects(ceremonies.start(request.id), code('QUORUM_NOT_MET'));
    assert.equal(f.device.log.length, apdus, 'without the quorum nothing is asked of the device');
    await f.approve(request);
    f.device.state = 'locked';
    await assert.rejects(ceremonies.start(request.id), code('LEDGER_LOCKED'));
    f.device.state = 'ready';
    const started = await ceremonies.start(request.id);
    assert.equal(started.words, null);
    assert.equal(started.ceremony.step, 'ledger-solana');
    assert.throws(() => ceremonies.finish(started.ceremony.id, 60), code('CEREMONY_STEP_OUT_OF_ORDER'));
    await assert.rejects(ceremonies.ledgerSolana(started.ceremony.id), code('LEDGER_WRONG_APP'));
    f.device.app = 'solana';
    const withSolana = await ceremonies.ledgerSolana(started.ceremony.id);
    f.device.app = 'ethereum';
    assert.equal(withSolana.step, 'finish');
    // What the plan derives from the device's words (solanaAddress has its own known-answer test).
    assert.deepEqual(withSolana.addresses.filter((a) => a.chain === 'solana').map((a) => [a.path, a.address]), [["m/44'/501'/0'/0'", solanaAddress(getBytes(Mnemonic.fromPhrase(EMULATOR_MNEMONIC).computeSeed()), 0)]]);
    await assert.rejects(ceremonies.ledgerSolana(started.ceremony.id), code('CEREMONY_STEP_OUT_OF_ORDER'), 'read once');
    assert.ok(f.services.audit.list({ type: 'CEREMONY_LEDGER_SOLANA_READ', limit: 5 }).entries.length === 1);
    assert.equal(started.ceremony.addresses.find((a) => a.index === 0)!.address, f.device.addressAt("m/44'/60'/0'/0/0"));
    assert.equal(started.ceremony.addresses.find((a) => a.index === 255)!.address, f.device.addressAt("m/44'/60'/0'/0/255"));
    assert.match(started.ceremony.evmAccountXpub!, /^xpub/);
    const finished = ceremonies.finish(started.ceremony.id, 60);
    assert.equal(finished.seedFingerprint, null);
    await f.approve(finished.certifyRequestId!);
    assert.equal(ceremonies.certify(started.ceremony.id).status, 'certified');
    assert.throws(() => f.services.ceremony.recovery.start(started.ceremony.id, 'verify'), code('CEREMONY_STEP_OUT_OF_ORDER'));
  });
});

describe('certificate integrity', () => {
  it('prints what operators typed as text, not markup', async () => {
    const f = await ceremonyFixture();
    try {
      const { id } = await runConsoleCeremony(f, '<img src=x onerror=alert(1)> & "vault"');
      const { html } = await f.services.ceremony.ceremonies.certificate(id);
      assert.ok(!html.includes('<img src=x'));
      assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;vault&quot;'));
      assert.ok(!/<script/i.test(html));
    } finally {
      await f.cleanup();
    }
  });


  it('a recovery whose rebuilt seed matches the fingerprint but not the recorded addresses reveals nothing', async () => {
    const f = await ceremonyFixture();
    try {
      const { id, sheets } = await runConsoleCeremony(f);
      // A record whose addresses were rewritten together with a valid MAC (a bug, or a stolen vault key).
      const records = new CeremonyRecords(f.services.db, () => f.services.vault.keyRing().subkey('ceremony/record-mac'));
      const row = records.find(id).row;
      const material = JSON.parse(row.public_material!) as { addresses: Array<{ address: string }> };
      material.addresses[0]!.address = '0x000000000000000000000000000000000000dEaD';
      const changed = { ...row, public_material: JSON.stringify(material) };
      f.services.db.prepare('UPDATE ceremonies SET public_material = ?, mac = ? WHERE id = ?').run(changed.public_material, records.mac(changed), id);
      const { recovery } = f.services.ceremony;
      const r = recovery.start(id, 'recover');
      await recovery.submitShare(r.id, sheets[0]!.words.join(' '));
      await assert.rejects(recovery.submitShare(r.id, sheets[1]!.words.join(' ')), (e: unknown) => code('SEED_FINGERPRINT_MISMATCH')(e) && /does not derive the recorded addresses/.test((e as Error).message));
      assert.throws(() => recovery.reveal(r.id, 'ab'.repeat(32)), code('CEREMONY_STEP_OUT_OF_ORDER'));
    } finally {
      await f.cleanup();
    }
  });

  it('refuses to use a record whose fingerprints were changed in the database', async () => {
    const f = await ceremonyFixture();
    try {
      const { id } = await runConsoleCeremony(f);
      f.services.db.prepare("UPDATE ceremonies SET seed_fingerprint = ? WHERE id = ?").run('00'.repeat(32), id);
      assert.throws(() => f.services.ceremony.recovery.start(id, 'verify'), code('CEREMONY_RECORD_TAMPERED'));
      await assert.rejects(f.services.ceremony.ceremonies.certificate(id), code('CEREMONY_RECORD_TAMPERED'));
    } finally {
      await f.cleanup();
    }
  });
});
