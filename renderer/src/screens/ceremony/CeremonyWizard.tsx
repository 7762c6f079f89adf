/**
 * The ceremony wizard: request → start → words → transcription check → guardian shares →
 * Ledger verification (Ethereum app, then Solana app) → wipe → guardians sign → certificate. Secret words live only in this
 * component's state on the words step; moving on drops them.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { ApprovalRequestView, CeremonyMode, CeremonyView, GuardianView, SharesIssued, ShareSheet } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { RequesterFields, useRequester } from '../../components/RequesterFields';
import { CertificatePanel } from './CertificatePanel';
import { LedgerChecks, RevealGate, useAction, WordGrid } from './shared';
import { QrFrame } from '../../components/AnimatedQr';

const STEPS: Array<{ step: CeremonyView['step']; label: string }> = [
  { step: 'words', label: '1 Words' },
  { step: 'transcription', label: '2 Check' },
  { step: 'shares', label: '3 Shares' },
  { step: 'ledger', label: '4 Ledger: Ethereum' },
  { step: 'ledger-solana', label: '5 Ledger: Solana' },
  { step: 'finish', label: '6 Wipe' },
  { step: 'signatures', label: '7 Signatures' },
  { step: 'certified', label: '8 Certificate' },
];

function Progress({ step }: { step: CeremonyView['step'] }) {
  const at = STEPS.findIndex((s) => s.step === step);
  return (
    <ol className="steps" aria-label="Ceremony steps">
      {STEPS.map((s, i) => (
        <li key={s.step} className={i < at ? 'step-done' : i === at ? 'step-current' : ''} aria-current={i === at ? 'step' : undefined}>{s.label}</li>
      ))}
    </ol>
  );
}

export function StartCeremony({ onStarted }: { onStarted(ceremony: CeremonyView, words: string[] | null): void }) {
  const [mode, setMode] = useState<CeremonyMode>('console');
  const [label, setLabel] = useState('');
  const [userWallets, setUserWallets] = useState(3);
  const [request, setRequest] = useState<ApprovalRequestView | null>(null);
  const [requestId, setRequestId] = useState('');
  const asking = useAction();
  const starting = useAction();
  const requester = useRequester();
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setGuardians(r.value.guardians));
  }, []);
  return (
    <section className="card" aria-labelledby="ceremony-start-title">
      <h1 id="ceremony-start-title">New master-seed ceremony</h1>
      <p className="hint">A ceremony is a guarded operation: two guardians approve it on the Approvals screen before it can start.</p>
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void asking.run(() => api.ceremony.requestStart({ mode, label, userWallets, requester: requester.proof(guardians), ttlMinutes: 60 }), (value) => {
            requester.reset();
            setRequest(value);
            setRequestId(value.id);
          });
        }}
      >
        <div className="field">
          <label htmlFor="ceremony-mode">Where the seed is generated</label>
          <select id="ceremony-mode" value={mode} onChange={(e) => setMode(e.target.value as CeremonyMode)}>
            <option value="console">On this air-gapped console (24 words, Shamir backup to the guardians, restored onto a Ledger)</option>
            <option value="ledger">On a Ledger (the seed never leaves it; the console records its public keys)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="ceremony-label">Ceremony name</label>
          <input id="ceremony-label" value={label} maxLength={80} onChange={(e) => setLabel(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="ceremony-users">User wallets to record (indices 1–254)</label>
          <input id="ceremony-users" type="number" min={0} max={254} value={userWallets} onChange={(e) => setUserWallets(Number(e.target.value))} />
        </div>
        <RequesterFields idPrefix="ceremony" guardians={guardians} fields={requester.fields} />
        <button type="submit" className="primary" disabled={asking.busy || !label.trim() || !requester.ready(guardians)}>Request guardian approval</button>
        <ErrorNotice error={asking.error} />
      </form>
      {request ? <p className="notice notice-ok" role="status" data-testid="start-request">Approval requested: request <span className="mono">{request.id}</span>. Two guardians approve it on the Approvals screen.</p> : null}
      <form
        className="run-zone"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void starting.run(() => api.ceremony.start({ requestId: requestId.trim() }), (value) => onStarted(value.ceremony, value.words));
        }}
      >
        <h3>Start the approved ceremony</h3>
        <div className="field">
          <label htmlFor="ceremony-request-id">Approved request id</label>
          <input id="ceremony-request-id" className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value)} />
        </div>
        <p className="run-warning">Starting generates the seed. Make sure no camera can see this screen and paper and pen are ready.</p>
        <button type="submit" className="danger" disabled={starting.busy || !requestId.trim()}>Start ceremony</button>
        <ErrorNotice error={starting.error} />
      </form>
    </section>
  );
}

function ShareSheets({ sheets }: { sheets: ShareSheet[] }) {
  return (
    <div className="share-sheets">
      {sheets.map((s) => (
        <article key={s.index} className="share-sheet" data-testid="share-sheet" data-guardian={s.guardianName}>
          <h3>Backup share for {s.guardianName} — share number {s.index}</h3>
          <p className="small">Share fingerprint <span className="mono" data-testid="share-fingerprint">{s.fingerprint.slice(0, 16).toUpperCase().match(/.{4}/g)!.join(' ')}</span>. Any two shares rebuild the seed; one alone reveals nothing.</p>
          <div className="row share-body">
            <WordGrid words={s.words} testId="share-words" />
            <img src={s.qrDataUrl} alt={`QR code of ${s.guardianName}'s share`} width={200} height={200} />
            <figure className="share-ur">
              <QrFrame text={s.ur} caption={`UR code of ${s.guardianName}'s share`} size={200} testId="share-ur" />
              <figcaption className="small">The same share as a UR code (ur:vk-share), with a checksum</figcaption>
            </figure>
          </div>
        </article>
      ))}
    </div>
  );
}

export function CeremonyWizard({ ceremony, initialWords, onChange, onClose }: { ceremony: CeremonyView; initialWords: string[] | null; onChange(c: CeremonyView): void; onClose(): void }) {
  const [words, setWords] = useState<string[] | null>(initialWords);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [issued, setIssued] = useState<SharesIssued | null>(null);
  const action = useAction();
  const c = ceremony;

  return (
    <section className="card" aria-labelledby="wizard-title" data-testid="ceremony-wizard" data-step={c.step}>
      <div className="row spread">
        <h1 id="wizard-title">Ceremony: {c.label}</h1>
        <button type="button" className="secondary" onClick={onClose}>Back to the list</button>
      </div>
      <Progress step={c.step} />
      {c.seedFingerprintShort ? <p>Seed fingerprint <strong className="mono" data-testid="seed-fingerprint">{c.seedFingerprintShort}</strong></p> : null}

      {c.step === 'words' ? (
        <div>
          <h2>Write down the 24 words, in order</h2>
          <p className="run-warning">Shown once. Write each word with its number on the recovery sheet. Do not photograph or type them anywhere.</p>
          {words ? <WordGrid words={words} testId="seed-words" /> : <p className="hint">The words are no longer on screen.</p>}
          <button
            type="button"
            className="primary"
            disabled={action.busy}
            onClick={() => void action.run(() => api.ceremony.transcriptionChallenge({ ceremonyId: c.id }), (v) => { setWords(null); onChange(v); })}
          >
            I have written down all 24 words
          </button>
        </div>
      ) : null}

      {c.step === 'transcription' ? (
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void action.run(() => api.ceremony.checkTranscription({ ceremonyId: c.id, answers }), (v) => { setAnswers({}); onChange(v); });
          }}
        >
          <h2>Check the sheet</h2>
          <p className="hint">Read these words from your sheet, not from memory.</p>
          <div className="check-grid">
            {c.checkPositions.map((p) => (
              <div className="field" key={p}>
                <label htmlFor={`check-${p}`}>Word {p}</label>
                <input id={`check-${p}`} autoComplete="off" spellCheck={false} value={answers[String(p)] ?? ''} onChange={(e) => setAnswers({ ...answers, [String(p)]: e.target.value })} />
              </div>
            ))}
          </div>
          <button type="submit" className="primary" disabled={action.busy}>Check words</button>
          <ErrorNotice error={action.error} />
          <RevealGate label="Show the words again" reveal={(token) => api.ceremony.showWords({ ceremonyId: c.id, revealToken: token })} />
        </form>
      ) : null}

      {c.step === 'shares' ? (
        <div>
          <h2>Guardian backup shares (2 of 3)</h2>
          <p className="hint">Each guardian receives one sheet: 25 words and a QR code. Print or copy each sheet by hand; they are shown once.</p>
          {issued ? (
            <>
              <ShareSheets sheets={issued.sheets} />
              <button type="button" className="primary" onClick={() => { onChange(issued.ceremony); setIssued(null); }}>All three sheets are handed over</button>
            </>
          ) : (
            <button type="button" className="primary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.issueShares({ ceremonyId: c.id }), setIssued)}>Issue the guardian shares</button>
          )}
        </div>
      ) : null}

      {c.step === 'ledger' ? (
        <div>
          <h2>Restore the words onto the Ledger and verify it</h2>
          <p className="hint">On the Ledger: "Restore from recovery phrase", enter the 24 words from the sheet, set a PIN, open the Ethereum app. Then verify: the console reads the addresses and xpub from the device and compares them with this seed.</p>
          <button type="button" className="primary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.verifyLedger({ ceremonyId: c.id }), onChange)}>Verify on the Ledger</button>
          <LedgerChecks checks={c.ledgerChecks} />
        </div>
      ) : null}

      {c.step === 'ledger-solana' ? (
        <div>
          <h2>{c.mode === 'console' ? 'Verify the Solana account on the Ledger' : 'Read the Solana account from the Ledger'}</h2>
          <p className="hint">On the Ledger: close the Ethereum app and open the Solana app. The console then {c.mode === 'console' ? 'reads the Solana account the device derives and compares it with this seed' : 'reads the public key of the Solana vault account'} ({"m/44'/501'/0'/0'"}).</p>
          <button type="button" className="primary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.ledgerSolana({ ceremonyId: c.id }), onChange)}>{c.mode === 'console' ? 'Verify Solana on the Ledger' : 'Read Solana from the Ledger'}</button>
          <LedgerChecks checks={c.ledgerChecks} />
        </div>
      ) : null}

      {c.step === 'finish' ? (
        <div>
          <h2>{c.mode === 'console' ? 'Wipe the seed and record the public material' : 'Record the public material'}</h2>
          <LedgerChecks checks={c.ledgerChecks} />
          <p className="run-warning">{c.mode === 'console' ? 'After this the seed exists only on the Ledger, on the paper sheet and in the guardian shares.' : 'The seed stays on the Ledger.'}</p>
          <button type="button" className="danger" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.finish({ ceremonyId: c.id, ttlMinutes: 60 }), onChange)}>{c.mode === 'console' ? 'Wipe the seed and finish' : 'Finish'}</button>
        </div>
      ) : null}

      {c.step === 'signatures' ? (
        <div>
          <h2>Guardians sign the transcript</h2>
          <p>Transcript hash <span className="mono small" data-testid="transcript-hash">{c.transcriptHash}</span></p>
          <p className="hint">Two guardians approve request <span className="mono" data-testid="certify-request">{c.certifyRequestId}</span> on the Approvals screen: their EIP-712 signature covers this hash.</p>
          <button type="button" className="primary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.certify({ ceremonyId: c.id }), onChange)}>Record the signatures and issue the certificate</button>
        </div>
      ) : null}

      {c.step === 'certified' ? <CertificatePanel ceremony={c} /> : null}
      {c.step === 'aborted' ? <p className="notice notice-error">This ceremony was aborted; its seed was wiped. Start a new ceremony.</p> : null}

      {c.step !== 'transcription' ? <ErrorNotice error={action.error} /> : null}
      {c.status === 'in-progress' ? (
        <button type="button" className="secondary" disabled={action.busy} onClick={() => void action.run(() => api.ceremony.abort({ ceremonyId: c.id }), (v) => { setWords(null); setIssued(null); onChange(v); })}>Abort the ceremony</button>
      ) : null}
    </section>
  );
}
