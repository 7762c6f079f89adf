/**
 * Review of one permit, for a tired operator who must not misread it: the transaction in words,
 * every check with pass or fail, who approved upstream, the live countdown, the daily-cap
 * headroom after this permit. Approve, or reject with a reason; above the guardian threshold,
 * ask the guardians and record their approval.
 */
import { useCallback, useEffect, useState } from 'react';
import type { AppError, GuardianView, PermitReviewView, QrReceiveOutcome } from '../../../../preload/contract';
import { api } from '../../api';
import { AnimatedQr } from '../../components/AnimatedQr';
import { ErrorNotice } from '../../components/ErrorNotice';
import { QrScanner } from '../../components/QrScanner';
import { ExportedMark, useExportedKeysets } from '../../components/ExportedMark';
import { RequesterFields, useRequester } from '../../components/RequesterFields';
import { timeLeft, useNow } from './time-left';
import { Time } from '../../components/Time';

function GuardianApproval(props: { permitId: string; onRecorded(): void }) {
  const requester = useRequester();
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  const [reason, setReason] = useState('');
  const [requestId, setRequestId] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setGuardians(r.value.guardians));
  }, []);
  return (
    <fieldset className="guarded-change" aria-label="Guardian approval">
      <legend>Large withdrawal: guardian approval of this permit</legend>
      <div className="field">
        <label htmlFor="guardian-reason">Reason (shown to the guardians)</label>
        <input id="guardian-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
      </div>
      <RequesterFields idPrefix="guardian-req" guardians={guardians} fields={requester.fields} />
      <button
        type="button"
        className="secondary"
        disabled={reason.trim().length < 3 || !requester.ready(guardians)}
        onClick={async () => {
          const r = await api.permits.requestGuardianApproval({ permitId: props.permitId, reason: reason.trim(), requester: requester.proof(guardians), ttlMinutes: 60 });
          requester.reset();
          if (!r.ok) return setError(r.error);
          setError(null);
          setRequestId(r.value.id);
          setNote(`Guardian request ${r.value.id.slice(0, 8)} created; two guardians approve it on the Approvals screen, then record it here.`);
        }}
      >
        Ask the guardians
      </button>
      <div className="field">
        <label htmlFor="guardian-request">Approved request id</label>
        <input id="guardian-request" className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value.trim())} />
      </div>
      <button
        type="button"
        className="primary"
        disabled={!requestId}
        onClick={async () => {
          const r = await api.permits.recordGuardianApproval({ permitId: props.permitId, requestId });
          if (!r.ok) return setError(r.error);
          setError(null);
          setNote('Guardian approval recorded for this permit.');
          props.onRecorded();
        }}
      >
        Record guardian approval
      </button>
      {note ? <p className="notice notice-ok">{note}</p> : null}
      <ErrorNotice error={error} />
    </fieldset>
  );
}

export function ReviewPanel(props: { permitId: string; onClose(): void; onChanged(): void }) {
  const [review, setReview] = useState<PermitReviewView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const exported = useExportedKeysets();
  const now = useNow();
  const load = useCallback(async () => {
    const r = await api.permits.review({ permitId: props.permitId });
    if (r.ok) setReview(r.value);
    else setError(r.error);
  }, [props.permitId]);
  useEffect(() => {
    void load();
  }, [load]);
  if (!review) return <ErrorNotice error={error} />;
  const { item, transaction: tx } = review;
  const left = timeLeft(item.expiresAt, now);
  const pending = item.state === 'pending';
  const done = async (result: { ok: boolean; error?: AppError }) => {
    if (!result.ok) return setError(result.error ?? null);
    setError(null);
    await load();
    props.onChanged();
  };
  return (
    <section className="card review" aria-labelledby="review-title" data-testid="review">
      <div className="spread">
        <h3 id="review-title">Review permit {item.permitId}</h3>
        <button type="button" className="link" onClick={props.onClose}>
          Close
        </button>
      </div>
      <ExportedMark exportedAt={exported.get(item.keysetId)} />
      <p className={left.seconds < 20 ? 'expiry-soon' : ''} data-testid="countdown" aria-live="polite">
        <strong>{item.state === 'pending' || item.state === 'approved' ? left.text : item.state}</strong> · expires <Time iso={item.expiresAt} />
      </p>
      {item.reason ? <p className="notice notice-error" data-testid="review-reason">{item.reason}</p> : null}
      <table className="review-words" data-testid="review-words">
        <tbody>
          <tr>
            <th scope="row">Chain</th>
            <td>{tx.chain}</td>
          </tr>
          <tr>
            <th scope="row">From</th>
            <td className="mono">{tx.from}</td>
          </tr>
          {tx.transfers.map((t, i) => (
            <tr key={i}>
              <th scope="row">Send</th>
              <td>
                <strong className="big">
                  {t.amount} {t.symbol}
                </strong>{' '}
                to <span className="mono">{t.destination}</span>{' '}
                {t.allowlistName ? (
                  <span className="allowlist-name" data-testid="allowlist-name" title="The name this keyset's allowlist gives the address: a reminder, not the address">
                    (allowlist label: “{t.allowlistName}”)
                  </span>
                ) : null}{' '}
                {t.allowlistLabel ? <span className="badge badge-ok">{t.allowlistLabel}</span> : <span className="badge badge-bad">NOT on the allowlist</span>}
              </td>
            </tr>
          ))}
          <tr>
            <th scope="row">Fee cap</th>
            <td>{tx.feeCap ?? '—'}</td>
          </tr>
          <tr>
            <th scope="row">Nonce</th>
            <td>{tx.nonce ?? '—'}</td>
          </tr>
          <tr>
            <th scope="row">Data</th>
            <td>{tx.data}</td>
          </tr>
          {tx.instructions.map((ins, i) => (
            <tr key={`i${i}`}>
              <th scope="row">Instruction {i + 1}</th>
              <td>{ins}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {tx.warnings.map((w, i) => (
        <p key={i} className="notice notice-error run-warning">
          ⚠ {w}
        </p>
      ))}
      <p className="section-label">Checks at this node</p>
      <ul className="check-list" data-testid="review-checks">
        {review.checks.map((c) => (
          <li key={c.id} data-check={c.id} data-status={c.status}>
            <span className={`badge ${c.status === 'pass' ? 'badge-ok' : c.status === 'fail' ? 'badge-bad' : ''}`}>{c.status === 'pass' ? 'PASS' : c.status === 'fail' ? 'FAIL' : 'NOT CHECKED'}</span> <strong>{c.label}</strong> — {c.detail}
          </li>
        ))}
      </ul>
      <p className="section-label">Upstream</p>
      <p data-testid="review-upstream">
        Issuer {review.issuer ? `"${review.issuer.name}" (${review.issuer.fingerprint})` : 'unknown'} · KYT {review.upstream.kyt} · policy {review.upstream.policy} · approved by {review.upstream.approvedBy.join(', ') || 'nobody'} ({review.upstream.count} of {review.upstream.required} required) · request {review.upstream.txRequestId}, wallet {review.upstream.walletId}
      </p>
      <p className="section-label">Daily cap after this permit</p>
      <ul data-testid="review-headroom">
        {review.headroom.map((h) => (
          <li key={h.symbol}>
            {h.symbol}: {h.dailyCap === null ? `no daily cap (${h.usedAfter} in 24 h after this)` : `${h.usedAfter} of ${h.dailyCap} used in 24 h after this (${h.usedBefore} before); ${h.leftAfter} left`}
          </li>
        ))}
      </ul>
      {item.guardianReasons.length > 0 && !item.guardianApproved && (item.state === 'pending' || item.state === 'approved') ? <GuardianApproval permitId={item.permitId} onRecorded={() => void load()} /> : null}
      <div className="toolbar">
        <button type="button" className="primary" disabled={!pending} onClick={async () => done(await api.permits.queueApprove({ permitId: item.permitId }))}>
          Approve this permit
        </button>
        <button type="button" className="danger" disabled={!(pending || item.state === 'approved')} onClick={() => setRejecting(true)}>
          Reject…
        </button>
      </div>
      {rejecting ? (
        <div className="field-row">
          <div className="field">
            <label htmlFor="reject-reason">Why is it rejected?</label>
            <input id="reject-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
          </div>
          <button
            type="button"
            className="danger"
            disabled={reason.trim().length < 3}
            onClick={async () => {
              await done(await api.permits.queueReject({ permitId: item.permitId, reason: reason.trim() }));
              setRejecting(false);
            }}
          >
            Reject permit
          </button>
        </div>
      ) : null}
      <ErrorNotice error={error} />
      <Eip4527Panel permitId={review.item.permitId} />
    </section>
  );
}

/**
 * EIP-4527 interop: the permit's transaction as `eth-sign-request` / `sol-sign-request` for an
 * external QR signer, and its `eth-signature` / `sol-signature` read back. Main accepts only a
 * signature answering a request it showed, valid for the keyset address over that transaction,
 * for a permit that is approved, and records it in the queue as a console signature is.
 */
function Eip4527Panel({ permitId }: { permitId: string }) {
  const [showing, setShowing] = useState(false);
  const [signed, setSigned] = useState<Extract<QrReceiveOutcome, { kind: 'sign-result' }> | null>(null);
  return (
    <div className="eip4527" data-testid="eip4527">
      <button type="button" className="secondary" onClick={() => setShowing((on) => !on)}>
        {showing ? 'Hide the EIP-4527 signing request' : 'Show as an EIP-4527 signing request (QR wallets)'}
      </button>
      {showing ? (
        <>
          <AnimatedQr idPrefix="eip4527" payload={{ kind: 'sign-request', permitId }} />
          <QrScanner idPrefix="eip4527" label="the signature QR" animated={{ start: { kind: 'sign-result' }, onReceived: (view) => setSigned(view.outcome.kind === 'sign-result' ? view.outcome : null) }} />
        </>
      ) : null}
      {signed ? (
        <p className="notice notice-ok" data-testid="eip4527-signed">
          Signature for request {signed.requestId} verified and recorded: permit {signed.permitId} is signed in the queue. Signed transaction <span className="mono">{signed.signedTxHash}</span>: <span className="mono signed-tx">{signed.signedTx}</span>
        </p>
      ) : null}
    </div>
  );
}
