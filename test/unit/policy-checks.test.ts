/**
 * The vault-policy checks and execution-authorization coverage as pure functions, at their
 * boundaries: a limit reached exactly is allowed and one base unit more is refused, signing hours
 * are [start, end) in UTC, and an authorization is dead from the millisecond it expires. The
 * authorizer suites test the same checks end to end; these pin the edges without a database.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecodedTransaction, Transfer } from '../../main/chains/transaction';
import { AppFailure } from '../../main/errors';
import { sameAddress, toBaseUnits } from '../../main/policy/amounts';
import { findCoveringAuthorization } from '../../main/policy/authorization-coverage';
import { scopeLimits, type ExecutionAuthorization, type ExecutionAuthorizations } from '../../main/policy/execution-authorizations';
import {
  aboveGuardianThreshold, amountsPerAsset, checkAllowlist, checkAssetsKnown, checkDailyCap, checkDailyCount, checkKillSwitch, checkPerTxMax, checkSigningHours, describeTransaction, insideSigningHours, requirePolicy,
  windowCounters,
} from '../../main/policy/policy-checks';
import { compilePolicy, DAY_MS, type PolicyStore } from '../../main/policy/policy-store';
import { ALICE, EVM_KEYSET, evmPolicy, MALLORY, USDC } from '../support/permits';

const ETH = 10n ** 18n;
const USDC_ASSET = `erc20:${USDC}`;
const policy = compilePolicy(evmPolicy(), 0);

function tx(...transfers: Array<Partial<Transfer>>): DecodedTransaction {
  return {
    chain: 'evm', kind: 'eip1559' as DecodedTransaction['kind'], txHash: `0x${'00'.repeat(32)}`, signingPreimage: Buffer.alloc(0), evmChainId: 1,
    transfers: transfers.map((t) => ({ asset: 'native', destination: ALICE, amount: ETH, source: null, decimals: null, ...t })),
  };
}

function refusedWith(code: string, run: () => unknown, pattern?: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('policy checks at their edges', () => {
  it('sums what a transaction moves per asset, over every transfer', () => {
    const sums = amountsPerAsset(tx({ amount: 2n }, { amount: 3n }, { asset: USDC_ASSET, amount: 7n }));
    assert.deepEqual([...sums], [['native', 5n], [USDC_ASSET, 7n]]);
  });

  it('kill switch: off passes, on refuses and says since when, by whom and why', () => {
    checkKillSwitch({ engaged: false, changedAt: 0, changedBy: 'x', reason: 'y' }, 1000);
    refusedWith('SIGNING_FROZEN', () => checkKillSwitch({ engaged: true, changedAt: 0, changedBy: 'guardian Ann', reason: 'drill' }, 4 * 60_000), /frozen 4 min ago by guardian Ann \("drill"\)/);
    refusedWith('SIGNING_FROZEN', () => checkKillSwitch({ engaged: true, changedAt: null, changedBy: null, reason: null }, 0), /frozen by the operator/);
  });

  it('a keyset without a policy co-signs nothing; with one, the policy is returned', () => {
    refusedWith('POLICY_NOT_SET', () => requirePolicy(null, EVM_KEYSET), new RegExp(EVM_KEYSET));
    assert.equal(requirePolicy(policy, EVM_KEYSET), policy);
  });

  it('assets: unnamed refused; stated decimals must match the policy, unstated pass', () => {
    checkAssetsKnown(tx({ decimals: null }, { asset: USDC_ASSET, decimals: 6 }), policy);
    refusedWith('POLICY_ASSET_UNKNOWN', () => checkAssetsKnown(tx({ asset: 'erc20:0xdead' }), policy), /erc20:0xdead is not in the policy/);
    refusedWith('POLICY_ASSET_UNKNOWN', () => checkAssetsKnown(tx({ asset: USDC_ASSET, decimals: 18 }), policy), /states 18 decimals for USDC, the policy .* says 6/);
  });

  it('allowlist: every destination must be on it (EVM addresses compare without case)', () => {
    checkAllowlist(tx({ destination: ALICE.toLowerCase() }), policy);
    refusedWith('POLICY_DESTINATION_NOT_ALLOWED', () => checkAllowlist(tx({ destination: ALICE }, { destination: MALLORY }), policy), new RegExp(MALLORY));
    // The refusal names the destination for the screen that offers to look it up.
    assert.throws(() => checkAllowlist(tx({ destination: MALLORY }), policy), (e: unknown) => e instanceof AppFailure && e.details?.destination === MALLORY);
  });

  it('the 24 h window is 24 h: counters are read from exactly 86 400 000 ms back', () => {
    const seen: number[] = [];
    const store = { cosignedSince: (_k: string, since: number) => (seen.push(since), { perAsset: new Map(), signatures: 0 }) } as unknown as PolicyStore;
    windowCounters(store, EVM_KEYSET, 100_000_000);
    assert.deepEqual(seen, [100_000_000 - 86_400_000]);
  });

  it('describes a transaction with the policy\'s asset names, or by base units when there is no policy', () => {
    assert.equal(describeTransaction(tx({ amount: 15n * 10n ** 17n }), policy), 'send 1.5 ETH to 0x1111…1111');
    assert.equal(describeTransaction(tx({ amount: 7n }, { asset: USDC_ASSET, amount: 2n }), null), `send 7 base units of native to 0x1111…1111; send 2 base units of ${USDC_ASSET} to 0x1111…1111`);
  });

  it('per-transaction maximum: exactly the maximum passes, one base unit more is refused', () => {
    checkPerTxMax(new Map([['native', 10n * ETH]]), policy);
    refusedWith('POLICY_PER_TX_MAX', () => checkPerTxMax(new Map([['native', 10n * ETH + 1n]]), policy), /moves 10.000000000000000001 ETH; the per-transaction maximum .* is 10 ETH/);
    // An asset without a maximum has none.
    const unlimited = compilePolicy(evmPolicy({ assets: { native: { symbol: 'ETH', decimals: 18, perTxMax: null, dailyCap: null, guardianApprovalAbove: null } } }), 0);
    checkPerTxMax(new Map([['native', 10n ** 40n]]), unlimited);
    checkDailyCap(new Map([['native', 10n ** 40n]]), unlimited, { perAsset: new Map([['native', 10n ** 40n]]), signatures: 0 });
    assert.deepEqual(aboveGuardianThreshold(new Map([['native', 10n ** 40n]]), unlimited), []);
  });

  it('daily cap: what was co-signed plus this transaction may reach the cap, not pass it', () => {
    const counters = { perAsset: new Map([['native', 15n * ETH]]), signatures: 3 };
    checkDailyCap(new Map([['native', 5n * ETH]]), policy, counters);
    refusedWith('POLICY_DAILY_CAP', () => checkDailyCap(new Map([['native', 5n * ETH + 1n]]), policy, counters), /Daily cap 20 ETH: 15 already co-signed in the last 24 h, and this transaction adds 5.000000000000000001/);
    // Nothing co-signed yet: the transaction alone counts.
    checkDailyCap(new Map([['native', 20n * ETH]]), policy, { perAsset: new Map(), signatures: 0 });
    refusedWith('POLICY_DAILY_CAP', () => checkDailyCap(new Map([['native', 20n * ETH + 1n]]), policy, { perAsset: new Map(), signatures: 0 }), /: 0 already co-signed/);
  });

  it('daily count: the limit-th signature passes, the next is refused; no limit means none', () => {
    checkDailyCount(policy, { perAsset: new Map(), signatures: 9 });
    refusedWith('POLICY_DAILY_COUNT', () => checkDailyCount(policy, { perAsset: new Map(), signatures: 10 }), /allows 10 signatures in 24 h; this node already co-signed 10/);
    const one = compilePolicy(evmPolicy({ dailyCountLimit: 1 }), 0);
    refusedWith('POLICY_DAILY_COUNT', () => checkDailyCount(one, { perAsset: new Map(), signatures: 1 }), /allows 1 signature in 24 h/);
    checkDailyCount(compilePolicy(evmPolicy({ dailyCountLimit: null }), 0), { perAsset: new Map(), signatures: 1_000_000 });
  });

  it('signing hours are [start, end) in UTC, also across midnight', () => {
    const at = (hhmm: string) => Date.parse(`2026-01-05T${hhmm}:00Z`);
    const day = { start: '08:30', end: '18:00' };
    assert.deepEqual(['08:29', '08:30', '17:59', '18:00'].map((t) => insideSigningHours(day, at(t))), [false, true, true, false]);
    const night = { start: '22:00', end: '06:15' };
    assert.deepEqual(['21:59', '22:00', '00:00', '06:14', '06:15', '12:00'].map((t) => insideSigningHours(night, at(t))), [false, true, true, true, false, false]);
    const limited = compilePolicy(evmPolicy({ signingHours: day }), 0);
    checkSigningHours(limited, at('12:00'));
    refusedWith('POLICY_OUTSIDE_SIGNING_HOURS', () => checkSigningHours(limited, at('18:00')), /signs only between 08:30 and 18:00 UTC; it is 18:00 UTC now/);
    checkSigningHours(policy, at('03:00'));
  });

  it('guardian threshold: above it is named, exactly at it is not', () => {
    assert.deepEqual(aboveGuardianThreshold(new Map([['native', 5n * ETH]]), policy), []);
    assert.deepEqual(aboveGuardianThreshold(new Map([['native', 5n * ETH + 1n], [USDC_ASSET, 10n ** 12n]]), policy), ['5.000000000000000001 ETH is above the guardian threshold of 5 ETH']);
  });
});

describe('amounts', () => {
  it('converts decimal strings exactly and refuses what is not one, or has more places than the asset', () => {
    assert.equal(toBaseUnits('1.5', 18, 'x'), 15n * 10n ** 17n);
    assert.equal(toBaseUnits('0.000001', 6, 'x'), 1n);
    assert.equal(toBaseUnits(`${'9'.repeat(30)}`, 0, 'x'), 10n ** 30n - 1n);
    for (const bad of ['', '1.', '.5', '-1', '1e3', ' 1', '1 ', '1,5', '0x10', '9'.repeat(31), `1.${'0'.repeat(37)}`]) {
      refusedWith('POLICY_INVALID', () => toBaseUnits(bad, 40, 'limit'), /limit: .* is not a decimal amount/);
    }
    refusedWith('POLICY_INVALID', () => toBaseUnits('0.0000001', 6, 'USDC cap'), /USDC cap: 0.0000001 has 7 decimal places; the asset has only 6/);
  });

  it('EVM addresses compare without case, everything else exactly', () => {
    const checksummed = '0xA0b86991c6218b36c1D19D4a2e9Eb0cE3606eB48';
    assert.equal(sameAddress(USDC, checksummed), true);
    assert.equal(sameAddress(checksummed, USDC), true);
    assert.equal(sameAddress(ALICE, MALLORY), false);
    assert.equal(sameAddress(USDC, USDC.toUpperCase()), false, 'only one of them is an EVM address ("0X…" is not): compared exactly');
    assert.equal(sameAddress('AbC', 'abc'), false, 'base58 is case-sensitive');
    assert.equal(sameAddress(`${USDC}0`, `${checksummed}0`), false, 'one hex digit too many: not an EVM address, compared exactly');
    assert.equal(sameAddress(`z${USDC}`, `z${checksummed}`), false, 'an EVM address must start the string');
    assert.equal(sameAddress(USDC, checksummed.slice(0, -1)), false);
    assert.equal(sameAddress(USDC.slice(0, -1), checksummed.slice(0, -1)), false, 'one hex digit too few: compared exactly');
  });
});

describe('execution authorization coverage', () => {
  const enabledAt = 1_000_000;
  const auth = (over: Partial<ExecutionAuthorization> = {}): ExecutionAuthorization => ({
    id: 'a1b2c3d4-0000-4000-8000-000000000000', keysetId: EVM_KEYSET, enabledAt, expiresAt: enabledAt + 3_600_000, enabledBy: 'guardians', revokedAt: null, revokedBy: null,
    scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '3' } }, validForMinutes: 60 },
    ...over,
  });
  const list = (...auths: ExecutionAuthorization[]) => ({ forKeyset: () => auths }) as unknown as ExecutionAuthorizations;
  const usedUnder = (used: Map<string, bigint>, seen: Array<[string, number]> = []) =>
    ({ cosignedUnderAuthorizationSince: (id: string, since: number) => (seen.push([id, since]), used) }) as unknown as PolicyStore;
  const cover = (auths: ExecutionAuthorization[], t: DecodedTransaction, now: number, used = new Map<string, bigint>()) =>
    findCoveringAuthorization(list(...auths), usedUnder(used), EVM_KEYSET, t, amountsPerAsset(t), policy, now);
  const reasons = (c: ReturnType<typeof cover>) => (c.covered ? [] : c.reasons);

  it('covers within scope, reading what was co-signed under it in the last 24 h', () => {
    const seen: Array<[string, number]> = [];
    const a = auth();
    const t = tx({ amount: ETH });
    const c = findCoveringAuthorization(list(a), usedUnder(new Map([['native', 2n * ETH]]), seen), EVM_KEYSET, t, amountsPerAsset(t), policy, enabledAt);
    assert.equal(c.covered && c.authorization, a);
    assert.deepEqual(seen, [[a.id, enabledAt - DAY_MS]]);
    assert.equal(DAY_MS, 86_400_000);
  });

  it('any one of the scope\'s destinations is enough', () => {
    const two = auth({ scope: { ...auth().scope, destinations: [MALLORY, ALICE] } });
    assert.equal(cover([two], tx({ amount: 1n }), enabledAt).covered, true);
  });

  it('scope limits follow the policy they are read under, and skip an asset the policy no longer names', () => {
    const scope = { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '3' }, 'erc20:0xdead': { perTxMax: '1', dailyCap: '1' } }, validForMinutes: 60 };
    assert.deepEqual([...scopeLimits(scope, policy)], [['native', { perTxMax: ETH, dailyCap: 3n * ETH }]]);
    // A later policy with other decimals: the cached conversion under the old policy must not be used.
    const sixDecimals = compilePolicy(evmPolicy({ assets: { native: { symbol: 'ETH', decimals: 6, perTxMax: '10', dailyCap: '20', guardianApprovalAbove: null } } }), 1);
    assert.deepEqual([...scopeLimits(scope, sixDecimals)], [['native', { perTxMax: 10n ** 6n, dailyCap: 3n * 10n ** 6n }]]);
  });

  it('is dead from the millisecond it expires, not active before it is enabled, and not once revoked', () => {
    const t = tx({ amount: 1n });
    assert.equal(cover([auth()], t, enabledAt + 3_600_000 - 1).covered, true);
    assert.deepEqual(reasons(cover([auth()], t, enabledAt + 3_600_000)), ['execution authorization a1b2c3d4 expired 1 s ago']);
    assert.deepEqual(reasons(cover([auth()], t, enabledAt - 1)), ['execution authorization a1b2c3d4 is not active yet']);
    assert.deepEqual(reasons(cover([auth({ revokedAt: enabledAt, revokedBy: 'guardian Ann' })], t, enabledAt + 120_000)), ['execution authorization a1b2c3d4 was revoked 2 min ago by guardian Ann']);
    assert.deepEqual(reasons(cover([auth({ revokedAt: enabledAt })], t, enabledAt)), ['execution authorization a1b2c3d4 was revoked 1 s ago by someone']);
  });

  it('refuses a destination, an asset or an amount outside the scope, saying which', () => {
    assert.deepEqual(reasons(cover([auth()], tx({ amount: 1n }, { destination: MALLORY, amount: 1n }), enabledAt)), [`execution authorization a1b2c3d4 does not cover destination ${MALLORY.slice(0, 6)}…${MALLORY.slice(-4)}`]);
    assert.deepEqual(reasons(cover([auth()], tx({ asset: USDC_ASSET, amount: 1n }), enabledAt)), ['execution authorization a1b2c3d4 does not cover USDC']);
    assert.equal(cover([auth()], tx({ amount: ETH }), enabledAt).covered, true, 'exactly the per-transaction maximum');
    assert.deepEqual(reasons(cover([auth()], tx({ amount: ETH + 1n }), enabledAt)), ['execution authorization a1b2c3d4 allows at most 1 ETH per transaction, this one moves 1.000000000000000001']);
    assert.equal(cover([auth()], tx({ amount: ETH }), enabledAt, new Map([['native', 2n * ETH]])).covered, true, 'exactly the daily cap');
    assert.deepEqual(reasons(cover([auth()], tx({ amount: ETH }), enabledAt, new Map([['native', 2n * ETH + 1n]]))), ['execution authorization a1b2c3d4 allows 3 ETH in 24 h; 2.000000000000000001 already co-signed under it']);
  });

  it('skips another keyset\'s authorization and tries the next; without any, nothing covers', () => {
    const t = tx({ amount: 1n });
    const other = auth({ id: 'ffffffff-0000-4000-8000-000000000000', keysetId: 'another-keyset' });
    const good = auth({ id: 'b0b0b0b0-0000-4000-8000-000000000000' });
    const c = cover([other, auth({ revokedAt: enabledAt }), good], t, enabledAt);
    assert.equal(c.covered && c.authorization, good);
    assert.deepEqual(reasons(cover([other], t, enabledAt)), []);
    assert.deepEqual(cover([], t, enabledAt), { covered: false, reasons: [] });
  });
});
