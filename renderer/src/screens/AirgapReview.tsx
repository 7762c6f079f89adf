import { useState } from 'react';
import { AIRGAP_REFUSAL_REASON_MAX, type AirgapReport, type AirgapRequestView, type AppError } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { Time } from '../components/Time';

/**
 * The receiving side of the air gap: the session requests found in the bundle folder, each with
 * who asks, the keyset, the protocol and what would be signed in words. Nothing is joined until
 * the operator approves that one request. A refusal needs a reason the requester will read: it
 * is written back to the folder as a signed refusal, kept and audited, and the request is not
 * offered again, after a restart too.
 */
export function AirgapReview({ folder, onReport }: { folder: string; onReport(report: AirgapReport): void }) {
  // The list belongs to the folder it was read from: approving or refusing acts on that folder only.
  const [listed, setListed] = useState<{ folder: string; requests: AirgapRequestView[] } | null>(null);
  const stale = listed !== null && listed.folder !== folder;
  const requests = stale ? null : (listed?.requests ?? null);
  const listedFolder = listed?.folder ?? folder;
  const [error, setError] = useState<{ sessionId: string | null; error: AppError } | null>(null);
  const [busy, setBusy] = useState(false);
  const [joined, setJoined] = useState<string[]>([]);
  const [refused, setRefused] = useState<Array<{ sessionId: string; requester: string }>>([]);

  const review = async (from = folder) => {
    setError(null);
    const r = await api.cluster.airgapReview({ folder: from });
    if (r.ok) setListed({ folder: from, requests: r.value });
    else setError({ sessionId: null, error: r.error });
  };
  const approve = async (sessionId: string) => {
    setBusy(true);
    setError(null);
    const r = await api.cluster.airgapImport({ folder: listedFolder, approve: [sessionId] });
    setBusy(false);
    if (!r.ok) return setError({ sessionId, error: r.error });
    onReport(r.value);
    // The request's own bundle (round 0) names the session in its file name.
    const refused = r.value.refused.find((x) => x.file.includes(`vk-${sessionId.slice(0, 16)}-r000-`));
    if (!r.value.joined.includes(sessionId) && refused) setError({ sessionId, error: { code: refused.code as AppError['code'], message: refused.message } });
    if (r.value.joined.includes(sessionId)) setJoined((list) => [...list, sessionId]);
    await review(listedFolder);
  };
  const refuse = async (request: AirgapRequestView, reason: string) => {
    setBusy(true);
    setError(null);
    const r = await api.cluster.airgapRefuse({ folder: listedFolder, sessionId: request.sessionId, reason });
    setBusy(false);
    if (!r.ok && r.error.code === 'BUNDLE_WRITE_FAILED') {
      // Refused and recorded, only the reply is missing: the request leaves the list, the error stays in view.
      await review(listedFolder);
      return setError({ sessionId: null, error: r.error });
    }
    if (!r.ok) return setError({ sessionId: request.sessionId, error: r.error });
    setListed({ folder: listedFolder, requests: r.value });
    setRefused((list) => [...list, { sessionId: request.sessionId, requester: request.requester.name ?? request.requester.nodeId }]);
  };

  return (
    <div className="airgap-review" data-testid="airgap-review">
      <div className="row">
        <button type="button" disabled={!folder} onClick={() => void review()}>
          Review requests in folder
        </button>
      </div>
      {error && error.sessionId === null ? <ErrorNotice error={error.error} onDismiss={() => setError(null)} /> : null}
      {joined.length > 0 ? (
        <p className="notice small" role="status" data-testid="airgap-joined">
          Approved and joined: {joined.map((s) => `${s.slice(0, 16)}…`).join(', ')}. The reply bundles are in {listedFolder}; carry them back to the requester.
        </p>
      ) : null}
      {refused.length > 0 ? (
        <p className="notice small" role="status" data-testid="airgap-refused">
          Refused: {refused.map((r) => `${r.sessionId.slice(0, 16)}… of ${r.requester}`).join(', ')}. A signed refusal with your reason is in {listedFolder}; carry it back to the requester.
        </p>
      ) : null}
      {stale ? (
        <p className="hint" data-testid="airgap-review-stale">
          The folder changed since the last review ({listed.folder}). Choose "Review requests in folder" to list the requests in {folder || 'the new folder'}.
        </p>
      ) : null}
      {requests !== null && requests.length === 0 ? <p className="hint" data-testid="airgap-review-empty">No session request in this folder waits for this node.</p> : null}
      {requests?.map((r) => (
        <article key={r.sessionId} className="card" data-testid="airgap-request" data-session={r.sessionId} data-kind={r.kind} aria-label={`Session request ${r.sessionId.slice(0, 16)}`}>
          <h3>
            {r.problem ? 'Cannot be joined: ' : 'Asked of this node: '}
            {r.kind === 'permit' ? 'a signature under a permit' : r.kind === 'key-check' ? 'a test signature' : r.kind === 'setup' ? 'a key generation or presign' : 'an unrecognised signature'}
          </h3>
          <dl className="facts">
            <dt>From</dt>
            <dd>{r.requester.name ?? 'an unknown node'} <span className="mono small">{r.requester.nodeId}</span></dd>
            <dt>Keyset</dt>
            <dd className="mono">{r.keyset ?? `${r.keysetId ?? '(none)'} — not held by this node`}</dd>
            <dt>Protocol</dt>
            <dd className="mono">{r.protocol}</dd>
            <dt>{r.problem ? (r.kind === 'setup' ? 'Claims to ask (unverified)' : 'Claims to sign (unverified)') : r.kind === 'setup' ? 'What is asked' : 'What is signed'}</dt>
            <dd data-testid="airgap-request-description">{r.description}</dd>
            {r.expiresAt ? (
              <>
                <dt>Session deadline</dt>
                <dd><Time iso={r.expiresAt} /></dd>
              </>
            ) : null}
            <dt>Bundle file</dt>
            <dd className="mono small">{r.file}</dd>
          </dl>
          {r.problem ? (
            <div className="notice notice-error" role="alert" data-error-code={r.problem.code}>
              <strong>{r.problem.message}</strong>
              <span className="notice-code">{r.problem.code}</span>
            </div>
          ) : (
            <>
              <div className="row">
                <button type="button" disabled={busy} onClick={() => void approve(r.sessionId)}>
                  Approve and write reply
                </button>
              </div>
              <RefuseForm sessionId={r.sessionId} busy={busy} onRefuse={(reason) => void refuse(r, reason)} />
            </>
          )}
          {error && error.sessionId === r.sessionId ? <ErrorNotice error={error.error} onDismiss={() => setError(null)} /> : null}
        </article>
      ))}
    </div>
  );
}

/** The refusal of one request: a required reason, at most AIRGAP_REFUSAL_REASON_MAX characters, read by the requester. */
function RefuseForm({ sessionId, busy, onRefuse }: { sessionId: string; busy: boolean; onRefuse(reason: string): void }) {
  const [reason, setReason] = useState('');
  const id = `refuse-reason-${sessionId.slice(0, 16)}`;
  const empty = reason.trim().length === 0;
  return (
    <div className="field refuse-form">
      <label htmlFor={id}>Reason for refusing (required; the requester reads it)</label>
      <textarea id={id} rows={2} maxLength={AIRGAP_REFUSAL_REASON_MAX} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby={`${id}-count`} />
      <div className="row">
        <span id={`${id}-count`} className="hint small">
          {reason.length} / {AIRGAP_REFUSAL_REASON_MAX} characters{empty ? ' — give a reason to refuse' : ''}
        </span>
        <button type="button" className="danger" disabled={busy || empty} onClick={() => onRefuse(reason.trim())}>
          Refuse
        </button>
      </div>
    </div>
  );
}
