import { useEffect, useState } from 'react';
import type { AirgapProgressView, AirgapReport, AppError, KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { Time } from '../components/Time';
import { AirgapGroupActions } from './AirgapGroupActions';

const PROTOCOL_WORDS: Record<string, string> = {
  'eddsa-sign': 'EdDSA signature',
  'ecdsa-sign': 'ECDSA signature',
  'eddsa-keygen': 'EdDSA key generation',
  'ecdsa-keygen': 'ECDSA key generation',
  'ecdsa-presign': 'Presign',
  'ecdsa-sign-presigned': 'Presigned signature',
  'eddsa-refresh': 'EdDSA share refresh',
  'ecdsa-refresh-shares': 'ECDSA share refresh',
};

/** Whose bundle a session waits for, in one sentence. */
function waitingSentence(p: AirgapProgressView): string {
  if (p.protocol.endsWith('-sign')) return `Waiting for the partner's next bundle (${p.waitingFor.map((w) => w.name ?? `${w.nodeId.slice(0, 8)}…`).join(', ')}).`;
  const names = p.waitingFor.map((w) => w.name ?? `${w.nodeId.slice(0, 8)}…`).join(' and ');
  if (p.phase === 'completion') return names ? `All rounds done here; waiting for the signed completion of ${names}. Nothing is kept until it arrives.` : 'All rounds done; checking the completions.';
  if (p.round === 0) return 'Preparing the first round.';
  return names ? `Round ${p.round} written; waiting for round ${p.round} from ${names}.` : `Round ${p.round} written; working on the next round.`;
}

/**
 * Key generation by files between the three nodes, presign and share refresh of a keyset by
 * files (AirgapGroupActions), and where each air-gap session stands here: the round written and
 * whose bundle it waits for, refreshed every two seconds, with a cancel for each.
 */
export function AirgapGroupPanel({ folder, keysets, report, onReport }: { folder: string; keysets: KeysetView[]; report: AirgapReport | null; onReport(r: AirgapReport): void }) {
  const [scheme, setScheme] = useState<'eddsa' | 'ecdsa'>('eddsa');
  const [error, setError] = useState<AppError | null>(null);
  const [progress, setProgress] = useState<AirgapProgressView[]>([]);

  useEffect(() => {
    if (report?.progress) setProgress(report.progress);
  }, [report]);
  useEffect(() => {
    const timer = setInterval(async () => {
      const r = await api.cluster.airgapProgress({});
      if (r.ok) setProgress(r.value);
    }, 2_000);
    return () => clearInterval(timer);
  }, []);

  // Ends the session here only; nothing of it is kept, and the other nodes end it at its deadline.
  const cancel = async (sessionId: string) => {
    setError(null);
    const r = await api.cluster.cancelSession({ sessionId });
    if (!r.ok) return setError(r.error);
    const now = await api.cluster.airgapProgress({});
    if (now.ok) setProgress(now.value);
  };

  const start = async () => {
    setError(null);
    const r = await api.cluster.airgapKeygen({ scheme, folder });
    if (!r.ok) return setError(r.error);
    onReport(r.value);
  };

  return (
    <div className="airgap-group" data-testid="airgap-group">
      <div className="row toolbar">
        <label>
          Key generation by files, scheme
          <select value={scheme} onChange={(e) => setScheme(e.target.value as 'eddsa' | 'ecdsa')}>
            <option value="eddsa">EdDSA (Solana)</option>
            <option value="ecdsa">ECDSA (Ethereum)</option>
          </select>
        </label>
        <button type="button" disabled={!folder} onClick={() => void start()}>
          Export key-generation request for all three nodes
        </button>
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      <AirgapGroupActions folder={folder} keysets={keysets} onReport={onReport} />
      {progress.length > 0 ? (
        <ul className="small" data-testid="airgap-progress">
          {progress.map((p) => (
            <li key={p.sessionId} data-session={p.sessionId} data-phase={p.phase}>
              <strong>{PROTOCOL_WORDS[p.protocol] ?? p.protocol}</strong> <span className="mono">{p.sessionId.slice(0, 16)}…</span>: {waitingSentence(p)} Deadline <Time iso={new Date(p.deadlineAt).toISOString()} />.{' '}
              <button type="button" className="small" onClick={() => void cancel(p.sessionId)}>
                Cancel on this node
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
