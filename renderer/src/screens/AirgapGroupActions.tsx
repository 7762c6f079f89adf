/**
 * Multi-party sessions by files that work on an existing keyset: one presign of an ECDSA keyset
 * with a partner, and the refresh of every share (two guardians approve it first, as for the
 * refresh through the cluster). Each writes its signed request and first round into the folder;
 * the round and whose bundle it waits for show in the panel's progress list.
 */
import { useState } from 'react';
import type { AirgapReport, AppError, KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { GuardianApprovalStep } from '../components/GuardianApprovalStep';
import { useConsole } from '../store';

const keysetLabel = (k: KeysetView) => `${k.lab ? 'LAB · ' : ''}${k.chain} ${k.address?.slice(0, 12) ?? k.keysetId}…`;

export function AirgapGroupActions({ folder, keysets, onReport }: { folder: string; keysets: KeysetView[]; onReport(r: AirgapReport): void }) {
  const nodes = useConsole((s) => s.cluster?.nodes ?? []);
  const active = keysets.filter((k) => k.status === 'active');
  const [presignKeyset, setPresignKeyset] = useState('');
  const [partner, setPartner] = useState('');
  const [refreshKeyset, setRefreshKeyset] = useState('');
  const [requestId, setRequestId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const ecdsa = active.filter((k) => k.scheme === 'ecdsa');
  const presignPeers = nodes.filter((n) => !n.isSelf && ecdsa.find((k) => k.keysetId === presignKeyset)?.participants.some((p) => p.nodeId === n.nodeId));

  const run = async (call: () => ReturnType<typeof api.cluster.airgapPresign>, what: string) => {
    setBusy(true);
    setError(null);
    setNote(null);
    const r = await call();
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setNote(`${what} request written to the folder (session ${r.value.sessionId?.slice(0, 16) ?? ''}…). Carry the folder's new bundles to the other node(s), and import their replies here.`);
    onReport(r.value);
  };

  return (
    <div className="airgap-group-actions" data-testid="airgap-group-actions">
      <div className="row toolbar">
        <label>
          Presign by files, for
          <select value={presignKeyset} onChange={(e) => setPresignKeyset(e.target.value)} data-testid="airgap-presign-keyset">
            <option value="">—</option>
            {ecdsa.map((k) => <option key={k.keysetId} value={k.keysetId}>{keysetLabel(k)}</option>)}
          </select>
        </label>
        <label>
          Presign partner
          <select value={partner} onChange={(e) => setPartner(e.target.value)} data-testid="airgap-presign-partner">
            <option value="">—</option>
            {presignPeers.map((n) => <option key={n.nodeId} value={n.nodeId}>{n.name}</option>)}
          </select>
        </label>
        <button type="button" disabled={busy || !folder || !presignKeyset || !partner} data-testid="airgap-presign" onClick={() => void run(() => api.cluster.airgapPresign({ keysetId: presignKeyset, partner, folder }), 'Presign')}>
          Export presign request
        </button>
      </div>
      <div className="row toolbar">
        <label>
          Share refresh by files, for
          <select value={refreshKeyset} onChange={(e) => { setRefreshKeyset(e.target.value); setRequestId(''); }} data-testid="airgap-refresh-keyset">
            <option value="">—</option>
            {active.map((k) => <option key={k.keysetId} value={k.keysetId}>{keysetLabel(k)}</option>)}
          </select>
        </label>
      </div>
      {refreshKeyset ? (
        <div className="refresh-form" data-testid="airgap-refresh-form">
          <p className="hint">
            A refresh changes the share on all three nodes; the address stays. Each node checks the guardians' approval against its own guardians, and switches to its new share
            only once all three signed completions came back by file. Backups made before stop working; ECDSA keeps its auxiliary data (renewing it needs the cluster).
          </p>
          <GuardianApprovalStep name="airgap-refresh" keysetId={refreshKeyset} askLabel="Ask guardians to approve the refresh" thenWords="export the refresh request here" disabled={busy}
            requestId={requestId} onRequestId={setRequestId} onError={setError} onNote={setNote}
            ask={(reason, proof) => api.refresh.requestApproval({ keysetId: refreshKeyset, newAux: false, reason, requester: proof, ttlMinutes: 60 })}>
            <button type="button" className="primary" disabled={busy || !folder || !requestId} data-testid="airgap-refresh-start"
              onClick={() => void run(() => api.cluster.airgapRefresh({ keysetId: refreshKeyset, requestId, folder }), 'Refresh')}>
              Export refresh request for all three nodes
            </button>
          </GuardianApprovalStep>
        </div>
      ) : null}
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {note ? <p className="notice small" role="status" data-testid="airgap-group-note">{note}</p> : null}
    </div>
  );
}
