/**
 * The recovery ceremony: guardians enter their shares one at a time (typed, or the text of the
 * scanned QR), with progress and a reset. Verify-only mode proves the backup without showing
 * anything; recover mode then allows verifying a replacement Ledger or revealing the words.
 */
import { useState, type FormEvent } from 'react';
import type { CeremonyView, RecoveryMode, RecoveryView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { QrScanner } from '../../components/QrScanner';
import { LedgerChecks, RevealGate, useAction } from './shared';

export function RecoveryPanel({ ceremonies }: { ceremonies: CeremonyView[] }) {
  const eligible = ceremonies.filter((c) => c.mode === 'console' && (c.status === 'certified' || c.status === 'awaiting-signatures'));
  const [ceremonyId, setCeremonyId] = useState('');
  const [mode, setMode] = useState<RecoveryMode>('verify');
  const [recovery, setRecovery] = useState<RecoveryView | null>(null);
  const [words, setWords] = useState('');
  const action = useAction();
  const chosen = ceremonyId || eligible[0]?.id || '';

  if (!recovery || recovery.state === 'closed') {
    return (
      <section className="card" aria-labelledby="recovery-title">
        <h1 id="recovery-title">Recovery ceremony</h1>
        <p className="hint">Two guardians bring their share sheets. The console rebuilds the seed and proves it against the recorded seed fingerprint before anything else.</p>
        {eligible.length === 0 ? <p className="hint">No console-generated ceremony has finished yet.</p> : null}
        <div className="field">
          <label htmlFor="recovery-ceremony">Ceremony</label>
          <select id="recovery-ceremony" value={chosen} onChange={(e) => setCeremonyId(e.target.value)}>
            {eligible.map((c) => <option key={c.id} value={c.id}>{c.label} — fingerprint {c.seedFingerprintShort}</option>)}
          </select>
        </div>
        <fieldset className="decision">
          <legend>Mode</legend>
          <label><input type="radio" name="recovery-mode" checked={mode === 'verify'} onChange={() => setMode('verify')} /> Verify only (drill: shows nothing)</label>
          <label><input type="radio" name="recovery-mode" checked={mode === 'recover'} onChange={() => setMode('recover')} /> Recover (then verify or load a Ledger, or show the words)</label>
        </fieldset>
        <button type="button" className="primary" disabled={action.busy || !chosen} onClick={() => void action.run(() => api.ceremony.recoveryStart({ ceremonyId: chosen, mode }), setRecovery)}>Start recovery</button>
        <ErrorNotice error={action.error} />
      </section>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(() => api.ceremony.recoveryShare({ recoveryId: recovery.id, words }), (v) => { setWords(''); setRecovery(v); });
  };
  return (
    <section className="card" aria-labelledby="recovery-title" data-testid="recovery" data-state={recovery.state}>
      <h1 id="recovery-title">Recovery ceremony ({recovery.mode === 'verify' ? 'verify only' : 'recover'})</h1>
      {recovery.state === 'collecting' ? (
        <form onSubmit={submit}>
          <p className="recovery-progress" data-testid="recovery-progress" role="status">{recovery.received} of {recovery.required} shares entered{recovery.receivedIndices.length ? ` (share ${recovery.receivedIndices.join(', ')})` : ''}</p>
          <div className="field">
            <label htmlFor="share-words">Share words of the next guardian (25 words, or the text of the scanned QR)</label>
            <textarea id="share-words" rows={3} spellCheck={false} autoComplete="off" value={words} onChange={(e) => setWords(e.target.value)} />
          </div>
          <QrScanner idPrefix="share" label="the guardian's share QR" onScanned={(text) => setWords(text.trim())} />
          <div className="row">
            <button type="submit" className="primary" disabled={action.busy || !words.trim()}>Enter share</button>
            <button type="button" className="secondary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.recoveryReset({ recoveryId: recovery.id }), setRecovery)}>Reset (discard entered shares)</button>
          </div>
          <ErrorNotice error={action.error} />
        </form>
      ) : null}
      {recovery.state === 'verified' ? <p className="notice notice-ok" role="status" data-testid="recovery-result">Verified: two shares rebuild the recorded seed. Nothing was shown, and the rebuilt seed was wiped.</p> : null}
      {recovery.state === 'recovered' ? (
        <>
          <p className="notice notice-ok" role="status" data-testid="recovery-result">Seed rebuilt and proven against the recorded fingerprint and addresses. It stays in memory until you close this recovery (at most 15 minutes).</p>
          <div className="sign-grid">
            <div className="sign-panel">
              <h4>Verify or load a replacement Ledger</h4>
              <button type="button" className="secondary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.recoveryVerifyLedger({ recoveryId: recovery.id, app: 'ethereum' }), setRecovery)}>Verify the connected Ledger (Ethereum app)</button>
              <button type="button" className="secondary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.recoveryVerifyLedger({ recoveryId: recovery.id, app: 'solana' }), setRecovery)}>Verify the Solana account (Solana app)</button>
              <LedgerChecks checks={recovery.ledgerChecks} />
              <ErrorNotice error={action.error} />
            </div>
            <RevealGate label="Show the 24 words" reveal={(token) => api.ceremony.recoveryReveal({ recoveryId: recovery.id, revealToken: token })} />
          </div>
        </>
      ) : null}
      <button type="button" className="secondary" onClick={() => void action.run(() => api.ceremony.recoveryClose({ recoveryId: recovery.id }), () => setRecovery(null))}>Close recovery (wipe)</button>
    </section>
  );
}
