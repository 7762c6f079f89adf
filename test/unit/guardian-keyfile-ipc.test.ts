import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isKeystoreJson, Wallet } from 'ethers';
import type { ApprovalRequestView, ErrorCode, GuardianRegistry, RequestFileExport, SoftwareKeyCreated } from '../../preload/contract';
import { enrolThree, guardianFixture } from '../support/guardians';
import { TRUSTED } from '../support/services';
import { tempDir } from '../support/temp-dir';

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const KEY_PASSPHRASE = 'orchid tundra beacon willow 88';

describe('software guardian key files', () => {
  it('writes the encrypted keystore only to the chosen removable medium, keeps no copy, enrols with it, and keeps the passphrase out of every answer', async () => {
    const f = await guardianFixture();
    const medium = tempDir('vaultkeeper-medium-');
    const created = await f.services.router.dispatch('guardians.createSoftwareKey', { passphrase: KEY_PASSPHRASE, confirmation: KEY_PASSPHRASE, targetFolder: medium.path }, TRUSTED);
    assert.ok(created.ok, JSON.stringify(created));
    const { address, path } = created.value as SoftwareKeyCreated;
    assert.ok(path.startsWith(medium.path), 'the key file is on the medium');
    const json = readFileSync(path, 'utf8');
    assert.ok(isKeystoreJson(json));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(!JSON.stringify(created).includes(KEY_PASSPHRASE));
    // No keystore anywhere under the data folder (database and WAL included).
    const ciphertext = (JSON.parse(json) as { Crypto: { ciphertext: string } }).Crypto.ciphertext;
    assert.match(ciphertext, /^[0-9a-f]{64}$/);
    for (const file of filesUnder(f.services.dataDir)) {
      const content = readFileSync(file).toString('latin1');
      assert.ok(!isKeystoreJson(content), `${file} is no keystore`);
      assert.ok(!content.includes(ciphertext), `no key ciphertext in ${file}`);
    }
    assert.equal(f.services.audit.list({ type: 'GUARDIAN_KEY_FILE_CREATED' }).entries[0]?.details.copyKept, false);
    medium.cleanup();

    const wrong = await f.services.router.dispatch('guardians.enrol', { method: 'software', name: 'Kim', keyFile: json, passphrase: 'not the key passphrase' }, TRUSTED);
    assert.equal(!wrong.ok && wrong.error.code, 'KEYFILE_WRONG_PASSPHRASE');
    assert.ok(!JSON.stringify(wrong).includes('not the key passphrase'));
    const garbage = await f.services.router.dispatch('guardians.enrol', { method: 'software', name: 'Kim', keyFile: JSON.stringify({ hello: 'x'.repeat(60) }), passphrase: KEY_PASSPHRASE }, TRUSTED);
    assert.equal(!garbage.ok && garbage.error.code, 'KEYFILE_INVALID');

    const enrolled = await f.services.router.dispatch('guardians.enrol', { method: 'software', name: 'Kim', keyFile: json, passphrase: KEY_PASSPHRASE }, TRUSTED);
    assert.ok(enrolled.ok);
    assert.equal((enrolled.value as GuardianRegistry).guardians[0]?.address, address);
    const log = JSON.stringify(f.services.audit.list({ limit: 500 }).entries);
    assert.ok(!log.includes(KEY_PASSPHRASE));
    await f.cleanup();
  });
});

const BAD: Array<[string, string, unknown, ErrorCode]> = [
  ['unknown enrol method', 'guardians.enrol', { method: 'yubikey', name: 'X' }, 'VALIDATION_FAILED'],
  ['empty guardian name', 'guardians.enrol', { method: 'ledger', name: '  ' }, 'VALIDATION_FAILED'],
  ['non-Ethereum derivation path', 'guardians.enrol', { method: 'ledger', name: 'L', derivationPath: "44'/0'/0'/0/0" }, 'VALIDATION_FAILED'],
  ['extra field on enrol', 'guardians.enrol', { method: 'ledger', name: 'L', admin: true }, 'VALIDATION_FAILED'],
  ['request id that is not an id', 'approvals.signWithLedger', { requestId: '../../etc', guardianId: 'abcdef12', decision: 'approve' }, 'VALIDATION_FAILED'],
  ['Ledger signature without the hash shown on screen', 'approvals.signWithLedger', { requestId: 'abcdef12', guardianId: 'abcdef12', decision: 'approve' }, 'VALIDATION_FAILED'],
  ['shown message hash that is not 32 bytes', 'approvals.signWithLedger', { requestId: 'abcdef12', guardianId: 'abcdef12', decision: 'approve', shownMessageHash: '0x1234' }, 'VALIDATION_FAILED'],
  ['decision outside the enum', 'approvals.signWithKeyFile', { requestId: 'abcdef12', keyFile: 'x'.repeat(60), passphrase: 'p', decision: 'maybe' }, 'VALIDATION_FAILED'],
  ['request lifetime too short', 'approvals.requestPassphraseChange', { reason: 'r', ttlMinutes: 1 }, 'VALIDATION_FAILED'],
  ['missing reason', 'approvals.requestPassphraseChange', {}, 'VALIDATION_FAILED'],
  ['oversize approval file', 'approvals.importApproval', { fileText: 'x'.repeat(20_000) }, 'VALIDATION_FAILED'],
  ['oversize key file as requester signer', 'approvals.requestPassphraseChange', { reason: 'r', requester: { as: 'guardian', guardianId: 'abcdef12', signer: { method: 'software', keyFile: 'x'.repeat(20_000), passphrase: 'p' } } }, 'VALIDATION_FAILED'],
  ['self-declared requester id', 'approvals.requestPassphraseChange', { reason: 'r', requesterGuardianId: 'abcdef12' }, 'VALIDATION_FAILED'],
  ['key folder path too long', 'guardians.createSoftwareKey', { passphrase: 'p', confirmation: 'p', targetFolder: `/${'a'.repeat(5000)}` }, 'VALIDATION_FAILED'],
  ['key file without a target folder', 'guardians.createSoftwareKey', { passphrase: 'p', confirmation: 'p' }, 'VALIDATION_FAILED'],
  ['passphrase change without confirmation', 'approvals.executePassphraseChange', { requestId: 'abcdef12', currentPassphrase: 'a', newPassphrase: 'b' }, 'VALIDATION_FAILED'],
];

describe('where a new guardian key may be written', () => {
  it('refuses the data folder, anything inside it (also through a link), a missing folder and a file', async () => {
    const f = await guardianFixture();
    const medium = tempDir('vaultkeeper-medium-');
    const inside = join(f.services.dataDir, 'keys');
    mkdirSync(inside);
    const link = join(medium.path, 'looks-like-medium');
    symlinkSync(inside, link);
    const cases: Array<[string, string, RegExp]> = [
      ['the data folder', f.services.dataDir, /inside this console's data folder/],
      ['a folder inside the data folder', inside, /inside this console's data folder/],
      ['a link on the medium into the data folder', link, /inside this console's data folder/],
      ['a folder that does not exist', join(medium.path, 'missing'), /does not exist/],
      ['a file, not a folder', join(f.services.dataDir, 'vaultkeeper.sqlite3'), /not a folder/],
    ];
    for (const [what, targetFolder, message] of cases) {
      const result = await f.services.router.dispatch('guardians.createSoftwareKey', { passphrase: KEY_PASSPHRASE, confirmation: KEY_PASSPHRASE, targetFolder }, TRUSTED);
      assert.equal(!result.ok && result.error.code, 'KEY_FOLDER_REFUSED', what);
      assert.match(!result.ok ? result.error.message : '', message, what);
    }
    const relative = await f.services.router.dispatch('guardians.createSoftwareKey', { passphrase: KEY_PASSPHRASE, confirmation: KEY_PASSPHRASE, targetFolder: 'keys' }, TRUSTED);
    assert.equal(!relative.ok && relative.error.code, 'VALIDATION_FAILED');
    assert.ok(!filesUnder(f.services.dataDir).some((file) => file.endsWith('.json')), 'no key file was written anywhere in the data folder');
    assert.equal(f.services.audit.list({ type: 'GUARDIAN_KEY_FILE_CREATED' }).total, 0);
    medium.cleanup();
    await f.cleanup();
  });
});

describe('guardian and approval channels', () => {
  it('answers each bad request with its code and writes nothing', async () => {
    const f = await guardianFixture();
    const before = f.services.audit.list().total;
    for (const [what, channel, payload, code] of BAD) {
      const result = await f.services.router.dispatch(channel, payload, TRUSTED);
      assert.equal(!result.ok && result.error.code, code, what);
    }
    assert.equal(f.services.audit.list().total, before);
    assert.equal(f.services.guardians.registry().guardians.length, 0);
    await f.cleanup();
  });

  it('refuses everything while the vault is locked', async () => {
    const f = await guardianFixture();
    await f.services.vault.lock();
    for (const channel of ['guardians.list', 'approvals.list']) {
      const result = await f.services.router.dispatch(channel, {}, TRUSTED);
      assert.equal(!result.ok && result.error.code, 'VAULT_LOCKED', channel);
    }
    await f.cleanup();
  });

  it('runs a remote approval end to end: request → request file + QR → approval file → quorum', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const send = async <T>(channel: string, payload: unknown): Promise<T> => {
      const result = await f.services.router.dispatch(channel, payload, TRUSTED);
      assert.ok(result.ok, JSON.stringify(result));
      return result.value as T;
    };
    const request = await send<ApprovalRequestView>('approvals.requestPassphraseChange', { reason: 'suspected shoulder surfing', requester: { as: 'operator', vaultPassphrase: 'correct horse battery staple orbit' }, ttlMinutes: 30 });
    const exported = await send<RequestFileExport>('approvals.exportRequest', { requestId: request.id });
    assert.match(exported.qrDataUrl, /^data:image\/png;base64,/);
    assert.equal(readFileSync(exported.path, 'utf8'), exported.json);
    const file = JSON.parse(exported.json) as { typedData: { domain: Record<string, unknown>; types: Record<string, Array<{ name: string; type: string }>>; message: Record<string, unknown> } };
    assert.ok(JSON.stringify(file).includes('suspected shoulder surfing'));
    // The remote guardian signs with an ordinary wallet, from the file alone.
    const { EIP712Domain: _domain, ...types } = file.typedData.types;
    const wallet = sam.wallet as Wallet;
    const signature = await wallet.signTypedData(file.typedData.domain, types, file.typedData.message);
    const afterImport = await send<ApprovalRequestView>('approvals.importApproval', { fileText: JSON.stringify({ format: 'vaultkeeper.approval/1', message: file.typedData.message, signature }) });
    assert.deepEqual(afterImport.approvals.map((a) => [a.guardianName, a.via]), [['Sam', 'file']]);
    // The Ledger signs only the message hash the operator was shown with the request.
    assert.ok(afterImport.ledger);
    await send('approvals.signWithLedger', { requestId: request.id, guardianId: lena.id, decision: 'approve', shownMessageHash: afterImport.ledger.messageHash.approve });
    const changed = await send<{ requestId: string }>('approvals.executePassphraseChange', {
      requestId: request.id, currentPassphrase: 'correct horse battery staple orbit', newPassphrase: 'saffron glacier pivot meadow lark', confirmation: 'saffron glacier pivot meadow lark',
    });
    assert.equal(changed.requestId, request.id);
    const list = await send<{ pending: unknown[]; history: ApprovalRequestView[] }>('approvals.list', {});
    assert.equal(list.pending.length, 0);
    assert.equal(list.history[0]?.status, 'executed');
    await f.cleanup();
  });
});
