import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_REQUEST_BYTES, type ErrorCode } from '../../preload/contract';
import { expectLog } from '../support/expected-log';
import { GOOD_PASSPHRASE, testServices, TRUSTED } from '../support/services';

/** Each bad request, the code it must get back, and — by the end — an unchanged store. */
const BAD_REQUESTS: Array<[string, unknown, unknown, ErrorCode]> = [
  ['unknown channel', 'vault.destroy', {}, 'UNKNOWN_CHANNEL'],
  ['channel that is not a string', 42, {}, 'UNKNOWN_CHANNEL'],
  ['prototype key as channel', '__proto__', {}, 'UNKNOWN_CHANNEL'],
  ['missing field', 'vault.create', { passphrase: GOOD_PASSPHRASE }, 'VALIDATION_FAILED'],
  ['wrong type', 'vault.create', { passphrase: 1234, confirmation: 1234 }, 'VALIDATION_FAILED'],
  ['unknown field', 'vault.create', { passphrase: GOOD_PASSPHRASE, confirmation: GOOD_PASSPHRASE, admin: true }, 'VALIDATION_FAILED'],
  ['oversize string', 'vault.create', { passphrase: 'x'.repeat(1025), confirmation: 'x'.repeat(1025) }, 'VALIDATION_FAILED'],
  ['empty passphrase', 'vault.unlock', { passphrase: '' }, 'VALIDATION_FAILED'],
  ['array instead of object', 'vault.unlock', [GOOD_PASSPHRASE], 'VALIDATION_FAILED'],
  ['malformed event type', 'audit.list', { type: "x'; DROP TABLE audit_log; --" }, 'VALIDATION_FAILED'],
  ['negative offset', 'audit.list', { offset: -1 }, 'VALIDATION_FAILED'],
  ['fractional limit', 'audit.list', { limit: 1.5 }, 'VALIDATION_FAILED'],
  ['huge limit', 'audit.list', { limit: 10_000 }, 'VALIDATION_FAILED'],
  ['payload over the size limit', 'audit.list', { text: 'y'.repeat(MAX_REQUEST_BYTES) }, 'PAYLOAD_TOO_LARGE'],
  ['payload with a cycle', 'vault.lock', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })(), 'VALIDATION_FAILED'],
];

describe('IPC router validation', () => {
  it('answers each bad request with its code and leaves the store unchanged', async () => {
    const s = testServices();
    for (const [what, channel, payload, code] of BAD_REQUESTS) {
      const result = await s.router.dispatch(channel, payload, TRUSTED);
      assert.equal(result.ok, false, what);
      assert.equal(!result.ok && result.error.code, code, what);
      assert.ok(!result.ok && result.error.message.length > 10, `${what}: has a human message`);
    }
    assert.equal(s.vault.status().state, 'uninitialized');
    assert.equal(s.audit.list().total, 0);
    await s.cleanup();
  });

  it('names the offending field', async () => {
    const s = testServices();
    const unknown = await s.router.dispatch('vault.create', { passphrase: 'a', confirmation: 'a', admin: true }, TRUSTED);
    assert.equal(!unknown.ok && unknown.error.details?.field, 'admin');
    const wrongType = await s.router.dispatch('vault.unlock', { passphrase: 5 }, TRUSTED);
    assert.equal(!wrongType.ok && wrongType.error.details?.field, 'passphrase');
    await s.cleanup();
  });

  it('refuses a foreign sender before validating or running anything', async () => {
    const s = testServices();
    const result = await s.router.dispatch('vault.create', { passphrase: GOOD_PASSPHRASE, confirmation: GOOD_PASSPHRASE }, { trustedSender: false, senderDescription: 'https://evil.example' });
    assert.equal(!result.ok && result.error.code, 'FORBIDDEN_SENDER');
    assert.equal(s.vault.status().state, 'uninitialized');
    await s.cleanup();
  });

  it('runs a valid request and maps domain failures to values', async () => {
    const s = testServices();
    const created = await s.router.dispatch('vault.create', { passphrase: GOOD_PASSPHRASE, confirmation: GOOD_PASSPHRASE }, TRUSTED);
    assert.equal(created.ok && (created.value as { state: string }).state, 'unlocked');
    await s.router.dispatch('vault.lock', {}, TRUSTED);
    const locked = await s.router.dispatch('audit.list', {}, TRUSTED);
    assert.equal(!locked.ok && locked.error.code, 'VAULT_LOCKED');
    const wrong = await s.router.dispatch('vault.unlock', { passphrase: 'nope nope nope' }, TRUSTED);
    assert.equal(!wrong.ok && wrong.error.code, 'WRONG_PASSPHRASE');
    await s.cleanup();
  });

  it('hides the text of unexpected errors', async (t) => {
    expectLog(t, /internal error on audit\.list: SqliteError/);
    const s = testServices();
    await s.router.dispatch('vault.create', { passphrase: GOOD_PASSPHRASE, confirmation: GOOD_PASSPHRASE }, TRUSTED);
    s.db.exec('DROP TABLE audit_log');
    const result = await s.router.dispatch('audit.list', {}, TRUSTED);
    assert.equal(!result.ok && result.error.code, 'INTERNAL');
    assert.doesNotMatch(!result.ok ? result.error.message : '', /audit_log|SQLITE/);
    await s.cleanup();
  });
});
