/**
 * Share refresh of one keyset on the Keysets screen: its share epoch and schedule (due, due soon,
 * overdue), its backups (current or made dead by a refresh), an interrupted refresh to finish,
 * and the refresh itself: ask two guardians to approve, then run it as a job.
 */
import { useCallback, useEffect, useState } from 'react';
import { keysetJobGroup, type AppError, type KeysetRefreshView, type KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { GuardianApprovalStep } from '../components/GuardianApprovalStep';
import { Time } from '../components/Time';
import { runningIn, useJobs } from '../jobs';

const POLL_MS = 5_000;

function DueBadge({ v }: { v: KeysetRefreshView }) {
  if (v.state === 'overdue') return <span className="badge badge-bad" data-testid="refresh-overdue">REFRESH OVERDUE by {-v.daysLeft} day(s)</span>;
  if (v.state === 'due-soon') return <span className="badge badge-warn" data-testid="refresh-due-soon">Refresh due in {v.daysLeft} day(s)</span>;
  return <span className="badge badge-ok">Refresh due in {v.daysLeft} days</span>;
}

export function KeysetRefreshPanel({ k, ready }: { k: KeysetView; ready: boolean }) {
  const [view, setView] = useState<KeysetRefreshView | null>(null);
  const [open, setOpen] = useState(false);
  const [newAux, setNewAux] = useState(false);
  const [requestId, setRequestId] = useState('');
  const [days, setDays] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const { jobs, track } = useJobs();
  // A refresh and a repair of one keyset exclude each other (both change its shares).
  const running = runningIn(jobs, keysetJobGroup(k.keysetId));

  const load = useCallback(async () => {
    const r = await api.refresh.list({});
    if (r.ok) setView(r.value.find((x) => x.keysetId === k.keysetId) ?? null);
  }, [k.keysetId]);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(t);
  }, [load]);

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    await work();
    setBusy(false);
    void load();
  };
  if (!view || k.status !== 'active') return null;

  return (
    <div className="keyset-refresh" data-testid="keyset-refresh" data-state={view.state}>
      <dl className="facts">
        <dt>Share epoch</dt>
        <dd data-testid="refresh-epoch">{view.shareEpoch}{view.refreshedAt ? <> (refreshed <Time iso={view.refreshedAt} />)</> : ' (never refreshed)'}</dd>
        <dt>Next refresh</dt>
        <dd>
          <DueBadge v={view} /> <Time iso={view.dueAt} /> — every {view.intervalDays} days{view.intervalIsDefault ? ' (default)' : ''}
        </dd>
        <dt>Backups</dt>
        <dd data-testid="refresh-backups">{view.backups.current} current{view.backups.dead ? `, ${view.backups.dead} dead (made before a refresh: they no longer restore this keyset)` : ''}</dd>
      </dl>
      {view.interrupted ? (
        <div className="notice notice-error" role="alert" data-testid="refresh-interrupted">
          <p>
            A refresh to share epoch {view.interrupted.toEpoch} was interrupted on this node (started <Time iso={view.interrupted.startedAt} />). The new share is sealed beside the old one.
            "Finish interrupted refresh" signs a key check with the other nodes to prove which share they hold, then keeps that one.
          </p>
          <button type="button" className="primary" disabled={!ready || busy} onClick={() => void act(async () => {
            const r = await api.refresh.finishInterrupted({ keysetId: k.keysetId });
            if (r.ok) setNote(r.value.kept === 'new' ? `The new share signed with the other nodes: this node switched to epoch ${r.value.epoch}.` : `No other node holds the new share; the old share signed with them, so it stays (epoch ${r.value.epoch}) and the new one was dropped.`);
            else setError(r.error);
          })}>
            {busy ? 'Proving with a key check…' : 'Finish interrupted refresh'}
          </button>
        </div>
      ) : null}
      <div className="row">
        <button type="button" className="secondary" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="refresh-open">
          {open ? 'Close share refresh' : 'Refresh shares…'}
        </button>
      </div>
      {open ? (
        <div className="refresh-form">
          <p className="hint">
            A refresh changes the share on all three nodes; the address stays {k.address}. Backups made before it stop working (make new ones after), and presignatures are
            discarded. All three nodes must be online, and two guardians must approve.
          </p>
          {k.scheme === 'ecdsa' ? (
            <label>
              <input type="checkbox" checked={newAux} onChange={(e) => setNewAux(e.target.checked)} data-testid="refresh-new-aux" /> Also renew the auxiliary data (Paillier keys) of
              the node group — after a suspected compromise. It needs the key-generation window open on the peers; the keyset signs with the old data until the switch.
            </label>
          ) : null}
          <GuardianApprovalStep name="refresh" keysetId={k.keysetId} askLabel="Ask guardians to approve the refresh" thenWords="start the refresh here" disabled={busy}
            requestId={requestId} onRequestId={setRequestId} onError={setError} onNote={setNote}
            ask={(reason, proof) => api.refresh.requestApproval({ keysetId: k.keysetId, newAux, reason, requester: proof, ttlMinutes: 60 })}>
            <button type="button" className="primary" disabled={!ready || busy || running !== undefined || !requestId} data-testid="refresh-start" onClick={() => void act(async () => {
              const r = await api.refresh.start({ keysetId: k.keysetId, requestId, newAux });
              if (r.ok) track(r.value);
              else setError(r.error);
            })}>
              {running?.kind === 'refresh' ? 'Refreshing…' : running ? `Wait: ${running.label} is running` : 'Start refresh'}
            </button>
          </GuardianApprovalStep>
          <div className="row">
            <label>
              Refresh every{' '}
              <input type="number" min={1} max={3650} value={days} placeholder={String(view.intervalDays)} onChange={(e) => setDays(e.target.value)} style={{ width: 80 }} /> days
            </label>
            <button type="button" disabled={busy} onClick={() => void act(async () => {
              const r = await api.refresh.setInterval({ keysetId: k.keysetId, days: days.trim() === '' ? null : Number(days) });
              if (r.ok) setNote(`Refresh interval: every ${r.value.intervalDays} days; next due ${r.value.dueAt.slice(0, 10)}.`);
              else setError(r.error);
            })}>
              Save interval
            </button>
          </div>
        </div>
      ) : null}
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {note ? <p className="notice small" role="status" data-testid="refresh-note">{note}</p> : null}
    </div>
  );
}
