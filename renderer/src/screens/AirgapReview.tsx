import { useState } from 'react';
import type { AirgapReport, AirgapRequestView, AppError } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { Time } from '../components/Time';

/**
 * The receiving side of the air gap: the session requests found in the bundle folder, each with
 * who asks, the keyset, the protocol and what would be signed in words. Nothing is joined until
 * the operator approves that one request; a refusal is audited and the request is skipped after.
 */
export function AirgapReview({ folder, onReport }: { folder: string; onReport(report: AirgapReport): void }) {
  const [requests, setRequests] = useState<AirgapRequestView[] | null>(null);
  const [error, setError] = useState<{ sessionId: string | null; error: AppError } | null>(null);
  const [busy, setBusy] = useState(false);
  const [joined, setJoined] = useState<string[]>([]);

  const review = async () => {
    setError(null);
    const r = await api.cluster.airgapReview({ folder });
    if (r.ok) setRequests(r.value);
    else setError({ sessionId: null, error: r.error });
  };
  const approve = async (sessionId: string) => {
    setBusy(true);
    setError(null);
    const r = await api.cluster.airgapImport({ folder, approve: [sessionId] });
    setBusy(false);
    if (!r.ok) return setError({ sessionId, error: r.error });
    onReport(r.value);
    // The request's own bundle (round 0) names the session in its file name.
    const refused = r.value.refused.find((x) => x.file.includes(`vk-${sessionId.slice(0, 16)}-r000-`));
    if (!r.value.joined.includes(sessionId) && refused) setError({ sessionId, error: { code: refused.code as AppError['code'], message: refused.message } });
    if (r.value.joined.includes(sessionId)) setJoined((list) => [...list, sessionId]);
    await review();
  };
  const refuse = async (sessionId: string) => {
    setBusy(true);
    setError(null);
    const r = await api.cluster.airgapRefuse({ folder, sessionId });
    setBusy(false);
    if (r.ok) setRequests(r.value);
    else setError({ sessionId, error: r.error });
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
          Approved and joined: {joined.map((s) => `${s.slice(0, 16)}…`).join(', ')}. The reply bundles are in {folder}; carry them back to the requester.
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
            <div className="row">
              <button type="button" disabled={busy} onClick={() => void approve(r.sessionId)}>
                Approve and write reply
              </button>
              <button type="button" className="danger" disabled={busy} onClick={() => void refuse(r.sessionId)}>
                Refuse
              </button>
            </div>
          )}
          {error && error.sessionId === r.sessionId ? <ErrorNotice error={error.error} onDismiss={() => setError(null)} /> : null}
        </article>
      ))}
    </div>
  );
}
