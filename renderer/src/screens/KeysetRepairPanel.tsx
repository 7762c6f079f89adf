/**
 * Replacing a lost node on the Keysets screen: shown for a keyset one of whose share holders this
 * node replaced by a new machine (Cluster → Peers → Replace). For EdDSA the other nodes rebuild
 * the lost share on the new machine under two guardians' approval; for ECDSA the screen says why
 * that is not possible and what to do instead (restore from backup).
 */
import { useCallback, useEffect, useState } from 'react';
import type { AppError, GuardianView, KeysetView, RepairCandidateView, RepairOutcome } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { RequesterFields, useRequester } from '../components/RequesterFields';

const POLL_MS = 10_000;

export function KeysetRepairPanel({ k, ready }: { k: KeysetView; ready: boolean }) {
  const [candidate, setCandidate] = useState<RepairCandidateView | null>(null);
  const [registry, setRegistry] = useState<GuardianView[]>([]);
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [requestId, setRequestId] = useState('');
  const [busy, setBusy] = useState<'request' | 'run' | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [done, setDone] = useState<RepairOutcome | null>(null);
  const requester = useRequester();

  const load = useCallback(async () => {
    const r = await api.repair.candidates({});
    if (r.ok) setCandidate(r.value.find((c) => c.keysetId === k.keysetId) ?? null);
  }, [k.keysetId]);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(t);
  }, [load]);
  useEffect(() => {
    if (open) void api.guardians.list({}).then((r) => r.ok && setRegistry(r.value.guardians));
  }, [open]);

  if (done) {
    return (
      <div className="notice" role="status" data-testid="repair-done">
        Node {candidate?.newNode.name ?? done.newNode.slice(0, 8)} now holds share {done.partyIndex} of this keyset, rebuilt by the other nodes. The address is unchanged: <span className="mono">{done.address}</span>.
        Approved by {done.approvers.length} guardians. If the lost machine may be in someone else's hands, refresh this keyset now: its old share still signs until then.
      </div>
    );
  }
  if (!candidate || k.status !== 'active') return null;
  if (candidate.refusal) {
    return (
      <div className="notice notice-error" role="note" data-testid="repair-refused">
        Lost node {candidate.lostNode.name} was replaced by {candidate.newNode.name}. {candidate.refusal}
      </div>
    );
  }

  const act = async (which: 'request' | 'run', work: () => Promise<void>) => {
    setBusy(which);
    setError(null);
    setNote(null);
    await work();
    setBusy(null);
    void load();
  };

  return (
    <div className="keyset-repair" data-testid="keyset-repair">
      <p className="notice notice-error" role="alert">
        Share {candidate.partyIndex} of this keyset was held by <strong>{candidate.lostNode.name}</strong>, which you replaced by <strong>{candidate.newNode.name}</strong>. The new machine holds no share yet.
      </p>
      <div className="row">
        <button type="button" className="secondary" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="repair-open">
          {open ? 'Close' : 'Replace a lost node…'}
        </button>
      </div>
      {open ? (
        <div className="repair-form">
          <p className="hint">
            This node and the other surviving share holders rebuild share {candidate.partyIndex} on {candidate.newNode.name}. No node sees another's share, and no full key is made.
            The address stays {k.address}. {candidate.newNode.name} checks the rebuilt share against the keyset's public share before it keeps it; nothing is written anywhere if a check fails.
            All share holders and {candidate.newNode.name} must be online, and two guardians must approve — each node checks the approval against its own guardians.
          </p>
          <div className="field">
            <label htmlFor={`repair-reason-${k.keysetId}`}>Why (guardians see this)</label>
            <input id={`repair-reason-${k.keysetId}`} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="repair-reason" />
          </div>
          <RequesterFields idPrefix={`repair-${k.keysetId}`} guardians={registry} fields={requester.fields} />
          <div className="row">
            <button type="button" disabled={busy !== null || !reason.trim() || !requester.ready(registry)} data-testid="repair-request" onClick={() => void act('request', async () => {
              const r = await api.repair.requestApproval({ keysetId: k.keysetId, newNodeId: candidate.newNode.nodeId, reason: reason.trim(), requester: requester.proof(registry), ttlMinutes: 60 });
              requester.reset();
              if (r.ok) {
                setRequestId(r.value.id);
                setNote(`Request ${r.value.id.slice(0, 8)} created: two guardians approve it on the Approvals screen, then replace the node here.`);
              } else setError(r.error);
            })}>
              Ask guardians to approve
            </button>
            <label>
              Approved request id{' '}
              <input className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value.trim())} size={38} data-testid="repair-request-id" />
            </label>
            <button type="button" className="primary" disabled={!ready || busy !== null || !requestId} data-testid="repair-run" onClick={() => void act('run', async () => {
              const r = await api.repair.run({ keysetId: k.keysetId, newNodeId: candidate.newNode.nodeId, requestId });
              if (r.ok) setDone(r.value);
              else setError(r.error);
            })}>
              {busy === 'run' ? `Rebuilding share ${candidate.partyIndex} with the other nodes…` : `Give ${candidate.newNode.name} the lost share`}
            </button>
          </div>
        </div>
      ) : null}
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {note ? <p className="notice small" role="status" data-testid="repair-note">{note}</p> : null}
    </div>
  );
}
