import { useCallback, useEffect, useState } from 'react';
import type { AppError, GuardianChallengeView, KeyCheckOverview, KeyCheckSubjectView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { KeyFilePicker } from '../../components/KeyFilePicker';
import { PassphraseField } from '../../components/PassphraseField';
import { Time } from '../../components/Time';

const KIND_WORDS: Record<KeyCheckSubjectView['kind'], string> = { share: 'Share', guardian: 'Guardian key', backup: 'Backup' };

/** A guardian proves their key: a fresh challenge signed on the Ledger, with the key file, or on their own machine. */
function GuardianCheck({ subject, onDone }: { subject: KeyCheckSubjectView; onDone(): void }) {
  const [challenge, setChallenge] = useState<GuardianChallengeView | null>(null);
  const [keyFile, setKeyFile] = useState<{ text: string; name: string } | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const [signature, setSignature] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (call: () => Promise<{ ok: true; value: unknown } | { ok: false; error: AppError }>) => {
    setBusy(true);
    setError(null);
    const r = await call();
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setPassphrase('');
    setChallenge(null);
    onDone();
  };
  if (!challenge) {
    return (
      <>
        <button type="button" className="secondary" onClick={async () => {
          const r = await api.keyChecks.guardianChallenge({ guardianId: subject.id });
          if (r.ok) setChallenge(r.value);
          else setError(r.error);
        }}>Check this guardian's key</button>
        <ErrorNotice error={error} />
      </>
    );
  }
  return (
    <div className="subcard" data-testid="guardian-challenge">
      <p>Fresh challenge for {challenge.guardianName} ({challenge.guardianAddress}), valid until <Time iso={challenge.expiresAt} />. It approves nothing.</p>
      <button type="button" disabled={busy} onClick={() => void act(() => api.keyChecks.guardianSign({ challengeId: challenge.challengeId, signer: { method: 'ledger' } }))}>Sign on the Ledger</button>
      <KeyFilePicker label="Or the guardian's key file" fileName={keyFile?.name ?? null} onLoad={(text, name) => setKeyFile({ text, name })} />
      <PassphraseField id={`kc-pass-${challenge.challengeId}`} label="Key file passphrase" value={passphrase} onChange={setPassphrase} />
      <button type="button" disabled={busy || !keyFile || !passphrase} onClick={() => void act(() => api.keyChecks.guardianSign({ challengeId: challenge.challengeId, signer: { method: 'software', keyFile: keyFile!.text, passphrase } }))}>Sign with the key file</button>
      <details>
        <summary>The guardian signs on their own machine</summary>
        <p className="small">Sign this typed data with eth_signTypedData_v4 and paste the signature:</p>
        <pre className="small">{JSON.stringify(challenge.typedData, null, 1)}</pre>
        <div className="field"><label htmlFor={`kc-sig-${challenge.challengeId}`}>Signature (0x…)</label><input id={`kc-sig-${challenge.challengeId}`} value={signature} onChange={(e) => setSignature(e.target.value.trim())} spellCheck={false} /></div>
        <button type="button" disabled={busy || !signature} onClick={() => void act(() => api.keyChecks.guardianAnswer({ challengeId: challenge.challengeId, signature }))}>Check the signature</button>
      </details>
      <ErrorNotice error={error} />
    </div>
  );
}

/** Every share, guardian key and backup with its last check and next due date; overdue ones first, in red. */
export function KeyChecksPanel() {
  const [view, setView] = useState<KeyCheckOverview | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [running, setRunning] = useState<string | null>(null);
  const refresh = useCallback(async () => {
    const r = await api.keyChecks.overview({});
    if (r.ok) setView(r.value);
    else setError(r.error);
  }, []);
  useEffect(() => void refresh(), [refresh]);
  const check = async (s: KeyCheckSubjectView) => {
    setRunning(s.id);
    setError(null);
    const r = s.kind === 'share' ? await api.keyChecks.checkShare({ keysetId: s.id }) : await api.keyChecks.checkBackup({ backupId: s.id });
    setRunning(null);
    if (!r.ok) setError(r.error);
    await refresh();
  };
  if (!view) return <section className="card"><h2>Key checks</h2><ErrorNotice error={error} /></section>;
  return (
    <section className="card" aria-labelledby="key-checks-title" data-testid="key-checks">
      <h2 id="key-checks-title">Key checks — {view.overdueCount ? <span className="badge badge-danger">{view.overdueCount} OVERDUE</span> : 'all up to date'}</h2>
      <p className="hint">Each share, guardian key and backup proves itself every {view.intervalDays} days without revealing anything.</p>
      <ErrorNotice error={error} />
      {view.subjects.length === 0 ? <p>Nothing to check yet.</p> : null}
      <table className="table">
        <thead><tr><th>What</th><th>Last check</th><th>Next due</th><th /></tr></thead>
        <tbody>
          {view.subjects.map((s) => (
            <tr key={`${s.kind}-${s.id}`} data-testid="key-check" data-kind={s.kind} data-overdue={s.overdue ? 'true' : 'false'} className={s.overdue ? 'row-danger' : undefined}>
              <td><strong>{KIND_WORDS[s.kind]}</strong><br /><span className="small">{s.label}</span></td>
              <td>{s.lastCheckedAt ? <><Time iso={s.lastCheckedAt} /> — <strong>{s.lastOutcome === 'passed' ? 'passed' : 'FAILED'}</strong><br /><span className="small">{s.lastDetail}</span></> : 'Never checked'}</td>
              <td>{s.overdue ? <span className="badge badge-danger">OVERDUE {s.days} day(s)</span> : <>in {s.days} day(s)</>}<br /><Time iso={s.nextDueAt} /></td>
              <td>
                {s.kind === 'guardian'
                  ? <GuardianCheck subject={s} onDone={() => void refresh()} />
                  : <button type="button" disabled={running !== null} onClick={() => void check(s)}>{running === s.id ? 'Checking…' : 'Check now'}</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
