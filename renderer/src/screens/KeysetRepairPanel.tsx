/**
 * Replacing a lost node on the Keysets screen: shown for a keyset one of whose share holders this
 * node replaced by a new machine (Cluster → Peers → Replace). For EdDSA the other nodes rebuild
 * the lost share on the new machine under two guardians' approval; for ECDSA the screen says why
 * that is not possible and what to do instead (restore from backup).
 */
import { useCallback, useEffect, useState } from 'react';
import { keysetJobGroup, type AppError, type KeysetView, type RepairCandidateView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { GuardianApprovalStep } from '../components/GuardianApprovalStep';
import { runningIn, useJobs } from '../jobs';

const POLL_MS = 10_000;

export function KeysetRepairPanel({ k, ready }: { k: KeysetView; ready: boolean }) {
  const [candidate, setCandidate] = useState<RepairCandidateView | null>(null);
  const [open, setOpen] = useState(false);
  const [requestId, setRequestId] = useState('');
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const { jobs, track } = useJobs();
  // The repair runs as a job in main (listed at the top of the screen); a refresh of the keyset blocks it too.
  const running = runningIn(jobs, keysetJobGroup(k.keysetId));

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
    if (!running) void load();
  }, [running, load]);

  if (!candidate || k.status !== 'active') return null;
  if (candidate.refusal) {
    return (
      <div className="notice notice-error" role="note" data-testid="repair-refused">
        Lost node {candidate.lostNode.name} was replaced by {candidate.newNode.name}. {candidate.refusal}
      </div>
    );
  }

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
            If the lost machine may be in someone else's hands, refresh this keyset afterwards: its old share still signs until then.
          </p>
          <GuardianApprovalStep name="repair" keysetId={k.keysetId} askLabel="Ask guardians to approve" thenWords="replace the node here" disabled={starting}
            requestId={requestId} onRequestId={setRequestId} onError={setError} onNote={setNote}
            ask={(reason, proof) => api.repair.requestApproval({ keysetId: k.keysetId, newNodeId: candidate.newNode.nodeId, reason, requester: proof, ttlMinutes: 60 })}>
            <button type="button" className="primary" disabled={!ready || starting || running !== undefined || !requestId} data-testid="repair-run" onClick={async () => {
              setStarting(true);
              setError(null);
              setNote(null);
              const r = await api.repair.start({ keysetId: k.keysetId, newNodeId: candidate.newNode.nodeId, requestId });
              setStarting(false);
              if (r.ok) track(r.value);
              else setError(r.error);
            }}>
              {running?.kind === 'repair' ? `Rebuilding share ${candidate.partyIndex} with the other nodes…` : running ? `Wait: ${running.label} is running` : `Give ${candidate.newNode.name} the lost share`}
            </button>
          </GuardianApprovalStep>
        </div>
      ) : null}
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {note ? <p className="notice small" role="status" data-testid="repair-note">{note}</p> : null}
    </div>
  );
}
