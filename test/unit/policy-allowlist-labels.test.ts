/**
 * Allowlist labels: a person's name for an allowlisted destination, carried in the keyset's policy
 * (so it changes only with the guardians' approval, like the allowlist), shown on the review
 * screen beside the address. A label can only name a listed address and cannot pass for an address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEvmTransfer } from '../../main/chains/build';
import { reviewTransaction } from '../../main/chains/review';
import { AppFailure } from '../../main/errors';
import { compilePolicy } from '../../main/policy/policy-store';
import { keysetPolicy } from '../../preload/channels/policy';
import { ALICE, EVM_KEYSET, MALLORY, evmPolicy } from '../support/permits';

const review = (to: string, labels: Record<string, string>) =>
  reviewTransaction({ kind: 'evm', chainId: 1 }, buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 0, to, amount: 10n ** 18n }), {
    keysetId: EVM_KEYSET,
    keysetAddress: null,
    policy: compilePolicy(evmPolicy({ allowlist: [ALICE, MALLORY.toUpperCase().replace('0X', '0x')], allowlistLabels: labels }), 0),
  }).transfers[0]!;

describe('allowlist labels', () => {
  it('the review names an allowlisted destination by its label, beside the address and the allowlist mark', () => {
    const t = review(ALICE, { [ALICE]: 'Treasury cold wallet' });
    assert.equal(t.destination.toLowerCase(), ALICE);
    assert.equal(t.allowlistName, 'Treasury cold wallet');
    assert.equal(t.allowlistLabel, `on the allowlist of keyset ${EVM_KEYSET}`);
    // Listed without a label: no name is made up.
    assert.equal(review(MALLORY, { [ALICE]: 'Treasury cold wallet' }).allowlistName, null);
  });

  it('refuses a label for an address that is not on the allowlist', () => {
    const stranger = '0x7777777777777777777777777777777777777777';
    assert.throws(
      () => compilePolicy(evmPolicy({ allowlistLabels: { [stranger]: 'Payroll' } }), 0),
      (e: unknown) => e instanceof AppFailure && e.code === 'POLICY_INVALID' && /names an address that is not on the allowlist/.test(e.message),
    );
  });

  it('refuses a label that could pass for an address, or carries control or direction-changing characters', () => {
    for (const label of ['0x1111…1111', `send to ${'9'.repeat(30)}`, 'Treasury\u202e', 'line\nbreak', 'x'.repeat(49)]) {
      const parsed = keysetPolicy.safeParse(evmPolicy({ allowlistLabels: { [ALICE]: label } }));
      assert.equal(parsed.success, false, label);
    }
    assert.equal(keysetPolicy.safeParse(evmPolicy({ allowlistLabels: { [ALICE]: 'Exchange hot wallet (Kraken)' } })).success, true);
  });
});
