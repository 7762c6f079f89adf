import { useCallback, useEffect, useState } from 'react';
import type { AppError, ClusterSessionView, KeyCheckPurpose, KeyCheckView, KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { ExportedMark } from '../components/ExportedMark';
import { JobList } from '../components/JobCard';
import { Time } from '../components/Time';
import { runningIn, useJobPolling, useJobs } from '../jobs';
import { useConsole } from '../store';
import { AirgapPanel } from './AirgapPanel';
import { ClusterMembershipPanel } from './ClusterMembershipPanel';
import { ClusterSessions } from './ClusterSessions';
import { EcdsaSetupPanel, PresignaturePoolFacts } from './EcdsaSetupPanel';
import { KeysetRefreshPanel } from './KeysetRefreshPanel';
import { KeysetRepairPanel } from './KeysetRepairPanel';

const REFRESH_MS = 3_000;
type Scheme = 'ecdsa' | 'eddsa';
const LABEL: Record<Scheme, string> = { eddsa: 'EdDSA keyset (Solana)', ecdsa: 'ECDSA keyset (Ethereum)' };

/** Seconds since `since`, ticking, so a long key generation visibly works. */
function useElapsed(since: number | null): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (since === null) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [since]);
  return since === null ? 0 : Math.max(0, Math.floor((now - since) / 1000));
}

function ClusterPanel({ onError }: { onError(e: AppError | null): void }) {
  const { cluster, applyCluster } = useConsole();
  const [busy, setBusy] = useState<'start' | 'stop' | null>(null);
  const [since, setSince] = useState<number | null>(null);
  const elapsed = useElapsed(since);
  if (!cluster) return null;
  const run = async (what: 'start' | 'stop') => {
    setBusy(what);
    setSince(Date.now());
    onError(null);
    const result = what === 'start' ? await api.cluster.startLab({}) : await api.cluster.stopLab({});
    setBusy(null);
    setSince(null);
    if (result.ok) applyCluster(result.value);
    else onError(result.error);
  };
  return (
    <section className="card" aria-labelledby="cluster-title">
      <h1 id="cluster-title">Signer cluster</h1>
      <dl className="facts">
        <dt>Mode</dt>
        <dd data-testid="cluster-mode">{cluster.mode === 'lab' ? 'Lab cluster on this machine' : cluster.mode === 'configured' ? 'Configured cluster' : 'No cluster configured'}</dd>
        <dt>Coordinator</dt>
        <dd className="mono">{cluster.connected ? `${cluster.coordinatorUrl ?? ''} (cluster "${cluster.clusterId ?? ''}")` : 'not connected'}</dd>
      </dl>
      {cluster.mode === 'none' && !cluster.connected ? (
        <>
          <p className="hint">
            No cluster is configured. A lab cluster starts a coordinator and two signer nodes on this computer (127.0.0.1) so you can try key generation and signing. All
            three shares are then on one machine: never use it for real funds.
          </p>
          {cluster.lab.available ? (
            <button type="button" className="primary" disabled={busy !== null} onClick={() => void run('start')}>
              {busy === 'start' ? `Starting lab cluster… ${elapsed} s` : 'Start lab cluster'}
            </button>
          ) : (
            <p className="hint" data-testid="lab-unavailable">{cluster.lab.unavailableReason}</p>
          )}
        </>
      ) : null}
      <KeygenWindowControl onError={onError} />
      {cluster.mode === 'lab' ? (
        <button type="button" className="secondary" disabled={busy !== null} onClick={() => void run('stop')}>
          {busy === 'stop' ? 'Stopping…' : 'Stop lab cluster'}
        </button>
      ) : null}
      <h2>Nodes</h2>
      <table className="audit-table">
        <thead>
          <tr><th>Name</th><th>Node id</th><th>Fingerprint</th><th>Status</th><th /></tr>
        </thead>
        <tbody>
          {cluster.nodes.map((n) => (
            <tr key={n.nodeId} data-testid="cluster-node" data-status={n.status}>
              <td>{n.name}{n.isSelf ? ' (this console)' : ''}</td>
              <td className="mono small">{n.nodeId}</td>
              <td className="mono small">{n.fingerprint}</td>
              <td>
                {n.status === 'quarantined' ? <span className="badge badge-bad">QUARANTINED</span> : <span className="badge badge-ok">enrolled</span>}
                {n.quarantineReason ? <div className="small">{n.quarantineReason}</div> : null}
              </td>
              <td>
                {n.status === 'quarantined' ? (
                  // One operator releases for now; this may later require a guardian quorum.
                  <button
                    type="button"
                    onClick={async () => {
                      const r = await api.cluster.releasePeer({ nodeId: n.nodeId });
                      if (r.ok) applyCluster(r.value);
                      else onError(r.error);
                    }}
                  >
                    Release
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** "Accept key generation from peers for N minutes": without it, peers' keygen invites are refused. */
function KeygenWindowControl({ onError }: { onError(e: AppError | null): void }) {
  const { cluster, applyCluster } = useConsole();
  const [minutes, setMinutes] = useState(10);
  if (!cluster) return null;
  const set = async (m: number) => {
    onError(null);
    const r = await api.cluster.keygenWindow({ minutes: m });
    if (r.ok) applyCluster(r.value);
    else onError(r.error);
  };
  const until = cluster.keygenWindowUntil;
  return (
    <div className="keygen-window" data-testid="keygen-window">
      {until ? (
        <>
          <p>This node accepts key generation requested by its peers until <Time iso={new Date(until).toISOString()} />.</p>
          <button type="button" className="secondary" onClick={() => void set(0)}>Stop accepting key generation</button>
        </>
      ) : (
        <>
          <p className="hint">Key generation requested by a peer is refused unless you accept it here (a key generation you start on this console always runs).</p>
          <label>
            Accept key generation from peers for{' '}
            <input type="number" min={1} max={1440} value={minutes} onChange={(e) => setMinutes(Math.max(1, Math.min(1440, Number(e.target.value) || 1)))} style={{ width: 80 }} /> minutes
          </label>{' '}
          <button type="button" onClick={() => void set(minutes)}>Accept</button>
        </>
      )}
    </div>
  );
}

/** "Test signature (key check)": the cluster signs a key-check message, never a transaction. */
function KeyCheckButton({ k, ready }: { k: KeysetView; ready: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<KeyCheckView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    const r = await api.cluster.keyCheck({ keysetId: k.keysetId, purpose: 'key-check' });
    setBusy(false);
    if (r.ok) setResult(r.value);
    else setError(r.error);
  };
  return (
    <div className="key-check">
      <button type="button" disabled={!ready || busy || k.status !== 'active'} onClick={() => void run()} data-testid="key-check">
        {busy ? 'Signing key check…' : 'Test signature (key check)'}
      </button>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {result ? (
        <p className="notice small" role="status" data-testid="key-check-result">
          Key check signed by {result.parties.length} nodes and verified under this keyset's public key (session {result.sessionId.slice(0, 12)}…).
        </p>
      ) : null}
    </div>
  );
}

/** Starts a presign job for an ECDSA keyset; disabled while one runs for it. */
function PresignButton({ k, ready }: { k: KeysetView; ready: boolean }) {
  const { jobs, track } = useJobs();
  const [error, setError] = useState<AppError | null>(null);
  const running = runningIn(jobs, `presign:${k.keysetId}`);
  const start = async () => {
    setError(null);
    const r = await api.jobs.startPresign({ keysetId: k.keysetId });
    if (r.ok) track(r.value);
    else setError(r.error);
  };
  return (
    <div className="key-check">
      <button type="button" disabled={!ready || running !== undefined || k.status !== 'active'} onClick={() => void start()} data-testid="presign">
        {running ? 'Making a presignature…' : 'Make a presignature'}
      </button>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
    </div>
  );
}

function KeysetCard({ k, ready, onChanged }: { k: KeysetView; ready: boolean; onChanged(): void }) {
  return (
    <article className={k.lab ? 'keyset keyset-lab' : 'keyset'} data-testid="keyset" data-scheme={k.scheme} data-lab={k.lab ? 'true' : 'false'}>
      {k.lab ? <div className="lab-mark" data-testid="keyset-lab-mark">LAB KEYSET — NOT FOR REAL FUNDS</div> : null}
      <ExportedMark exportedAt={k.exportedAt} />
      {k.addressQr ? (
        <figure className="keyset-qr">
          <img src={k.addressQr} alt={`QR code of the ${k.chain} address${k.lab ? ' (lab keyset, not for real funds)' : ''}`} width={160} height={160} data-testid="keyset-qr" />
          <figcaption className={k.lab ? 'lab-caption' : 'small'} data-testid="keyset-qr-caption">{k.qrCaption}</figcaption>
        </figure>
      ) : null}
      <dl className="facts">
        <dt>Chain</dt>
        <dd>{k.chain} ({k.scheme.toUpperCase()}, {k.threshold}-of-{k.participants.length})</dd>
        <dt>Address</dt>
        <dd className="mono" data-testid="keyset-address">{k.address ?? '—'}</dd>
        <dt>key_ref</dt>
        <dd className="mono small">{k.keyRef}</dd>
        <dt>Participants</dt>
        <dd>{k.participants.map((p) => `${p.name} (#${p.partyIndex})`).join(', ')}</dd>
        <dt>Status</dt>
        <dd>{k.status}</dd>
        <dt>Created</dt>
        <dd><Time iso={k.createdAt} /></dd>
      </dl>
      <PresignaturePoolFacts k={k} onChanged={onChanged} />
      <div className="keyset-actions">
        <KeyCheckButton k={k} ready={ready} />
        {k.scheme === 'ecdsa' ? <PresignButton k={k} ready={ready} /> : null}
      </div>
      <KeysetRefreshPanel k={k} ready={ready} />
      <KeysetRepairPanel k={k} ready={ready} />
    </article>
  );
}

export function KeysetsScreen() {
  const { cluster, refreshCluster } = useConsole();
  const [keysets, setKeysets] = useState<KeysetView[]>([]);
  const [sessions, setSessions] = useState<ClusterSessionView[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  const [starting, setStarting] = useState(false);
  useJobPolling();
  const { jobs, track } = useJobs();
  // Main owns key generation: a job running (started here, before a reload, or elsewhere) keeps Create disabled.
  const keygen = runningIn(jobs, 'keygen');

  const load = useCallback(async () => {
    const [k, s] = await Promise.all([api.cluster.keysets({}), api.cluster.sessions({})]);
    if (k.ok) setKeysets(k.value);
    if (s.ok) setSessions(s.value);
    void refreshCluster();
  }, [refreshCluster]);

  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);

  // Starts the job and returns at once; progress and the outcome come from jobs.list.
  const create = async (scheme: Scheme) => {
    setError(null);
    setStarting(true);
    const result = await api.jobs.startKeygen({ scheme });
    setStarting(false);
    if (result.ok) track(result.value);
    else setError(result.error);
  };

  // A key generation that ended: show its keyset (and session) without waiting for the next refresh.
  const lastEnded = jobs.find((j) => j.kind === 'keygen' && j.state !== 'running')?.id;
  useEffect(() => {
    if (lastEnded) void load();
  }, [lastEnded, load]);

  const ready = cluster?.connected ?? false;
  return (
    <>
      <ClusterPanel onError={setError} />
      <ClusterMembershipPanel />
      <EcdsaSetupPanel ready={ready} />
      <section className="card" aria-labelledby="keysets-title">
        <h1 id="keysets-title">Keysets</h1>
        <ErrorNotice error={error} onDismiss={() => setError(null)} />
        <div className="row">
          {(['eddsa', 'ecdsa'] as const).map((scheme) => (
            <button key={scheme} type="button" className="primary" disabled={!ready || starting || keygen !== undefined} onClick={() => void create(scheme)}>
              Create {LABEL[scheme]}
            </button>
          ))}
        </div>
        {!ready ? <p className="hint">Connect to a cluster (or start the lab cluster) to create a keyset.</p> : null}
        {keygen ? <p className="hint">{keygen.kind === 'aux' ? 'Create is disabled while the auxiliary data above is generated: it takes the same three nodes.' : 'Create is disabled while the key generation below runs: one key generation at a time.'}</p> : null}
        <JobList kinds={['keygen', 'presign', 'refresh', 'repair']} />
        {keygen && keygen.kind === 'keygen' && keygen.label.startsWith('ECDSA') ? <p className="hint">{cluster?.auxGroups.some((g) => g.status === 'active') ? 'Auxiliary data ready: only the distributed key generation runs.' : 'No auxiliary data yet: threshold ECDSA key generation takes tens of seconds to a few minutes.'}</p> : null}
        {keysets.length === 0 ? <p className="hint">No keysets yet.</p> : null}
        <div className="keysets">
          {keysets.map((k) => <KeysetCard key={k.keysetId} k={k} ready={ready} onChanged={() => void load()} />)}
        </div>
      </section>
      <ClusterSessions sessions={sessions} />
      <AirgapPanel keysets={keysets} onError={setError} onChanged={() => void load()} />
    </>
  );
}
