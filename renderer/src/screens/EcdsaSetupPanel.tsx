import { useEffect, useState } from 'react';
import type { AppError, KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { JobList } from '../components/JobCard';
import { runningIn, useJobs } from '../jobs';
import { useConsole } from '../store';
import { Time } from '../components/Time';

/** "3 min ago" / "in 42 min": ages and expiries a tired operator reads at a glance. */
export function relative(iso: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text = abs < 90_000 ? `${Math.round(abs / 1000)} s` : abs < 90 * 60_000 ? `${Math.round(abs / 60_000)} min` : `${(abs / 3_600_000).toFixed(1)} h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/**
 * ECDSA setup of this node's group: the prime pool (pregenerated safe primes) and the group's
 * auxiliary data, generated once in the background so that each ECDSA key generation is fast.
 */
export function EcdsaSetupPanel({ ready }: { ready: boolean }) {
  const { cluster, applyCluster, refreshCluster } = useConsole();
  const { jobs, track } = useJobs();
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  // The auxiliary data is a job owned by main (the screen polls jobs): leaving the screen or
  // reloading finds it running, and the button stays disabled while it, or a key generation, runs.
  const busy = runningIn(jobs, 'keygen');
  const lastAuxEnded = jobs.find((j) => j.kind === 'aux' && j.state !== 'running')?.id;
  useEffect(() => {
    if (lastAuxEnded) void refreshCluster();
  }, [lastAuxEnded, refreshCluster]);
  if (!cluster) return null;
  const pool = cluster.primePool;
  const active = cluster.auxGroups.find((g) => g.status === 'active') ?? null;
  const prepare = async () => {
    setError(null);
    setStarting(true);
    const r = await api.jobs.startAux({});
    setStarting(false);
    if (r.ok) track(r.value);
    else setError(r.error);
  };
  const fill = async () => {
    setError(null);
    const r = await api.cluster.fillPrimePool({});
    if (r.ok) applyCluster(r.value);
    else setError(r.error);
  };
  return (
    <section className="card" aria-labelledby="ecdsa-setup-title" data-testid="ecdsa-setup">
      <h1 id="ecdsa-setup-title">ECDSA setup of this signer group</h1>
      <dl className="facts">
        <dt>Prime pool</dt>
        <dd data-testid="prime-pool-level">
          {pool.level} of {pool.target} ready{pool.filling ? ' — generating the next one in the background' : ''}
        </dd>
        <dt>Auxiliary data</dt>
        <dd data-testid="aux-status">
          {active ? <>ready since <Time iso={active.createdAt} /> (id {active.auxId.slice(0, 12)}…, {active.participants.join(', ')})</> : 'not generated yet: each ECDSA key generation then also generates its own (minutes)'}
        </dd>
      </dl>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      <div className="row">
        <button type="button" className="primary" disabled={!ready || starting || busy !== undefined} onClick={() => void prepare()} data-testid="prepare-aux">
          {active ? 'Regenerate auxiliary data (after a suspected compromise)' : 'Prepare ECDSA auxiliary data'}
        </button>
        <button type="button" disabled={pool.filling || pool.level >= pool.target} onClick={() => void fill()} data-testid="fill-prime-pool">
          {pool.filling ? 'Filling prime pool…' : 'Fill prime pool now'}
        </button>
      </div>
      {busy?.kind === 'keygen' ? <p className="hint">Disabled while the key generation below runs: it takes the same three nodes.</p> : null}
      <JobList kinds={['aux']} />
      {cluster.running.length > 0 ? (
        <table className="audit-table" data-testid="running-sessions">
          <thead>
            <tr><th>Running here</th><th>Step</th><th /></tr>
          </thead>
          <tbody>
            {cluster.running.map((r) => (
              <tr key={r.sessionId}>
                <td>{r.protocol} <span className="mono small">{r.sessionId.slice(0, 12)}…</span></td>
                <td>{r.label}{r.total > 0 ? ` ${r.step}/${r.total}` : ''}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    onClick={async () => {
                      const res = await api.cluster.cancelSession({ sessionId: r.sessionId });
                      if (res.ok) applyCluster(res.value);
                      else setError(res.error);
                    }}
                  >
                    Cancel
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <p className="hint">Auxiliary data is made once per group of three nodes and reused by every ECDSA keyset of the group. Existing keysets keep signing while new data is generated.</p>
    </section>
  );
}

/** Presignature pool of one ECDSA keyset: level, age, next expiry and the target setting. */
export function PresignaturePoolFacts({ k, onChanged }: { k: KeysetView; onChanged(): void }) {
  const [target, setTarget] = useState(k.presignaturePool?.target ?? 0);
  const [error, setError] = useState<AppError | null>(null);
  const pool = k.presignaturePool;
  if (!pool) return null;
  const save = async () => {
    setError(null);
    const r = await api.cluster.presignatureTarget({ keysetId: k.keysetId, target });
    if (r.ok) onChanged();
    else setError(r.error);
  };
  return (
    <div className="presignature-pool" data-testid="presignature-pool">
      <dl className="facts">
        <dt>Presignatures</dt>
        <dd data-testid="presignature-level">
          {pool.ready} ready of target {pool.target}{pool.refilling ? ' — refilling' : ''}
          {pool.ready === 0 ? ' (signing runs the full protocol, slower)' : ''}
        </dd>
        <dt>Oldest</dt>
        <dd>{relative(pool.oldestAt)}</dd>
        <dt>Next expiry</dt>
        <dd>{relative(pool.nextExpiryAt)}</dd>
      </dl>
      <label>
        Keep ready{' '}
        <input type="number" min={0} max={pool.cap} value={target} onChange={(e) => setTarget(Math.max(0, Math.min(pool.cap, Number(e.target.value) || 0)))} style={{ width: 64 }} />{' '}
        presignatures
      </label>{' '}
      <button type="button" onClick={() => void save()} data-testid="presignature-target-save">Save</button>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
    </div>
  );
}
