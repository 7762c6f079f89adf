import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { AppError, ApprovalDecision, ApprovalRequestList, ApprovalRequestView, GuardianRegistry, RequestFileExport } from '../../../preload/contract';
import { api } from '../api';
import { AnimatedQr } from '../components/AnimatedQr';
import { ErrorNotice } from '../components/ErrorNotice';
import { QrScanner } from '../components/QrScanner';
import { KeyFilePicker } from '../components/KeyFilePicker';
import { PassphraseField } from '../components/PassphraseField';
import { RequesterFields, useRequester } from '../components/RequesterFields';
import { ApprovalRequestSummary, approvalsInWords, DeviceHash, quorumReached } from './ApprovalRequestSummary';

const REFRESH_MS = 10_000;
type Outcome = { ok: true; value: unknown } | { ok: false; error: AppError };

/** The actions on one pending request: sign, export, import, run. */
function PendingRequest({ request, registry, onChanged, onRan }: { request: ApprovalRequestView; registry: GuardianRegistry | null; onChanged(): void; onRan(message: string): void }) {
  const [error, setError] = useState<AppError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [ledgerId, setLedgerId] = useState('');
  const [ledgerDecision, setLedgerDecision] = useState<ApprovalDecision>('approve');
  const [keyFile, setKeyFile] = useState<{ text: string; name: string } | null>(null);
  const [animatedRequest, setAnimatedRequest] = useState(false);
  const [keyPass, setKeyPass] = useState('');
  const [approvalFile, setApprovalFile] = useState<{ text: string; name: string } | null>(null);
  const [exported, setExported] = useState<RequestFileExport | null>(null);
  const [requesterExport, setRequesterExport] = useState<RequestFileExport | null>(null);
  const [requesterFile, setRequesterFile] = useState<{ text: string; name: string } | null>(null);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  // Only Ledger guardians who may still decide: not the requester, not already recorded.
  const decided = new Set(request.approvals.map((a) => a.guardianId));
  const ledgers = (registry?.guardians ?? []).filter((g) => g.kind === 'ledger' && g.id !== request.requester.guardianId && g.address !== request.requester.address && !decided.has(g.id));
  const tag = request.id.slice(0, 8);

  /** `ran`: the operation ran and the request closes, so this card goes; the screen keeps the message. */
  async function act(work: () => Promise<Outcome>, success: string, ran = false) {
    setBusy(true);
    setError(null);
    setDone(null);
    const result = await work();
    setBusy(false);
    if (result.ok) {
      if (ran) onRan(success);
      else setDone(success);
      onChanged();
    } else {
      setError(result.error);
      onChanged();
    }
  }

  const sign = (decision: ApprovalDecision, how: 'ledger' | 'keyfile') => (event?: FormEvent) => {
    event?.preventDefault();
    if (how === 'ledger') {
      const shownMessageHash = request.ledger?.messageHash[decision] ?? '';
      void act(() => api.approvals.signWithLedger({ requestId: request.id, guardianId: ledgerId, decision, shownMessageHash }), decision === 'approve' ? 'Approved on the Ledger.' : 'Rejected on the Ledger.');
    } else {
      void act(() => api.approvals.signWithKeyFile({ requestId: request.id, keyFile: keyFile?.text ?? '', passphrase: keyPass, decision }), decision === 'approve' ? 'Approved with the key file.' : 'Rejected with the key file.');
      setKeyPass('');
    }
  };

  async function exportFile() {
    setError(null);
    const result = await api.approvals.exportRequest({ requestId: request.id });
    if (result.ok) setExported(result.value);
    else setError(result.error);
  }

  async function exportRequesterFile() {
    setError(null);
    const result = await api.approvals.exportRequesterFile({ requestId: request.id });
    if (result.ok) setRequesterExport(result.value);
    else setError(result.error);
  }

  function runOperation(event: FormEvent) {
    event.preventDefault();
    if (request.operation === 'vault.passphrase.change') {
      void act(() => api.approvals.executePassphraseChange({ requestId: request.id, currentPassphrase: current, newPassphrase: next, confirmation: again }), `Done: the vault passphrase was changed (request ${tag}). Use the new passphrase from now on.`, true);
      setCurrent('');
      setNext('');
      setAgain('');
    } else if (request.operation === 'guardian.replace') {
      void act(() => api.guardians.executeReplacement({ requestId: request.id }), `Done: ${request.subjectLabel} was replaced (request ${tag}). The new guardian counts from now on; see the Guardians screen.`, true);
    }
  }

  const reached = quorumReached(request) && request.requester.signed;
  const runBlocked = reached
    ? null
    : !request.requester.signed
      ? `Not yet: ${request.requester.name} has not signed the request.`
      : `Not yet: ${approvalsInWords(request)}. It unlocks once ${request.quorum} different guardians have approved.`;

  return (
    <article className="card" data-testid="pending-request" data-request-id={request.id} aria-label={`Request ${tag}`}>
      <ApprovalRequestSummary request={request} />
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {done ? <p className="notice notice-ok" role="status">{done}</p> : null}
      {!request.requester.signed ? (
        <div className="sign-panel" data-testid="requester-signature">
          <h3 className="section-label">Waiting for {request.requester.name} to sign the request</h3>
          <p className="hint">{request.requester.name} asked for this operation and signs it on their own machine. Until their signed requester file is imported, no guardian can approve and the operation cannot run.</p>
          <button type="button" className="secondary" onClick={() => void exportRequesterFile()}>Export requester file</button>
          {requesterExport ? (
            <div data-testid="requester-export">
              <p className="hint small">Written to <span className="mono">{requesterExport.path}</span>.</p>
              <img src={requesterExport.qrDataUrl} alt="Requester file as a QR code" width={200} height={200} />
            </div>
          ) : null}
          <KeyFilePicker label="Signed requester file" fileName={requesterFile?.name ?? null} onLoad={(text, name) => setRequesterFile({ text, name })} />
          <button type="button" className="primary" disabled={busy || !requesterFile} onClick={() => void act(() => api.approvals.importRequesterSignature({ fileText: requesterFile?.text ?? '' }), `${request.requester.name}'s signature on the request was accepted. Guardians can now decide.`)}>Import signed requester file</button>
        </div>
      ) : null}
      <h3 className="section-label">Guardians decide</h3>
      {!request.requester.signed ? <p className="hint">Not yet: the requester has not signed.</p> : null}
      <div className="sign-grid" style={request.requester.signed ? undefined : { display: "none" }}>
        <form className="sign-panel" onSubmit={sign(ledgerDecision, 'ledger')} aria-label="Sign with a Ledger">
          <h4>On a Ledger</h4>
          {!request.ledger ? <p className="hint">No Ledger guardian can sign this request.</p> : null}
          {request.ledger && ledgers.length === 0 ? <p className="hint">Every Ledger guardian who may decide has decided.</p> : null}
          {request.ledger && ledgers.length > 0 ? (
            <>
              <div className="field">
                <label htmlFor={`ledger-who-${tag}`}>Ledger guardian</label>
                <select id={`ledger-who-${tag}`} value={ledgerId} onChange={(e) => setLedgerId(e.target.value)}>
                  <option value="">Choose…</option>
                  {ledgers.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
                </select>
              </div>
              <fieldset className="decision">
                <legend>Decision</legend>
                <label><input type="radio" name={`ledger-decision-${tag}`} checked={ledgerDecision === 'approve'} onChange={() => setLedgerDecision('approve')} /> Approve</label>
                <label><input type="radio" name={`ledger-decision-${tag}`} checked={ledgerDecision === 'reject'} onChange={() => setLedgerDecision('reject')} /> Reject</label>
              </fieldset>
              <div className="device-check" data-testid="ledger-hashes" data-decision={ledgerDecision}>
                <p className="device-check-lead">Check that your Ledger shows these two values, then {ledgerDecision} on the device.</p>
                <dl className="device-values">
                  <dt>Domain hash</dt>
                  <dd><DeviceHash value={request.ledger.domainHash} testId="ledger-domain-hash" /></dd>
                  <dt>Message hash</dt>
                  <dd><DeviceHash value={request.ledger.messageHash[ledgerDecision]} testId="ledger-message-hash" /></dd>
                </dl>
                <p className="hint small">If any character differs, reject on the device.</p>
              </div>
              <button type="submit" className={ledgerDecision === 'approve' ? 'primary' : 'secondary'} disabled={busy || !ledgers.some((g) => g.id === ledgerId)}>
                {ledgerDecision === 'approve' ? 'Approve with Ledger' : 'Reject with Ledger'}
              </button>
            </>
          ) : null}
        </form>
        <form className="sign-panel" onSubmit={sign('approve', 'keyfile')} aria-label="Sign with a key file">
          <h4>With a software key file</h4>
          <p className="hint small">Prefer the remote flow on the right: the guardian signs the request file on their own machine and their key never touches this console. Typing a guardian&apos;s passphrase here exposes it to this machine.</p>
          <KeyFilePicker label="Guardian key file" fileName={keyFile?.name ?? null} onLoad={(text, name) => setKeyFile({ text, name })} />
          <PassphraseField id={`sign-pass-${tag}`} label="Guardian key passphrase" value={keyPass} onChange={setKeyPass} />
          <div className="row">
            <button type="submit" className="primary" disabled={busy || !keyFile || !keyPass}>Approve with key file</button>
            <button type="button" className="secondary" disabled={busy || !keyFile || !keyPass} onClick={() => sign('reject', 'keyfile')()}>Reject with key file</button>
          </div>
        </form>
        <div className="sign-panel">
          <h4>Remote guardian (file or QR) — preferred</h4>
          <button type="button" className="secondary" onClick={() => void exportFile()}>Export request file</button>
          {exported ? (
            <div data-testid="request-export">
              <p className="hint small">Written to <span className="mono">{exported.path}</span>. The guardian signs it and returns an approval file.</p>
              <img src={exported.qrDataUrl} alt="Request as a QR code" width={200} height={200} />
            </div>
          ) : null}
          <button type="button" className="secondary" onClick={() => setAnimatedRequest((on) => !on)}>{animatedRequest ? 'Hide the animated QR' : 'Show the request as an animated QR'}</button>
          {animatedRequest ? <AnimatedQr idPrefix={`request-${tag}`} payload={{ kind: 'approval-request', requestId: request.id }} /> : null}
          <KeyFilePicker label="Approval file" fileName={approvalFile?.name ?? null} onLoad={(text, name) => setApprovalFile({ text, name })} />
          <button type="button" className="secondary" disabled={busy || !approvalFile} onClick={() => void act(() => api.approvals.importApproval({ fileText: approvalFile?.text ?? '' }), 'Approval file accepted.')}>Import approval file</button>
          <QrScanner
            idPrefix={`approval-${tag}`}
            label="the approval's animated QR"
            animated={{
              start: { kind: 'approval' },
              onReceived: () => {
                setDone('Approval read by QR and accepted (checked as an approval file is).');
                onChanged();
              },
            }}
          />
        </div>
      </div>
      {request.operation.startsWith('ceremony.') ? (
        <p className="run-zone hint" data-testid="runs-elsewhere">Once approved, this runs from the Ceremony screen, where the operator follows it step by step.</p>
      ) : (
      <form className={`run-zone ${reached ? 'run-zone-ready' : ''}`} onSubmit={runOperation} aria-label="Run the operation">
        <h3>Run: {request.operationLabel}</h3>
        <p className="run-warning">This changes the vault and cannot be undone from this screen. It uses up the approvals.</p>
        {request.operation === 'vault.passphrase.change' ? (
          <>
            <PassphraseField id={`current-${tag}`} label="Current vault passphrase" value={current} onChange={setCurrent} />
            <PassphraseField id={`next-${tag}`} label="New vault passphrase" value={next} onChange={setNext} newPassphrase />
            <PassphraseField id={`again-${tag}`} label="New vault passphrase again" value={again} onChange={setAgain} newPassphrase />
          </>
        ) : null}
        <div className="row run-row">
          <button type="submit" className="danger" disabled={busy || !reached} aria-describedby={`run-reason-${tag}`}>Run operation</button>
          <span id={`run-reason-${tag}`} className={reached ? 'run-reason run-reason-ok' : 'run-reason'} data-testid="run-reason">
            {runBlocked ?? `Quorum reached: ${request.approvals.filter((a) => a.counts).map((a) => a.guardianName).join(' and ')} approved.`}
          </span>
        </div>
      </form>
      )}
    </article>
  );
}

export function ApprovalsScreen() {
  const [list, setList] = useState<ApprovalRequestList | null>(null);
  const [registry, setRegistry] = useState<GuardianRegistry | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [createError, setCreateError] = useState<AppError | null>(null);
  const [reason, setReason] = useState('');
  const requester = useRequester();
  const [ttl, setTtl] = useState(60);
  // Operations that ran: their requests moved to the history, the message stays until dismissed.
  const [ran, setRan] = useState<Array<{ key: number; message: string }>>([]);

  const load = useCallback(async () => {
    const [requests, guardians] = await Promise.all([api.approvals.list({}), api.guardians.list({})]);
    if (requests.ok) setList(requests.value);
    else setError(requests.error);
    if (guardians.ok) setRegistry(guardians.value);
  }, []);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  async function requestChange(event: FormEvent) {
    event.preventDefault();
    setCreateError(null);
    const result = await api.approvals.requestPassphraseChange({ reason, requester: requester.proof(registry?.guardians ?? []), ttlMinutes: ttl });
    requester.reset();
    if (result.ok) {
      setReason('');
      void load();
    } else setCreateError(result.error);
  }

  return (
    <section aria-labelledby="approvals-title">
      <div className="card">
        <h1 id="approvals-title">Approvals</h1>
        <p className="hint">High-risk operations run only after two different guardians approve. The person who requested an operation cannot approve it.</p>
        <ErrorNotice error={error} onDismiss={() => setError(null)} />
      </div>
      {ran.map((r) => (
        <div key={r.key} className="card notice notice-ok" role="status" data-testid="operation-ran">
          <strong>{r.message}</strong>
          <button type="button" className="link" onClick={() => setRan(ran.filter((x) => x.key !== r.key))}>Dismiss</button>
        </div>
      ))}
      <h2 className="screen-heading">Pending requests{list ? ` (${list.pending.length})` : ''}</h2>
      {list && list.pending.length === 0 ? <p className="screen-heading hint">No request is waiting for guardians.</p> : null}
      {list?.pending.map((request) => <PendingRequest key={request.id} request={request} registry={registry} onChanged={() => void load()} onRan={(message) => setRan((all) => [...all, { key: Date.now(), message }])} />)}
      <div className="card">
        <form onSubmit={requestChange} aria-label="Request a vault passphrase change">
          <h2 className="card-title">New request: change the vault passphrase</h2>
          <ErrorNotice error={createError} onDismiss={() => setCreateError(null)} />
          <div className="field">
            <label htmlFor="change-reason">Reason</label>
            <input id="change-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
          </div>
          <RequesterFields idPrefix="change" guardians={registry?.guardians ?? []} fields={requester.fields} />
          <div className="field">
            <label htmlFor="change-ttl">Expires after (minutes)</label>
            <input id="change-ttl" type="number" min={5} max={10080} value={ttl} onChange={(e) => setTtl(Number(e.target.value))} />
          </div>
          <button type="submit" className="primary" disabled={!reason.trim() || !requester.ready(registry?.guardians ?? [])}>Create request</button>
        </form>
      </div>
      <h2 className="screen-heading">History</h2>
      {list && list.history.length === 0 ? <p className="screen-heading hint">No closed requests yet.</p> : null}
      {list?.history.map((request) => (
        <article key={request.id} className="card" data-testid="history-request">
          <ApprovalRequestSummary request={request} />
        </article>
      ))}
    </section>
  );
}
