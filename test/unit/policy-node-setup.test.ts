/** Headless node setup files: trusted issuers, keyset policies and execution authorizations read at start. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { generateIssuerKey, issuerFingerprint } from '../../main/permits/issuer-keys';
import { applyNodeSetupFiles } from '../../main/policy/node-setup';
import { ALICE, evmPolicy, EVM_KEYSET, permitFixture } from '../support/permits';

describe('headless node setup files', () => {
  it('applies issuers, policies and a stable execution authorization; a restart does not renew it', () => {
    const f = permitFixture();
    const issuer = generateIssuerKey();
    const dir = f.dataDir;
    const files = { trustedIssuers: join(dir, 'issuers.json'), policy: join(dir, 'policy.json'), executionAuthorizations: join(dir, 'auth.json') };
    writeFileSync(files.trustedIssuers, JSON.stringify([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'second issuer' }]));
    writeFileSync(files.policy, JSON.stringify([evmPolicy({ dailyCountLimit: 3 })]));
    const id = '6f1c2a7e-0b7d-4c53-9a51-1f7f9e3c2d10';
    writeFileSync(files.executionAuthorizations, JSON.stringify([{ id, scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '2' } } } }]));
    assert.deepEqual(applyNodeSetupFiles(files, f, false), ['1 trusted issuer(s)', '1 keyset policy', '1 execution authorization(s)']);
    const first = f.policy.overview().executionAuthorizations.find((a) => a.id === id)!;
    assert.equal(Date.parse(first.expiresAt) - Date.parse(first.enabledAt), 60 * 60_000, 'default 1 h');
    // Every change is audited with what it changed, what it replaced and the files it came from.
    const source = `${files.policy}, ${files.executionAuthorizations}`;
    const changed = f.audit.list({ type: 'POLICY_CHANGED', limit: 1 }).entries[0]!;
    assert.equal(changed.actor, 'operator (node setup)');
    assert.equal((changed.details.policy as { dailyCountLimit: number }).dailyCountLimit, 3);
    assert.equal((changed.details.previous as { dailyCountLimit: number }).dailyCountLimit, 10);
    assert.equal(changed.details.source, source);
    const enabled = f.audit.list({ type: 'EXECUTION_AUTHORIZATION_ENABLED', limit: 1 }).entries[0]!;
    assert.equal(enabled.subject, id);
    assert.deepEqual((enabled.details.scope as { destinations: string[] }).destinations, [ALICE]);
    assert.equal(enabled.details.expiresAt, first.expiresAt);
    assert.equal(enabled.details.source, source);
    assert.deepEqual(f.audit.list({ type: 'NODE_SETUP_APPLIED', limit: 1 }).entries[0]!.details, { source, policies: 1, authorizations: 1 });
    f.clock.advance(30 * 60_000);
    applyNodeSetupFiles(files, f, false);
    assert.equal(f.policy.overview().executionAuthorizations.find((a) => a.id === id)!.expiresAt, first.expiresAt);
    assert.equal(f.permits.issuers().length, 3);
    assert.equal(f.policy.overview().policies.find((p) => p.keysetId === EVM_KEYSET)!.dailyCountLimit, 3);
    f.cleanup();
  });

  it('refuses a wrong fingerprint, a malformed file, an authorization beyond 24 h, and any file on a node with guardians', () => {
    const f = permitFixture();
    const issuer = generateIssuerKey();
    const path = join(f.dataDir, 'x.json');
    const code = (work: () => unknown): string => {
      try {
        work();
      } catch (error) {
        assert.ok(error instanceof AppFailure, String(error));
        return error.code;
      }
      return 'accepted';
    };
    writeFileSync(path, JSON.stringify([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(generateIssuerKey().publicKey), name: 'x' }]));
    assert.equal(code(() => applyNodeSetupFiles({ trustedIssuers: path }, f, false)), 'ISSUER_FINGERPRINT_MISMATCH');
    writeFileSync(path, '{ not json');
    assert.equal(code(() => applyNodeSetupFiles({ policy: path }, f, false)), 'POLICY_INVALID');
    writeFileSync(path, JSON.stringify([{ scope: { keysetId: EVM_KEYSET, destinations: [ALICE], assets: { native: { perTxMax: '1', dailyCap: '2' } }, validForMinutes: 24 * 60 + 1 } }]));
    assert.equal(code(() => applyNodeSetupFiles({ executionAuthorizations: path }, f, false)), 'POLICY_INVALID');
    writeFileSync(path, JSON.stringify([evmPolicy()]));
    assert.equal(code(() => applyNodeSetupFiles({ policy: path }, f, true)), 'NODE_SETUP_REFUSED');
    f.cleanup();
  });

  it('reads every file before applying any: one bad file (a reload gone wrong) leaves the setup exactly as it was', () => {
    const f = permitFixture();
    const issuer = generateIssuerKey();
    const files = { trustedIssuers: join(f.dataDir, 'issuers.json'), policy: join(f.dataDir, 'policy.json'), executionAuthorizations: join(f.dataDir, 'auth.json') };
    writeFileSync(files.trustedIssuers, JSON.stringify([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'new issuer' }]));
    writeFileSync(files.policy, JSON.stringify([evmPolicy({ dailyCountLimit: 7 })]));
    // Valid JSON, but wider than the policy allows: refused while applying, after the issuer and policy.
    writeFileSync(files.executionAuthorizations, JSON.stringify([{ scope: { keysetId: EVM_KEYSET, destinations: ['0x2222222222222222222222222222222222222222'], assets: { native: { perTxMax: '1', dailyCap: '2' } } } }]));
    const before = { issuers: f.permits.issuers(), overview: f.policy.overview() };
    assert.throws(() => applyNodeSetupFiles(files, f, false), (e) => e instanceof AppFailure && e.code === 'EXECUTION_AUTHORIZATION_INVALID');
    assert.deepEqual(f.permits.issuers(), before.issuers, 'the issuer of the same reload was not enrolled');
    assert.deepEqual(f.policy.overview(), before.overview, 'the policy of the same reload was not applied');
    // A file that does not parse: nothing of the others is applied either.
    writeFileSync(files.executionAuthorizations, '[{');
    assert.throws(() => applyNodeSetupFiles(files, f, false), (e) => e instanceof AppFailure && e.code === 'POLICY_INVALID');
    assert.deepEqual(f.permits.issuers(), before.issuers);
    f.cleanup();
  });
});
