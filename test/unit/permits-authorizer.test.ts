/**
 * The signing authorization at one node, row by row of issue 8's attack table: every refusal
 * has its own code and sentence, is audited, and writes nothing else; the happy paths commit
 * single use, counters and the acceptance audit row together.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Keypair } from '@solana/web3.js';
import { associatedTokenAccount, buildSolanaTransfer } from '../../main/chains/build';
import { KEY_CHECK_PREFIX, type SignDecision, type SignRequestFacts } from '../../main/cluster/sign-authorization';
import { AppFailure } from '../../main/errors';
import { generateIssuerKey, signPermit } from '../../main/permits/issuer-keys';
import { PermitApprovals } from '../../main/permits/permit-approvals';
import {
  ALICE, BLOCKHASH, EVM_KEYSET, FIXTURE_PASSPHRASE, evmPayload, evmPolicy, factsFor, LAB_KEYSET, MALLORY, permitFixture, permitFor, SOL_KEYSET, solPayload, USDC, type PermitFixture,
} from '../support/permits';

let fixtures: PermitFixture[] = [];
function fixture(): PermitFixture {
  const f = permitFixture();
  fixtures.push(f);
  return f;
}
afterEach(() => {
  for (const f of fixtures) f.cleanup();
  fixtures = [];
});

function accepted(decision: SignDecision): Extract<SignDecision, { ok: true }> {
  assert.ok(decision.ok, decision.ok ? '' : `${decision.code}: ${decision.message}`);
  return decision;
}

function refused(f: PermitFixture, facts: SignRequestFacts, code: string, pattern?: RegExp): string {
  const before = stateRows(f);
  const decision = f.authorizer.authorize(facts);
  assert.equal(decision.ok, false, `expected ${code}, was accepted`);
  if (decision.ok) return '';
  assert.equal(decision.code, code, decision.message);
  if (pattern) assert.match(decision.message, pattern);
  const last = f.audit.list({ type: 'SIGN_PERMIT_REJECTED', limit: 1 }).entries[0];
  assert.equal(last?.details.code, code, 'the refusal is audited with its code');
  assert.equal(last?.details.reason, decision.message);
  assert.deepEqual(stateRows(f), before, 'a refusal writes nothing but its audit row');
  return decision.message;
}

function stateRows(f: PermitFixture): unknown {
  return {
    spent: f.db.prepare('SELECT * FROM permits_spent ORDER BY permit_id').all(),
    cosigned: f.db.prepare('SELECT * FROM cosigned_amounts ORDER BY id').all(),
  };
}

/** An EVM permit approved by the person at this node. */
function approvedEvm(f: PermitFixture, payloadOverrides = {}, issueOverrides = {}) {
  const signed = permitFor(f, evmPayload(payloadOverrides), issueOverrides);
  f.permits.approvePermit(signed.permit.permitId);
  return signed;
}

describe('PermitAuthorizer: happy paths', () => {
  it('EVM EIP-1559 approved at this node: accepted, commit records single use, counters and SIGN_PERMIT_ACCEPTED', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    const decision = accepted(f.authorizer.authorize(factsFor(f, signed)));
    assert.equal(decision.kind, 'permit');
    assert.equal(decision.permitId, signed.permit.permitId);
    assert.equal((f.db.prepare('SELECT count(*) AS n FROM permits_spent').get() as { n: number }).n, 0, 'authorize writes nothing');
    decision.commit();
    const spent = f.db.prepare('SELECT * FROM permits_spent').all() as Array<{ permit_id: string; tx_hash: string }>;
    assert.deepEqual(spent.map((r) => [r.permit_id, r.tx_hash]), [[signed.permit.permitId, signed.permit.txHash]]);
    const row = f.audit.list({ type: 'SIGN_PERMIT_ACCEPTED' }).entries[0]!;
    assert.equal(row.subject, signed.permit.permitId);
    assert.match(String(row.details.transaction), /^send 1 ETH to 0x1111…1111$/);
    assert.equal(row.details.approvedBy, 'a person at this node');
    assert.equal(f.policy.overview().policies.find((p) => p.keysetId === EVM_KEYSET)?.cosignedLast24h.native, '1 ETH');
  });

  it('legacy EIP-155 and ERC-20 transfers are accepted', () => {
    const f = fixture();
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { type: 'legacy', chainId: 1, nonce: 1 })))).commit();
    const erc20 = approvedEvm(f, { type: 'erc20', token: USDC, amount: 2_000_000_000n, nonce: 2 });
    accepted(f.authorizer.authorize(factsFor(f, erc20))).commit();
    assert.match(String(f.audit.list({ type: 'SIGN_PERMIT_ACCEPTED', limit: 1 }).entries[0]!.details.transaction), /send 2,000 USDC to 0x1111/);
  });

  it('Solana SOL transfer under an active execution authorization (a headless node, nobody at the console)', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: { keysetId: SOL_KEYSET, destinations: [f.solana.recipient], assets: { native: { perTxMax: '5', dailyCap: '10' } }, validForMinutes: 60 } }] }, false, 'test');
    const signed = permitFor(f, solPayload(f));
    const decision = accepted(f.authorizer.authorize(factsFor(f, signed)));
    decision.commit();
    assert.match(String(f.audit.list({ type: 'SIGN_PERMIT_ACCEPTED', limit: 1 }).entries[0]!.details.approvedBy), /^execution authorization /);
  });

  it('a key check for this keyset needs no permit, passes under the kill switch, and is audited at commit', () => {
    const f = fixture();
    f.policy.engageKillSwitch('incident drill');
    const message = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${KEY_CHECK_PREFIX}\u0000${EVM_KEYSET}\u0000key-check\u0000`), Buffer.alloc(16, 7)]);
    const decision = accepted(f.authorizer.authorize(factsFor(f, undefined, { message })));
    assert.equal(decision.kind, 'key-check');
    decision.commit();
    assert.equal(f.audit.list({ type: 'SIGN_KEY_CHECK_ACCEPTED' }).total, 1);
    const other = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${KEY_CHECK_PREFIX}\u0000other-keyset\u0000drill\u0000`), Buffer.alloc(16, 7)]);
    refused(f, factsFor(f, undefined, { message: other }), 'KEY_CHECK_KEYSET_MISMATCH');
    refused(f, factsFor(f, undefined, { message: Buffer.concat([message, Buffer.from([1])]) }), 'PERMIT_MALFORMED', /key check/);
  });
});

describe('PermitAuthorizer: the permit itself', () => {
  it('no permit: refused (a caller digest is never signed without one)', () => {
    const f = fixture();
    refused(f, factsFor(f, undefined, { message: Buffer.from('any digest at all') }), 'PERMIT_MISSING', /without a SigningPermit/);
  });

  it('malformed and oversized permits are refused', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    refused(f, factsFor(f, signed, { permit: { ...signed, permit: { ...signed.permit, version: 2 } } }), 'PERMIT_MALFORMED', /version/);
    refused(f, factsFor(f, signed, { permit: { ...signed, extra: 'x'.repeat(30_000) } }), 'PERMIT_MALFORMED', /bytes/);
    refused(f, factsFor(f, signed, { permit: 'a string' }), 'PERMIT_MALFORMED');
  });

  it('a permit that expires before it is issued is malformed', () => {
    const f = fixture();
    const good = approvedEvm(f);
    const backwards = signPermit({ ...good.permit, expiresAt: good.permit.issuedAt - 1 }, f.issuer.secretKey);
    refused(f, factsFor(f, backwards), 'PERMIT_MALFORMED', /expires before it is issued/);
  });

  it('unknown issuer and forged signature have different codes', () => {
    const f = fixture();
    const stranger = generateIssuerKey();
    const unknown = permitFor(f, evmPayload(), {}, stranger);
    f.permits.approvePermit(unknown.permit.permitId);
    refused(f, factsFor(f, unknown), 'PERMIT_ISSUER_UNKNOWN', /not a trusted issuer/);
    // A stranger's signature presented under the trusted issuer's key: a forgery.
    const forged = { ...unknown, issuerKey: f.issuer.publicKey.toString('hex') };
    refused(f, factsFor(f, forged), 'PERMIT_SIGNATURE_INVALID', /forged or changed/);
  });

  it('a payload tampered after issuing breaks the signature', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    const tampered = { ...signed, permit: { ...signed.permit, payload: evmPayload({ to: MALLORY }) } };
    refused(f, factsFor(f, signed, { permit: tampered }), 'PERMIT_SIGNATURE_INVALID');
  });

  it('a tx hash that does not match the payload is refused even when the issuer signed it', () => {
    const f = fixture();
    const good = approvedEvm(f);
    const other = permitFor(f, evmPayload({ to: MALLORY }));
    const lying = signPermit({ ...good.permit, txHash: other.permit.txHash }, f.issuer.secretKey);
    refused(f, factsFor(f, lying, { message: factsFor(f, good).message }), 'PERMIT_TX_HASH_MISMATCH', /does not match its payload/);
  });

  it('lab issuer for a production keyset, and production issuer for a lab keyset: refused', () => {
    const f = fixture();
    const fromLab = permitFor(f, evmPayload(), {}, f.labIssuer);
    f.permits.approvePermit(fromLab.permit.permitId);
    refused(f, factsFor(f, fromLab), 'PERMIT_LAB_MISMATCH', /lab keysets only/);
    const forLab = permitFor(f, evmPayload(), { keysetId: LAB_KEYSET });
    f.permits.approvePermit(forLab.permit.permitId);
    refused(f, factsFor(f, forLab, { keysetLab: true }), 'PERMIT_LAB_MISMATCH', /accepts only lab issuers/);
    const labOk = permitFor(f, evmPayload(), { keysetId: LAB_KEYSET }, f.labIssuer);
    f.permits.approvePermit(labOk.permit.permitId);
    accepted(f.authorizer.authorize(factsFor(f, labOk, { keysetLab: true })));
  });

  it('expired: "expired 4 min ago"', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    f.clock.advance(60_000 + 4 * 60_000);
    refused(f, factsFor(f, signed), 'PERMIT_EXPIRED', /expired 4 min ago/);
  });

  it('future-dated beyond 5 s of skew is refused; within it is accepted', () => {
    const f = fixture();
    const far = approvedEvm(f, {}, { issuedAt: f.clock.now() + 6_000 });
    refused(f, factsFor(f, far), 'PERMIT_NOT_YET_VALID', /in the future/);
    const near = approvedEvm(f, { nonce: 1 }, { issuedAt: f.clock.now() + 4_000 });
    accepted(f.authorizer.authorize(factsFor(f, near)));
  });

  it('a TTL longer than the keyset accepts is refused', () => {
    const f = fixture();
    refused(f, factsFor(f, approvedEvm(f, {}, { ttlSeconds: 61 })), 'PERMIT_TTL_TOO_LONG', /at most 1 min/);
  });

  it('a permit for another keyset is refused', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    refused(f, factsFor(f, signed, { keysetId: 'ks-evm-2' }), 'PERMIT_KEYSET_MISMATCH', /is for keyset ks-evm-1/);
  });

  it('chain mismatch: a Solana permit on an ECDSA keyset, and an EVM transaction for another chain id', () => {
    const f = fixture();
    const sol = permitFor(f, solPayload(f), { keysetId: EVM_KEYSET });
    f.permits.approvePermit(sol.permit.permitId);
    refused(f, factsFor(f, sol, { scheme: 'ecdsa', keysetId: EVM_KEYSET }), 'PERMIT_CHAIN_MISMATCH', /EDDSA/);
    const wrongChain = approvedEvm(f, { chainId: 5 }, { chain: { kind: 'evm', chainId: 1 } });
    refused(f, factsFor(f, wrongChain), 'PERMIT_CHAIN_MISMATCH', /chain 5/);
  });

  it('the bytes to sign must be exactly the permitted transaction', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    refused(f, factsFor(f, signed, { message: Buffer.from(evmPayload({ to: MALLORY }).slice(2), 'hex') }), 'PERMIT_MESSAGE_MISMATCH', /exactly the permitted transaction/);
  });

  it('a Solana transfer of funds that are not the keyset\'s is refused', () => {
    const f = fixture();
    const someoneElse = Keypair.generate().publicKey.toBase58();
    const signed = permitFor(f, buildSolanaTransfer({ type: 'sol', from: someoneElse, to: f.solana.recipient, amount: 1n, recentBlockhash: BLOCKHASH }));
    f.permits.approvePermit(signed.permit.permitId);
    refused(f, factsFor(f, signed), 'PERMIT_SOURCE_MISMATCH', /moves funds of/);
  });

  it('controls snapshot: KYT, policy and approvals must have passed', () => {
    const f = fixture();
    const base = { kyt: 'pass' as const, policy: 'pass' as const, approvals: { who: ['a', 'b'], count: 2, required: 2 } };
    refused(f, factsFor(f, approvedEvm(f, {}, { controls: { ...base, kyt: 'review' } })), 'PERMIT_CONTROLS_FAILED', /KYT/);
    refused(f, factsFor(f, approvedEvm(f, {}, { controls: { ...base, policy: 'fail' } })), 'PERMIT_CONTROLS_FAILED', /policy result/);
    refused(f, factsFor(f, approvedEvm(f, {}, { controls: { ...base, approvals: { who: ['a'], count: 1, required: 2 } } })), 'PERMIT_CONTROLS_FAILED', /1 of 2/);
    refused(f, factsFor(f, approvedEvm(f, {}, { controls: { ...base, approvals: { who: ['a', 'a'], count: 2, required: 2 } } })), 'PERMIT_CONTROLS_FAILED', /distinct/);
  });
});

describe('PermitAuthorizer: single use', () => {
  it('a replayed permit and a replayed tx hash are refused, also after reopening the database', () => {
    let f = fixture();
    const signed = approvedEvm(f);
    accepted(f.authorizer.authorize(factsFor(f, signed))).commit();
    refused(f, factsFor(f, signed), 'PERMIT_ALREADY_USED', /already used/);
    const sameTx = approvedEvm(f);
    assert.equal(sameTx.permit.txHash, signed.permit.txHash);
    refused(f, factsFor(f, sameTx), 'PERMIT_TX_ALREADY_SIGNED', /signed once only/);
    f = f.reopen();
    fixtures.push(f);
    refused(f, factsFor(f, signed), 'PERMIT_ALREADY_USED');
    refused(f, factsFor(f, sameTx), 'PERMIT_TX_ALREADY_SIGNED');
    assert.throws(() => f.db.prepare('DELETE FROM permits_spent').run(), /append-only/);
  });

  it('commit race: two sessions authorized for one permit, only the first commit succeeds', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    const first = accepted(f.authorizer.authorize(factsFor(f, signed)));
    const second = accepted(f.authorizer.authorize(factsFor(f, signed)));
    first.commit();
    const before = stateRows(f);
    assert.throws(() => second.commit(), (e: unknown) => e instanceof AppFailure && e.code === 'PERMIT_ALREADY_USED');
    assert.deepEqual(stateRows(f), before, 'the losing commit leaves nothing behind');
    assert.equal(f.audit.list({ type: 'SIGN_PERMIT_ACCEPTED' }).total, 1);
  });

  it('commit re-checks state: the kill switch engaged after authorize stops the commit', () => {
    const f = fixture();
    const decision = accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f))));
    f.policy.engageKillSwitch('suspicious activity');
    assert.throws(() => decision.commit(), (e: unknown) => e instanceof AppFailure && e.code === 'SIGNING_FROZEN');
    assert.equal((f.db.prepare('SELECT count(*) AS n FROM permits_spent').get() as { n: number }).n, 0);
  });
});

describe('PermitAuthorizer: vault policy', () => {
  it('kill switch on: refused with who and why; key checks still pass (above)', () => {
    const f = fixture();
    const signed = approvedEvm(f);
    f.policy.engageKillSwitch('compromise suspected');
    refused(f, factsFor(f, signed), 'SIGNING_FROZEN', /kill switch is on.*compromise suspected/);
  });

  it('no policy for the keyset: refused', () => {
    const f = fixture();
    const signed = approvedEvm(f, {}, { keysetId: 'ks-without-policy' });
    refused(f, factsFor(f, signed), 'POLICY_NOT_SET', /no vault policy/);
  });

  it('destination not on the allowlist', () => {
    const f = fixture();
    refused(f, factsFor(f, approvedEvm(f, { to: MALLORY })), 'POLICY_DESTINATION_NOT_ALLOWED', /0x6666…6666.*not on the allowlist of keyset ks-evm-1/);
  });

  it('an asset the policy does not name is refused', () => {
    const f = fixture();
    const other = '0x2222222222222222222222222222222222222222';
    refused(f, factsFor(f, approvedEvm(f, { type: 'erc20', token: other, amount: 1n })), 'POLICY_ASSET_UNKNOWN');
  });

  it('an SPL transfer whose stated decimals differ from the policy is refused', () => {
    const f = fixture();
    const mintKey = `spl:${f.solana.mint}`;
    const policy = { keysetId: SOL_KEYSET, allowlist: [associatedTokenAccount(f.solana.mint, f.solana.recipient)], assets: { [mintKey]: { symbol: 'USDC', decimals: 6, perTxMax: null, dailyCap: null, guardianApprovalAbove: null } }, dailyCountLimit: null, signingHours: null, permitTtlSeconds: 60 };
    f.policy.applyNodeSetup({ policies: [policy], authorizations: [] }, false, 'test');
    const spl = (decimals: number, nonce: bigint) => buildSolanaTransfer({ type: 'spl', from: f.solana.address, to: f.solana.recipient, amount: 1_000_000n + nonce, recentBlockhash: BLOCKHASH, mint: f.solana.mint, decimals });
    const wrong = permitFor(f, spl(9, 0n));
    f.permits.approvePermit(wrong.permit.permitId);
    refused(f, factsFor(f, wrong), 'POLICY_ASSET_UNKNOWN', /states 9 decimals for USDC/);
    const right = permitFor(f, spl(6, 1n));
    f.permits.approvePermit(right.permit.permitId);
    accepted(f.authorizer.authorize(factsFor(f, right))).commit();
    assert.match(String(f.audit.list({ type: 'SIGN_PERMIT_ACCEPTED', limit: 1 }).entries[0]!.details.transaction), /send 1\.000001 USDC to /);
  });

  it('over the per-transaction maximum', () => {
    const f = fixture();
    refused(f, factsFor(f, approvedEvm(f, { amount: 11n * 10n ** 18n })), 'POLICY_PER_TX_MAX', /moves 11 ETH; the per-transaction maximum of keyset ks-evm-1 is 10 ETH/);
  });

  it('over the daily cap: "daily cap 50,000 USDC: 48,200 already co-signed in the last 24 h"', () => {
    const f = fixture();
    for (const [nonce, amount] of [[1, 9_000n], [2, 9_000n], [3, 9_000n], [4, 9_000n], [5, 9_000n], [6, 3_200n]] as const) {
      accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { type: 'erc20', token: USDC, amount: amount * 10n ** 6n, nonce })))).commit();
    }
    refused(f, factsFor(f, approvedEvm(f, { type: 'erc20', token: USDC, amount: 2_000n * 10n ** 6n, nonce: 7 })), 'POLICY_DAILY_CAP', /Daily cap 50,000 USDC: 48,200 already co-signed in the last 24 h/);
    // Rolling window: a day later the same transfer fits again.
    f.clock.advance(24 * 3600 * 1000 + 1);
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { type: 'erc20', token: USDC, amount: 2_000n * 10n ** 6n, nonce: 8 }))));
  });

  it('over the daily count limit', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [evmPolicy({ dailyCountLimit: 2 })], authorizations: [] }, false, 'test');
    for (const nonce of [1, 2]) accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { nonce, amount: 1n })))).commit();
    refused(f, factsFor(f, approvedEvm(f, { nonce: 3, amount: 1n })), 'POLICY_DAILY_COUNT', /allows 2 signatures in 24 h; this node already co-signed 2/);
  });

  it('outside signing hours (UTC window, also across midnight)', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [evmPolicy({ signingHours: { start: '12:00', end: '18:00' } })], authorizations: [] }, false, 'test');
    refused(f, factsFor(f, approvedEvm(f)), 'POLICY_OUTSIDE_SIGNING_HOURS', /between 12:00 and 18:00 UTC; it is 10:00 UTC now/);
    f.policy.applyNodeSetup({ policies: [evmPolicy({ signingHours: { start: '22:00', end: '11:00' } })], authorizations: [] }, false, 'test');
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { nonce: 1 }))));
  });

  it('above the guardian threshold: refused without the guardians\' approval of that permit, accepted with it', () => {
    const f = fixture();
    const big = approvedEvm(f, { amount: 6n * 10n ** 18n });
    refused(f, factsFor(f, big), 'PERMIT_GUARDIAN_APPROVAL_REQUIRED', /6 ETH is above the guardian threshold of 5 ETH/);
    const p = { permitId: big.permit.permitId, txHash: big.permit.txHash, keysetId: EVM_KEYSET };
    const requestId = f.guard.grant('withdrawal.large', p.permitId, PermitApprovals.guardianParameters(p));
    f.permits.recordGuardianApproval(p, requestId);
    accepted(f.authorizer.authorize(factsFor(f, big))).commit();
  });
});

describe('PermitAuthorizer: who says yes at this node', () => {
  const scope = (destinations: string[], validForMinutes = 60) => ({ keysetId: EVM_KEYSET, destinations, assets: { native: { perTxMax: '2', dailyCap: '3' } }, validForMinutes });

  it('nobody approved and no authorization: refused with the reason the requester shows', () => {
    const f = fixture();
    const signed = permitFor(f, evmPayload());
    refused(f, factsFor(f, signed, { requestedHere: true }), 'SIGNING_NOT_APPROVED_HERE', /No one at this node approved permit .* \(send 1 ETH to 0x1111…1111\), and no execution authorization is active for keyset ks-evm-1\.$/);
  });

  it('an expired execution authorization does not cover', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: scope([ALICE], 60) }] }, false, 'test');
    f.clock.advance(61 * 60_000);
    refused(f, factsFor(f, permitFor(f, evmPayload())), 'SIGNING_NOT_APPROVED_HERE', /expired 1 min ago/);
  });

  it('a revoked execution authorization does not cover, at once', async () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: scope([ALICE]) }] }, false, 'test');
    const signed = permitFor(f, evmPayload());
    accepted(f.authorizer.authorize(factsFor(f, signed)));
    const id = f.policy.overview().executionAuthorizations[0]!.id;
    await f.policy.revokeExecutionAuthorization(id, 'laptop lost', { as: 'operator', vaultPassphrase: FIXTURE_PASSPHRASE });
    refused(f, factsFor(f, signed), 'SIGNING_NOT_APPROVED_HERE', /was revoked 1 s ago by operator \(vault passphrase confirmed\)/);
  });

  it('out of scope: per-tx maximum and daily cap of the authorization', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: scope([ALICE]) }] }, false, 'test');
    refused(f, factsFor(f, permitFor(f, evmPayload({ amount: 3n * 10n ** 18n }))), 'SIGNING_NOT_APPROVED_HERE', /at most 2 ETH per transaction/);
    accepted(f.authorizer.authorize(factsFor(f, permitFor(f, evmPayload({ amount: 2n * 10n ** 18n, nonce: 1 }))))).commit();
    refused(f, factsFor(f, permitFor(f, evmPayload({ amount: 2n * 10n ** 18n, nonce: 2 }))), 'SIGNING_NOT_APPROVED_HERE', /allows 3 ETH in 24 h; 2 already co-signed under it/);
  });

  it('out of scope: a destination the authorization does not name', () => {
    const f = fixture();
    const bob = '0x3333333333333333333333333333333333333333';
    f.policy.applyNodeSetup({ policies: [evmPolicy({ allowlist: [ALICE, bob] })], authorizations: [{ scope: scope([bob]) }] }, false, 'test');
    refused(f, factsFor(f, permitFor(f, evmPayload())), 'SIGNING_NOT_APPROVED_HERE', /does not cover destination 0x1111…1111/);
  });

  it('the kill switch stops execution authorizations too', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: scope([ALICE]) }] }, false, 'test');
    f.policy.engageKillSwitch('freeze');
    refused(f, factsFor(f, permitFor(f, evmPayload())), 'SIGNING_FROZEN');
    assert.equal(f.policy.overview().executionAuthorizations[0]!.state, 'stopped-by-kill-switch');
  });
});

describe('PermitAuthorizer: limits hold at the exact boundary', () => {
  const usdc = (whole: bigint, extraBaseUnits = 0n) => whole * 10n ** 6n + extraBaseUnits;

  it('a permit valid for no time at all is malformed; one valid for exactly the keyset TTL is accepted', () => {
    const f = fixture();
    const good = approvedEvm(f, {}, { ttlSeconds: 60 });
    const instant = signPermit({ ...good.permit, expiresAt: good.permit.issuedAt }, f.issuer.secretKey);
    refused(f, factsFor(f, instant), 'PERMIT_MALFORMED', /expires before it is issued/);
    accepted(f.authorizer.authorize(factsFor(f, good)));
  });

  it('expired at its expiry millisecond; future-dated from 5 s plus 1 ms of skew', () => {
    const f = fixture();
    const signed = approvedEvm(f, {}, { ttlSeconds: 60 });
    f.clock.advance(60_000 - 1);
    accepted(f.authorizer.authorize(factsFor(f, signed)));
    f.clock.advance(1);
    refused(f, factsFor(f, signed), 'PERMIT_EXPIRED', /expired/);
    const edge = approvedEvm(f, { nonce: 1 }, { issuedAt: f.clock.now() + 5_000 });
    accepted(f.authorizer.authorize(factsFor(f, edge)));
    const beyond = approvedEvm(f, { nonce: 2 }, { issuedAt: f.clock.now() + 5_001 });
    refused(f, factsFor(f, beyond), 'PERMIT_NOT_YET_VALID', /is dated 6 s in the future/);
  });

  it('per-transaction maximum and daily cap: exactly the limit passes, one base unit more is refused', () => {
    const f = fixture();
    refused(f, factsFor(f, approvedEvm(f, { type: 'erc20', token: USDC, amount: usdc(10_000n, 1n), nonce: 1 })), 'POLICY_PER_TX_MAX');
    for (const nonce of [2, 3, 4, 5, 6]) accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { type: 'erc20', token: USDC, amount: usdc(10_000n), nonce })))).commit();
    // 50,000 USDC co-signed: the daily cap is reached, not exceeded; one more base unit is over it.
    refused(f, factsFor(f, approvedEvm(f, { type: 'erc20', token: USDC, amount: 1n, nonce: 7 })), 'POLICY_DAILY_CAP', /50,000 already co-signed/);
  });

  it('the guardian threshold: exactly the threshold needs no guardians, above it does', () => {
    const f = fixture();
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { amount: 5n * 10n ** 18n }))));
    refused(f, factsFor(f, approvedEvm(f, { amount: 5n * 10n ** 18n + 1n, nonce: 1 })), 'PERMIT_GUARDIAN_APPROVAL_REQUIRED');
  });

  it('signing hours include their start minute and exclude their end minute, also across midnight', () => {
    const f = fixture();
    const at = (start: string, end: string) => f.policy.applyNodeSetup({ policies: [evmPolicy({ signingHours: { start, end } })], authorizations: [] }, false, 'test');
    // The fixture's clock reads 10:00 UTC.
    at('10:00', '18:00');
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { nonce: 1 }))));
    at('08:00', '10:00');
    refused(f, factsFor(f, approvedEvm(f, { nonce: 2 })), 'POLICY_OUTSIDE_SIGNING_HOURS', /between 08:00 and 10:00 UTC; it is 10:00 UTC now/);
    at('10:00', '09:00');
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { nonce: 3 }))));
    at('22:00', '10:00');
    refused(f, factsFor(f, approvedEvm(f, { nonce: 4 })), 'POLICY_OUTSIDE_SIGNING_HOURS');
    // A window that starts where it ends is empty: it never signs (not "always").
    at('10:00', '10:00');
    refused(f, factsFor(f, approvedEvm(f, { nonce: 5 })), 'POLICY_OUTSIDE_SIGNING_HOURS');
    // Hours and minutes both count: at 10:30 a window from 10:30 is open, one from 10:31 is not.
    f.clock.advance(30 * 60_000);
    at('10:30', '11:00');
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { nonce: 6 }))));
    at('10:31', '11:00');
    refused(f, factsFor(f, approvedEvm(f, { nonce: 7 })), 'POLICY_OUTSIDE_SIGNING_HOURS', /it is 10:30 UTC now/);
  });

  it('the refusal sentences carry the right figures: frozen since, by whom; one signature; valid for how long', () => {
    const f = fixture();
    f.policy.engageKillSwitch('compromise suspected');
    f.clock.advance(2 * 60_000);
    refused(f, factsFor(f, approvedEvm(f)), 'SIGNING_FROZEN', /frozen 2 min ago by operator \("compromise suspected"\)/);
    const g = fixture();
    g.policy.applyNodeSetup({ policies: [evmPolicy({ dailyCountLimit: 1 })], authorizations: [] }, false, 'test');
    accepted(g.authorizer.authorize(factsFor(g, approvedEvm(g, { nonce: 1, amount: 1n })))).commit();
    refused(g, factsFor(g, approvedEvm(g, { nonce: 2, amount: 1n })), 'POLICY_DAILY_COUNT', /allows 1 signature in 24 h/);
  });

  it('the keyset\'s own permit TTL applies, not the default', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [evmPolicy({ permitTtlSeconds: 120 })], authorizations: [] }, false, 'test');
    accepted(f.authorizer.authorize(factsFor(f, approvedEvm(f, { nonce: 1 }, { ttlSeconds: 100 }))));
    refused(f, factsFor(f, approvedEvm(f, { nonce: 2 }, { ttlSeconds: 121 })), 'PERMIT_TTL_TOO_LONG', /is valid for 3 min; keyset ks-evm-1 accepts permits valid for at most 2 min/);
  });

  it('an execution authorization does not cover an asset its scope does not name', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '2', dailyCap: '3' } }, validForMinutes: 60 } }] }, false, 'test');
    refused(f, factsFor(f, permitFor(f, evmPayload({ type: 'erc20', token: USDC, amount: 10n ** 6n }))), 'SIGNING_NOT_APPROVED_HERE', /does not cover USDC/);
  });

  it('an execution authorization: its daily cap may be reached exactly, it ends at its expiry millisecond, and it does not cover before it was enabled', () => {
    const f = fixture();
    f.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '2', dailyCap: '3' } }, validForMinutes: 60 } }] }, false, 'test');
    accepted(f.authorizer.authorize(factsFor(f, permitFor(f, evmPayload({ amount: 2n * 10n ** 18n, nonce: 1 }))))).commit();
    accepted(f.authorizer.authorize(factsFor(f, permitFor(f, evmPayload({ amount: 10n ** 18n, nonce: 2 }))))).commit();
    refused(f, factsFor(f, permitFor(f, evmPayload({ amount: 1n, nonce: 3 }))), 'SIGNING_NOT_APPROVED_HERE', /allows 3 ETH in 24 h; 3 already co-signed under it/);
    const g = fixture();
    g.policy.applyNodeSetup({ policies: [], authorizations: [{ scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '2', dailyCap: '3' } }, validForMinutes: 60 } }] }, false, 'test');
    // A clock set back before the authorization was enabled: it does not cover yet.
    g.clock.advance(-1_000);
    refused(g, factsFor(g, permitFor(g, evmPayload({ nonce: 1 }))), 'SIGNING_NOT_APPROVED_HERE', /is not active yet/);
    g.clock.advance(1_000 + 60 * 60_000 - 1);
    accepted(g.authorizer.authorize(factsFor(g, permitFor(g, evmPayload({ nonce: 2 })))));
    g.clock.advance(1);
    refused(g, factsFor(g, permitFor(g, evmPayload({ nonce: 3 }))), 'SIGNING_NOT_APPROVED_HERE', /expired/);
  });
});
