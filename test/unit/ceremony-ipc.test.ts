/** The ceremony channels at the IPC boundary: validated, bounded, typed errors, no partial writes. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findChromium } from '../../main/platform/pdf-printer';
import { TRUSTED } from '../support/services';
import { ceremonyFixture, type CeremonyFixture } from '../support/ceremony';

describe('ceremony IPC channels', () => {
  let f: CeremonyFixture;
  before(async () => {
    f = await ceremonyFixture();
  });
  after(async () => f.cleanup());

  const dispatch = (channel: string, payload: unknown) => f.services.router.dispatch(channel, payload, TRUSTED);

  it('refuses malformed, oversized and extra-field requests before any handler runs', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['ceremony.start', { requestId: 'not an id!' }, 'VALIDATION_FAILED'],
      ['ceremony.requestStart', { mode: 'paper', label: 'x' }, 'VALIDATION_FAILED'],
      ['ceremony.requestStart', { mode: 'console', label: 'x', userWallets: 255 }, 'VALIDATION_FAILED'],
      ['ceremony.recoveryShare', { recoveryId: '0123abcd-0000', words: 'word '.repeat(200) }, 'VALIDATION_FAILED'],
      ['ceremony.recoveryReveal', { recoveryId: '0123abcd-0000', revealToken: 'short' }, 'VALIDATION_FAILED'],
      ['ceremony.checkTranscription', { ceremonyId: '0123abcd-0000', answers: { x: 'word' } }, 'VALIDATION_FAILED'],
      ['ceremony.coldRequest', { ceremonyId: '0123abcd-0000', to: '0x12', valueWei: '1', chainId: 1, nonce: 0, gasLimit: '21000', maxFeePerGas: '1', maxPriorityFeePerGas: '1', reason: 'r' }, 'VALIDATION_FAILED'],
      ['ceremony.coldRequest', { ceremonyId: '0123abcd-0000', to: `0x${'11'.repeat(20)}`, valueWei: '-1', chainId: 1, nonce: 0, gasLimit: '21000', maxFeePerGas: '1', maxPriorityFeePerGas: '1', reason: 'r' }, 'VALIDATION_FAILED'],
      ['ceremony.list', { extra: true }, 'VALIDATION_FAILED'],
      ['ceremony.recoveryShare', { recoveryId: '0123abcd-0000', words: 'x'.repeat(70_000) }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [channel, payload, expected] of cases) {
      const result = await dispatch(channel, payload);
      assert.equal(result.ok, false, channel);
      if (!result.ok) assert.equal(result.error.code, expected, `${channel}: ${result.error.message}`);
    }
    assert.equal((f.services.db.prepare('SELECT count(*) AS n FROM ceremonies').get() as { n: number }).n, 0);
  });

  it('"Save as PDF" on a console with no PDF printer answers PDF_UNAVAILABLE, pointing to Print; nothing written or audited', async () => {
    assert.equal(findChromium('/nonexistent/chromium'), null, 'a named browser engine that is not there gives no printer');
    assert.equal(f.services.ceremony.certificates.available, false);
    const auditBefore = f.services.audit.list({ limit: 1 }).total;
    const result = await dispatch('ceremony.saveCertificatePdf', { ceremonyId: '0123abcd-0000-0000' });
    assert.ok(!result.ok && result.error.code === 'PDF_UNAVAILABLE', JSON.stringify(result));
    assert.match(result.error.message, /no PDF printer .* Use Print and choose "Save as PDF"/);
    assert.equal(existsSync(join(dirname(f.services.db.name), 'exports')), false, 'no exports folder');
    assert.equal(f.services.audit.list({ limit: 1 }).total, auditBefore, 'no audit entry');
  });

  it('answers unknown ids with a sentence, and a locked vault with VAULT_LOCKED', async () => {
    const missing = await dispatch('ceremony.certificate', { ceremonyId: '0123abcd-0000-0000' });
    assert.ok(!missing.ok && missing.error.code === 'CEREMONY_NOT_FOUND' && /no ceremony/.test(missing.error.message));
    const recovery = await dispatch('ceremony.recoveryShare', { recoveryId: '0123abcd-0000-0000', words: 'abandon' });
    assert.ok(!recovery.ok && recovery.error.code === 'RECOVERY_NOT_FOUND');
    await f.services.vault.lock('operator');
    const locked = await dispatch('ceremony.list', {});
    assert.ok(!locked.ok && locked.error.code === 'VAULT_LOCKED', JSON.stringify(locked));
  });
});
