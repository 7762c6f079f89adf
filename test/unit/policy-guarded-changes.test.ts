/**
 * Vault policy, trusted issuers and execution authorizations on a console with guardians, through
 * the IPC router and the real guard: widening changes need two guardians, narrowing ones act at
 * once, every change is audited, and setup files are refused on a node that has guardians.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Channel, RequestOf, ResponseOf } from '../../preload/contract';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import { enrolThree, guardianFixture, type GuardianFixture } from '../support/guardians';
import { ALICE, evmPolicy, EVM_KEYSET } from '../support/permits';
import { GOOD_PASSPHRASE, TRUSTED } from '../support/services';

const OPERATOR = { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE } as const;

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

async function approveByTwo(f: GuardianFixture, requestId: string, g: Awaited<ReturnType<typeof enrolThree>>): Promise<void> {
  await f.services.guardians.signWithLedger(requestId, g.lena.id, 'approve');
  await f.services.guardians.signWithKeyFile(requestId, g.sam.keyFile, g.sam.passphrase, 'approve');
}

describe('guarded policy changes (console with guardians)', () => {
  it('a keyset policy changes only with two guardians, for exactly the approved policy, once', async () => {
    const f = await guardianFixture();
    const g = await enrolThree(f);
    const policy = evmPolicy();
    const request = await call(f, 'policy.requestChange', { policy, reason: 'new treasury keyset', requester: OPERATOR });
    await failsWith(f, 'policy.change', { policy, requestId: request.id }, 'QUORUM_NOT_MET');
    await approveByTwo(f, request.id, g);
    await failsWith(f, 'policy.change', { policy: { ...policy, allowlist: [ALICE, '0x6666666666666666666666666666666666666666'] }, requestId: request.id }, 'GUARD_PAYLOAD_MISMATCH');
    const overview = await call(f, 'policy.change', { policy, requestId: request.id });
    assert.deepEqual(overview.policies.map((p) => p.keysetId), [EVM_KEYSET]);
    await failsWith(f, 'policy.change', { policy, requestId: request.id }, 'APPROVAL_REQUEST_CLOSED');
    assert.equal(f.services.audit.list({ type: 'POLICY_CHANGED' }).total, 1);
    await f.cleanup();
  });

  it('kill switch: on by the operator alone, off only with the quorum, bound to that engagement', async () => {
    const f = await guardianFixture();
    const g = await enrolThree(f);
    await failsWith(f, 'policy.requestKillSwitchRelease', { reason: 'nothing to release', requester: OPERATOR }, 'KILL_SWITCH_ALREADY');
    const on = await call(f, 'policy.engageKillSwitch', { reason: 'phishing report' });
    assert.equal(on.killSwitch.engaged, true);
    const request = await call(f, 'policy.requestKillSwitchRelease', { reason: 'investigated, false alarm', requester: OPERATOR });
    await failsWith(f, 'policy.releaseKillSwitch', { requestId: request.id }, 'QUORUM_NOT_MET');
    await approveByTwo(f, request.id, g);
    const off = await call(f, 'policy.releaseKillSwitch', { requestId: request.id });
    assert.equal(off.killSwitch.engaged, false);
    assert.equal(f.services.audit.list({ type: 'KILL_SWITCH_ENGAGED' }).total, 1);
    assert.equal(f.services.audit.list({ type: 'KILL_SWITCH_RELEASED' }).total, 1);
    await f.cleanup();
  });

  it('an old release approval cannot lift a later freeze', async () => {
    const f = await guardianFixture();
    const g = await enrolThree(f);
    await call(f, 'policy.engageKillSwitch', { reason: 'first' });
    const kept = await call(f, 'policy.requestKillSwitchRelease', { reason: 'approved, kept aside', requester: OPERATOR });
    await approveByTwo(f, kept.id, g);
    const used = await call(f, 'policy.requestKillSwitchRelease', { reason: 'release first', requester: OPERATOR });
    await approveByTwo(f, used.id, g);
    await call(f, 'policy.releaseKillSwitch', { requestId: used.id });
    f.clock.advance(1000);
    await call(f, 'policy.engageKillSwitch', { reason: 'second' });
    // Approved for the first engagement: its parameters do not match the second one.
    await failsWith(f, 'policy.releaseKillSwitch', { requestId: kept.id }, 'GUARD_PAYLOAD_MISMATCH');
    assert.equal((await call(f, 'policy.overview', {})).killSwitch.engaged, true);
    await f.cleanup();
  });

  it('execution authorizations: enabled by the quorum, revoked by the operator at once', async () => {
    const f = await guardianFixture();
    const g = await enrolThree(f);
    const change = await call(f, 'policy.requestChange', { policy: evmPolicy(), reason: 'setup', requester: OPERATOR });
    await approveByTwo(f, change.id, g);
    await call(f, 'policy.change', { policy: evmPolicy(), requestId: change.id });
    const scope = { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '2' } }, validForMinutes: 120 };
    await failsWith(f, 'policy.requestExecutionAuthorization', { scope: { ...scope, destinations: ['0x6666666666666666666666666666666666666666'] }, reason: 'x', requester: OPERATOR }, 'EXECUTION_AUTHORIZATION_INVALID');
    const request = await call(f, 'policy.requestExecutionAuthorization', { scope, reason: 'night batch', requester: OPERATOR });
    await failsWith(f, 'policy.enableExecutionAuthorization', { scope, requestId: request.id }, 'QUORUM_NOT_MET');
    await approveByTwo(f, request.id, g);
    const enabled = await call(f, 'policy.enableExecutionAuthorization', { scope, requestId: request.id });
    const auth = enabled.executionAuthorizations[0]!;
    assert.equal(auth.state, 'active');
    assert.equal(Date.parse(auth.expiresAt) - Date.parse(auth.enabledAt), 120 * 60_000);
    const revoked = await call(f, 'policy.revokeExecutionAuthorization', { id: auth.id, reason: 'batch done', by: OPERATOR });
    assert.equal(revoked.executionAuthorizations[0]!.state, 'revoked');
    assert.equal(f.services.audit.list({ type: 'EXECUTION_AUTHORIZATION_REVOKED' }).total, 1);
    await f.cleanup();
  });

  it('trusted issuers: enrolled by confirmed fingerprint with the quorum, removed with the quorum', async () => {
    const f = await guardianFixture();
    const g = await enrolThree(f);
    const issuer = generateIssuerKey();
    const publicKey = issuer.publicKey.toString('hex');
    const fingerprint = issuerFingerprint(issuer.publicKey);
    const wrong = issuerFingerprint(generateIssuerKey().publicKey);
    await failsWith(f, 'permits.requestIssuerEnrolment', { publicKey, fingerprint: wrong, name: 'online', reason: 'x', requester: OPERATOR }, 'ISSUER_FINGERPRINT_MISMATCH');
    const request = await call(f, 'permits.requestIssuerEnrolment', { publicKey, fingerprint, name: 'online', reason: 'production issuer', requester: OPERATOR });
    await failsWith(f, 'permits.enrolIssuer', { publicKey, fingerprint, name: 'online', requestId: request.id }, 'QUORUM_NOT_MET');
    await approveByTwo(f, request.id, g);
    await failsWith(f, 'permits.enrolIssuer', { publicKey, fingerprint, name: 'online', lab: true, requestId: request.id }, 'GUARD_PAYLOAD_MISMATCH');
    const list = await call(f, 'permits.enrolIssuer', { publicKey, fingerprint, name: 'online', requestId: request.id });
    assert.deepEqual(list.map((i) => i.fingerprint), [fingerprint]);
    const removal = await call(f, 'permits.requestIssuerRemoval', { fingerprint, reason: 'key rotated', requester: OPERATOR });
    await failsWith(f, 'permits.removeIssuer', { fingerprint, requestId: removal.id }, 'QUORUM_NOT_MET');
    await approveByTwo(f, removal.id, g);
    assert.deepEqual(await call(f, 'permits.removeIssuer', { fingerprint, requestId: removal.id }), []);
    assert.equal(f.services.audit.list({ type: 'PERMIT_ISSUER_ENROLLED' }).total, 1);
    assert.equal(f.services.audit.list({ type: 'PERMIT_ISSUER_REMOVED' }).total, 1);
    await f.cleanup();
  });

  it('setup files are refused on a node with guardians', async () => {
    const f = await guardianFixture();
    await enrolThree(f);
    const hasGuardians = f.services.guardians.registry().guardians.length > 0;
    assert.throws(() => f.services.policy.applyNodeSetup({ policies: [evmPolicy()], authorizations: [] }, hasGuardians, 'file'), /only with their approval/);
    await f.cleanup();
  });
});
