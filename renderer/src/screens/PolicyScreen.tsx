/**
 * Vault policy of this node: the kill switch first (freeze at once; resume needs two guardians),
 * then each keyset's limits, trusted permit issuers and execution authorizations. Every change
 * that widens what this node signs is a guardian request first, applied once approved.
 */
import { useCallback, useEffect, useId, useState } from 'react';
import type { AppError, GuardianView, PolicyOverview, TrustedIssuerView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { GuardedChange } from '../components/GuardedChange';
import { RevokerFields, useRevoker } from '../components/RevokerFields';
import { Time } from '../components/Time';

const FREEZE_WORDS = { label: 'Frozen by', statement: 'the freeze', button: 'FREEZE ALL SIGNING NOW', operatorPassphrase: false };

function KillSwitchPanel({ overview, onChange }: { overview: PolicyOverview; onChange(o: PolicyOverview): void }) {
  const ks = overview.killSwitch;
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setGuardians(r.value.guardians));
  }, []);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const freezer = useRevoker();
  const freezerId = useId();
  const byGuardian = guardians.some((g) => g.id === freezer.fields.who);
  return (
    <section className={`card kill-switch ${ks.engaged ? 'kill-switch-on' : 'kill-switch-off'}`} aria-labelledby="kill-title" data-testid="kill-switch" data-engaged={ks.engaged}>
      <h1 id="kill-title">{ks.engaged ? 'SIGNING IS FROZEN' : 'Signing is allowed'}</h1>
      {ks.engaged ? (
        <p>
          Frozen at <Time iso={ks.changedAt} /> by {ks.changedBy}: “{ks.reason}”. This node co-signs nothing (key checks still run). Resuming needs two guardians.
        </p>
      ) : (
        <>
          <p>The kill switch freezes all signing on this node at once. You need no one's approval to freeze (the operator here, or one guardian signing the freeze); resuming needs two guardians.</p>
          <div className="field">
            <label htmlFor="freeze-reason">Why freeze?</label>
            <input id="freeze-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
          </div>
          <RevokerFields idPrefix={freezerId} guardians={guardians} fields={freezer.fields} words={FREEZE_WORDS} />
          <button
            type="button"
            className="danger big"
            disabled={!reason.trim() || (byGuardian && !freezer.ready(guardians))}
            onClick={async () => {
              const result = await api.policy.engageKillSwitch({ reason: reason.trim(), ...(byGuardian ? { by: freezer.proof(guardians) } : {}) });
              freezer.reset();
              if (!result.ok) return setError(result.error);
              setReason('');
              setError(null);
              onChange(result.value);
            }}
          >
            FREEZE ALL SIGNING NOW
          </button>
        </>
      )}
      <ErrorNotice error={error} />
      {ks.engaged ? (
        <GuardedChange
          title="Resume signing"
          requestLabel="Ask the guardians to resume signing"
          applyLabel="Resume signing"
          request={(r, requester) => api.policy.requestKillSwitchRelease({ reason: r, requester })}
          apply={async (requestId) => {
            const result = await api.policy.releaseKillSwitch({ requestId });
            if (result.ok) onChange(result.value);
            return result;
          }}
          onApplied={() => undefined}
        />
      ) : null}
    </section>
  );
}

function PoliciesPanel({ overview, reload }: { overview: PolicyOverview; reload(): void }) {
  const [text, setText] = useState('');
  const [parseError, setParseError] = useState<AppError | null>(null);
  const parsed = (): unknown => {
    try {
      setParseError(null);
      return JSON.parse(text);
    } catch {
      setParseError({ code: 'VALIDATION_FAILED', message: 'The policy is not valid JSON.' });
      return null;
    }
  };
  return (
    <section className="card" aria-labelledby="policies-title">
      <h1 id="policies-title">Keyset policies</h1>
      {overview.policies.length === 0 ? <p className="hint">No keyset has a policy: this node co-signs nothing.</p> : null}
      {overview.policies.map((p) => (
        <div key={p.keysetId} className="policy" data-testid="keyset-policy">
          <h2 className="mono">{p.keysetId}</h2>
          <dl className="facts">
            <dt>Allowlist</dt>
            <dd className="small">
              {p.allowlist.length === 0 ? '(empty: nothing can be sent)' : null}
              {p.allowlist.map((address) => (
                <div key={address} data-allowlisted={address}>
                  <span className="mono">{address}</span>
                  {p.allowlistLabels?.[address] ? <span className="allowlist-name"> (label: “{p.allowlistLabels[address]}”)</span> : null}
                </div>
              ))}
            </dd>
            <dt>Daily signatures</dt>
            <dd>{p.dailyCountLimit === null ? 'no limit' : `at most ${p.dailyCountLimit}`} ({p.signaturesLast24h} in the last 24 h)</dd>
            <dt>Signing hours</dt>
            <dd>{p.signingHours ? `${p.signingHours.start}–${p.signingHours.end} UTC` : 'any time'}</dd>
            <dt>Permit lifetime</dt>
            <dd>at most {p.permitTtlSeconds} s</dd>
          </dl>
          <table className="audit-table">
            <thead>
              <tr><th>Asset</th><th>Per transaction</th><th>Daily cap</th><th>Guardians above</th><th>Co-signed, 24 h</th></tr>
            </thead>
            <tbody>
              {Object.entries(p.assets).map(([key, a]) => (
                <tr key={key}>
                  <td>{a.symbol} <span className="mono small">{key}</span></td>
                  <td>{a.perTxMax ?? 'no limit'}</td>
                  <td>{a.dailyCap ?? 'no cap'}</td>
                  <td>{a.guardianApprovalAbove ?? '—'}</td>
                  <td>{p.cosignedLast24h[key] ?? '0'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" className="link" onClick={() => setText(JSON.stringify({ keysetId: p.keysetId, allowlist: p.allowlist, allowlistLabels: p.allowlistLabels ?? {}, assets: p.assets, dailyCountLimit: p.dailyCountLimit, signingHours: p.signingHours, permitTtlSeconds: p.permitTtlSeconds }, null, 2))}>
            Edit this policy below
          </button>
        </div>
      ))}
      <GuardedChange
        title="Set a keyset policy"
        requestLabel="Ask the guardians to approve this policy"
        applyLabel="Apply the approved policy"
        request={async (reason, requester) => {
          const policy = parsed();
          return policy ? api.policy.requestChange({ policy: policy as never, reason, requester }) : { ok: false, error: { code: 'VALIDATION_FAILED', message: 'Fix the policy JSON first.' } };
        }}
        apply={async (requestId) => {
          const policy = parsed();
          return policy ? api.policy.change({ policy: policy as never, requestId }) : { ok: false, error: { code: 'VALIDATION_FAILED', message: 'Fix the policy JSON first.' } };
        }}
        onApplied={reload}
      >
        <div className="field">
          <label htmlFor="policy-json">Policy (JSON; amounts are decimal strings in the asset's units; "allowlistLabels" names allowlisted addresses, e.g. {'{"0x…": "Treasury cold wallet"}'})</label>
          <textarea id="policy-json" className="mono" rows={12} value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <ErrorNotice error={parseError} />
      </GuardedChange>
    </section>
  );
}

function IssuersPanel({ reload }: { reload(): void }) {
  const [issuers, setIssuers] = useState<TrustedIssuerView[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  const [form, setForm] = useState({ publicKey: '', fingerprint: '', name: '', lab: false });
  const [removing, setRemoving] = useState('');
  const load = useCallback(async () => {
    const result = await api.permits.issuers({});
    if (result.ok) setIssuers(result.value);
    else setError(result.error);
  }, []);
  useEffect(() => void load(), [load]);
  const done = () => {
    void load();
    reload();
  };
  return (
    <section className="card" aria-labelledby="issuers-title">
      <h1 id="issuers-title">Trusted permit issuers</h1>
      <ErrorNotice error={error} />
      <table className="audit-table">
        <thead>
          <tr><th>Name</th><th>Fingerprint</th><th>Kind</th><th>Enrolled</th><th /></tr>
        </thead>
        <tbody>
          {issuers.map((i) => (
            <tr key={i.fingerprint} data-testid="trusted-issuer">
              <td>{i.name}</td>
              <td className="mono small">{i.fingerprint}</td>
              <td>{i.lab ? <span className="badge">LAB ONLY</span> : 'production'}</td>
              <td className="small"><Time iso={i.enrolledAt} /></td>
              <td><button type="button" className="link" onClick={() => setRemoving(i.fingerprint)}>Remove…</button></td>
            </tr>
          ))}
          {issuers.length === 0 ? <tr><td colSpan={5} className="hint">No trusted issuer: this node accepts no permit.</td></tr> : null}
        </tbody>
      </table>
      <GuardedChange
        title="Trust a new issuer"
        requestLabel="Ask the guardians to trust this issuer"
        applyLabel="Trust the issuer"
        request={(reason, requester) => api.permits.requestIssuerEnrolment({ ...form, reason, requester })}
        apply={(requestId) => api.permits.enrolIssuer({ ...form, requestId })}
        onApplied={done}
      >
        <div className="field"><label htmlFor="issuer-key">Public key (64 hex)</label><input id="issuer-key" className="mono" value={form.publicKey} onChange={(e) => setForm({ ...form, publicKey: e.target.value.trim() })} /></div>
        <div className="field"><label htmlFor="issuer-fingerprint">Fingerprint words, as the issuer's owner reads them to you</label><input id="issuer-fingerprint" className="mono" value={form.fingerprint} onChange={(e) => setForm({ ...form, fingerprint: e.target.value })} /></div>
        <div className="field"><label htmlFor="issuer-name">Issuer name</label><input id="issuer-name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} /></div>
        <label><input type="checkbox" checked={form.lab} onChange={(e) => setForm({ ...form, lab: e.target.checked })} /> Lab issuer (signs for lab keysets only)</label>
      </GuardedChange>
      {removing ? (
        <GuardedChange
          title={`Stop trusting ${removing}`}
          requestLabel="Ask the guardians to remove this issuer"
          applyLabel="Remove the issuer"
          request={(reason, requester) => api.permits.requestIssuerRemoval({ fingerprint: removing, reason, requester })}
          apply={(requestId) => api.permits.removeIssuer({ fingerprint: removing, requestId })}
          onApplied={() => {
            setRemoving('');
            done();
          }}
        />
      ) : null}
    </section>
  );
}

function AuthorizationsPanel({ overview, onChange, reload }: { overview: PolicyOverview; onChange(o: PolicyOverview): void; reload(): void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [revokeReason, setRevokeReason] = useState('');
  const revoker = useRevoker();
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setGuardians(r.value.guardians));
  }, []);
  const revokerId = useId();
  const scope = (): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  };
  const invalid = { ok: false as const, error: { code: 'VALIDATION_FAILED' as const, message: 'The scope is not valid JSON.' } };
  return (
    <section className="card" aria-labelledby="auth-title">
      <h1 id="auth-title">Execution authorizations</h1>
      <p className="hint">While one is active, this node co-signs permits within its scope without anyone at this console approving each one.</p>
      <ErrorNotice error={error} />
      <table className="audit-table">
        <thead>
          <tr><th>Keyset</th><th>Destinations</th><th>Limits</th><th>Until</th><th>State</th><th /></tr>
        </thead>
        <tbody>
          {overview.executionAuthorizations.map((a) => (
            <tr key={a.id} data-testid="execution-authorization" data-state={a.state}>
              <td className="mono small">{a.keysetId}</td>
              <td className="mono small">{a.destinations.join(', ')}</td>
              <td className="small">{Object.entries(a.assets).map(([k, l]) => `${k}: ${l.perTxMax}/tx, ${l.dailyCap}/24 h`).join('; ')}</td>
              <td className="small"><Time iso={a.expiresAt} /></td>
              <td>{a.state === 'active' ? <span className="badge badge-ok">ACTIVE</span> : <span className="badge">{a.state.toUpperCase()}</span>}</td>
              <td>
                {a.state === 'active' || a.state === 'stopped-by-kill-switch' ? (
                  <button
                    type="button"
                    className="danger"
                    disabled={!revokeReason.trim() || !revoker.ready(guardians)}
                    onClick={async () => {
                      const result = await api.policy.revokeExecutionAuthorization({ id: a.id, reason: revokeReason.trim(), by: revoker.proof(guardians) });
                      revoker.reset();
                      if (!result.ok) return setError(result.error);
                      setError(null);
                      onChange(result.value);
                    }}
                  >
                    Revoke now
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="field">
        <label htmlFor="revoke-reason">Reason for revoking (needed to enable the Revoke buttons)</label>
        <input id="revoke-reason" value={revokeReason} maxLength={300} onChange={(e) => setRevokeReason(e.target.value)} />
      </div>
      <RevokerFields idPrefix={revokerId} guardians={guardians} fields={revoker.fields} />
      <GuardedChange
        title="Authorize unattended signing"
        requestLabel="Ask the guardians for this authorization"
        applyLabel="Enable the approved authorization"
        disabled={overview.killSwitch.engaged}
        request={async (reason, requester) => {
          const s = scope();
          return s ? api.policy.requestExecutionAuthorization({ scope: s as never, reason, requester }) : invalid;
        }}
        apply={async (requestId) => {
          const s = scope();
          return s ? api.policy.enableExecutionAuthorization({ scope: s as never, requestId }) : invalid;
        }}
        onApplied={reload}
      >
        <div className="field">
          <label htmlFor="scope-json">Scope (JSON: keysetId, destinations, assets with perTxMax and dailyCap, validForMinutes ≤ 1440)</label>
          <textarea id="scope-json" className="mono" rows={8} value={text} placeholder='{"keysetId": "…", "destinations": ["0x…"], "assets": {"native": {"perTxMax": "1", "dailyCap": "5"}}, "validForMinutes": 60}' onChange={(e) => setText(e.target.value)} />
        </div>
      </GuardedChange>
    </section>
  );
}

export function PolicyScreen() {
  const [overview, setOverview] = useState<PolicyOverview | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const reload = useCallback(async () => {
    const result = await api.policy.overview({});
    if (result.ok) {
      setOverview(result.value);
      setError(null);
    } else setError(result.error);
  }, []);
  useEffect(() => void reload(), [reload]);
  if (!overview) return <ErrorNotice error={error} />;
  return (
    <>
      <ErrorNotice error={error} />
      <KillSwitchPanel overview={overview} onChange={setOverview} />
      <PoliciesPanel overview={overview} reload={() => void reload()} />
      <IssuersPanel reload={() => void reload()} />
      <AuthorizationsPanel overview={overview} onChange={setOverview} reload={() => void reload()} />
    </>
  );
}
