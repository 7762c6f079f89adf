/**
 * Share backups of this node: which keysets have a current backup, every backup with its epoch
 * and whether a refresh made it dead, writing a backup (each guardian sets their own backup
 * passphrase), verifying a file (publicly, or fully with two guardians) and the guarded restore.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { keysetJobGroup, type AppError, type BackupsOverview, type BackupVerification, type GuardianView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { JobList } from '../components/JobCard';
import { runningIn, useJobPolling, useJobs } from '../jobs';
import { PassphraseField } from '../components/PassphraseField';
import { RequesterFields, useRequester } from '../components/RequesterFields';
import { Time } from '../components/Time';

const STATUS_WORDS: Record<string, { label: string; badge: string }> = {
  current: { label: 'CURRENT — restores this node', badge: 'badge badge-ok' },
  dead: { label: 'DEAD — a refresh replaced this share; it cannot restore', badge: 'badge badge-bad' },
  'keyset-missing': { label: 'No share of this keyset on this node', badge: 'badge badge-bad' },
};

/** Two guardians, each typing their own backup passphrase. */
export function TwoGuardians({ idPrefix, guardians, value, onChange }: { idPrefix: string; guardians: { id: string; name: string }[]; value: { guardianId: string; passphrase: string }[]; onChange(v: { guardianId: string; passphrase: string }[]): void }) {
  return (
    <>
      {[0, 1].map((i) => (
        <div key={i} className="field-group">
          <div className="field">
            <label htmlFor={`${idPrefix}-g${i}`}>Guardian {i + 1}</label>
            <select id={`${idPrefix}-g${i}`} value={value[i]!.guardianId} onChange={(e) => onChange(value.map((v, j) => (j === i ? { ...v, guardianId: e.target.value } : v)))}>
              <option value="">Choose a guardian</option>
              {guardians.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
            </select>
          </div>
          <PassphraseField id={`${idPrefix}-p${i}`} label={`Backup passphrase of guardian ${i + 1}`} value={value[i]!.passphrase} onChange={(p) => onChange(value.map((v, j) => (j === i ? { ...v, passphrase: p } : v)))} />
        </div>
      ))}
    </>
  );
}

function VerificationResult({ v }: { v: BackupVerification }) {
  return (
    <div className={v.ok ? 'notice notice-ok' : 'notice notice-error'} data-testid="backup-verification" data-ok={v.ok} data-depth={v.depth}>
      <strong>{v.ok ? `Backup ${v.backupId.slice(0, 8)} verified (${v.depth === 'full' ? 'full: opened by two guardians, share checked and wiped' : 'public data only, no secret touched'}).` : `Backup ${v.backupId.slice(0, 8)} did NOT pass every check.`}</strong>
      <ul>
        {v.checks.map((c) => (
          <li key={c.name}>
            {c.ok ? '✔' : '✘'} {c.name}: {c.detail}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function BackupsScreen() {
  const [overview, setOverview] = useState<BackupsOverview | null>(null);
  const [loadError, setLoadError] = useState<AppError | null>(null);
  const refresh = useCallback(async () => {
    const r = await api.backup.overview({});
    if (r.ok) setOverview(r.value);
    else setLoadError(r.error);
  }, []);
  useEffect(() => void refresh(), [refresh]);

  // Make a backup
  const [keysetId, setKeysetId] = useState('');
  const [folder, setFolder] = useState('');
  const [partPassphrases, setPartPassphrases] = useState<Record<string, string>>({});
  const [createError, setCreateError] = useState<AppError | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Verify
  const [file, setFile] = useState('');
  const [verifyGuardians, setVerifyGuardians] = useState([{ guardianId: '', passphrase: '' }, { guardianId: '', passphrase: '' }]);
  const [verification, setVerification] = useState<BackupVerification | null>(null);
  const [verifyError, setVerifyError] = useState<AppError | null>(null);

  // Restore
  const [restoreKeyset, setRestoreKeyset] = useState('');
  const [reason, setReason] = useState('');
  const [requestId, setRequestId] = useState('');
  const [restoreGuardians, setRestoreGuardians] = useState([{ guardianId: '', passphrase: '' }, { guardianId: '', passphrase: '' }]);
  const [restoreError, setRestoreError] = useState<AppError | null>(null);
  const [restoreNote, setRestoreNote] = useState<string | null>(null);
  const requester = useRequester();
  const [registry, setRegistry] = useState<GuardianView[]>([]);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setRegistry(r.value.guardians));
  }, []);

  // Writing a backup and restoring run as jobs in main: they go on when this screen is left and show again on return.
  useJobPolling();
  const { jobs, track } = useJobs();
  const watched = useRef(new Set<string>());
  useEffect(() => {
    for (const job of jobs) {
      if (job.state === 'running' && (job.kind === 'backup' || job.kind === 'restore')) watched.current.add(job.id);
      if (job.state === 'running' || !watched.current.delete(job.id)) continue;
      // A backup or restore this screen saw running has ended: the list changed.
      void api.backup.overview({}).then((r) => {
        if (!r.ok) return;
        setOverview(r.value);
        if (job.kind !== 'backup' || job.state !== 'succeeded') return;
        const newest = r.value.backups.filter((b) => b.keysetId === job.result?.keysetId).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
        if (newest) {
          setCreated(newest.filePath);
          setFile(newest.filePath);
        }
      });
    }
  }, [jobs]);
  const keysetBusy = (id: string) => (id ? runningIn(jobs, keysetJobGroup(id)) : undefined);

  const guardians = overview?.guardians ?? [];
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    await work();
    setBusy(false);
  };

  return (
    <main className="screen">
      <ErrorNotice error={loadError} />
      <section className="card" aria-labelledby="backup-keysets-title">
        <h1 id="backup-keysets-title">Backups of this node's shares</h1>
        <p>Each backup holds this node's share of one keyset, encrypted; any two of the three guardians open it with their own backup passphrases. Presignatures are never in a backup.</p>
        <table className="audit-table" data-testid="backup-keysets">
          <thead>
            <tr><th>Keyset</th><th>Scheme</th><th>Address</th><th>Share epoch</th><th>Current backup</th></tr>
          </thead>
          <tbody>
            {(overview?.keysets ?? []).map((k) => (
              <tr key={k.keysetId}>
                <td className="mono">{k.keysetId}</td>
                <td>{k.scheme.toUpperCase()}</td>
                <td className="mono">{k.address}</td>
                <td className="mono">{k.epoch.slice(0, 8)}</td>
                <td>{k.hasCurrentBackup ? <span className="badge badge-ok">yes</span> : <span className="badge badge-bad">NO CURRENT BACKUP</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>Backups written</h2>
        <table className="audit-table" data-testid="backup-list">
          <thead>
            <tr><th>Written</th><th>Keyset</th><th>Epoch</th><th>Status</th><th>File</th><th>Guardians</th></tr>
          </thead>
          <tbody>
            {(overview?.backups ?? []).map((b) => (
              <tr key={b.backupId} data-status={b.status}>
                <td><Time iso={b.createdAt} seconds /></td>
                <td className="mono">{b.keysetId}</td>
                <td className="mono">{b.epoch.slice(0, 8)}</td>
                <td><span className={STATUS_WORDS[b.status]!.badge}>{STATUS_WORDS[b.status]!.label}</span></td>
                <td className="mono">{b.filePath}</td>
                <td>{b.guardians.map((g) => g.name).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="card" aria-labelledby="backup-create-title">
        <h2 id="backup-create-title">Write a backup</h2>
        <div className="field">
          <label htmlFor="backup-keyset">Keyset</label>
          <select id="backup-keyset" value={keysetId} onChange={(e) => setKeysetId(e.target.value)}>
            <option value="">Choose a keyset</option>
            {(overview?.keysets ?? []).map((k) => <option key={k.keysetId} value={k.keysetId}>{k.keysetId} ({k.scheme.toUpperCase()})</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="backup-folder">Folder on the backup medium (full path)</label>
          <input id="backup-folder" className="mono" value={folder} onChange={(e) => setFolder(e.target.value)} />
        </div>
        {guardians.map((g) => (
          <PassphraseField key={g.id} id={`backup-part-${g.id}`} label={`${g.name}: new backup passphrase (only ${g.name} types and keeps it)`} newPassphrase value={partPassphrases[g.id] ?? ''} onChange={(p) => setPartPassphrases({ ...partPassphrases, [g.id]: p })} />
        ))}
        <button
          type="button"
          className="primary"
          disabled={busy || !keysetId || !folder || keysetBusy(keysetId) !== undefined || guardians.length !== 3 || guardians.some((g) => !partPassphrases[g.id])}
          data-testid="backup-write"
          onClick={() =>
            void run(async () => {
              setCreateError(null);
              setCreated(null);
              const r = await api.backup.create({ keysetId, folder, guardianPassphrases: guardians.map((g) => ({ guardianId: g.id, passphrase: partPassphrases[g.id] ?? '' })) });
              setPartPassphrases({});
              if (!r.ok) return setCreateError(r.error);
              watched.current.add(r.value.id);
              track(r.value);
            })
          }
        >
          {keysetBusy(keysetId) ? `Wait: ${keysetBusy(keysetId)!.label} is running` : 'Write the backup'}
        </button>
        <JobList kinds={['backup']} />
        {created ? <p className="notice notice-ok" data-testid="backup-created">Backup written to <span className="mono">{created}</span>. Verify it below, then store the medium away from this machine.</p> : null}
        <ErrorNotice error={createError} />
      </section>

      <section className="card" aria-labelledby="backup-verify-title">
        <h2 id="backup-verify-title">Verify a backup file</h2>
        <div className="field">
          <label htmlFor="verify-file">Backup file (full path)</label>
          <input id="verify-file" className="mono" value={file} onChange={(e) => setFile(e.target.value)} />
        </div>
        <button
          type="button"
          className="secondary"
          disabled={busy || !file}
          onClick={() =>
            void run(async () => {
              setVerifyError(null);
              setVerification(null);
              const r = await api.backup.verify({ file });
              if (!r.ok) return setVerifyError(r.error);
              setVerification(r.value);
            })
          }
        >
          Verify without secrets
        </button>
        <h3>Full verification (two guardians)</h3>
        <TwoGuardians idPrefix="verify" guardians={guardians} value={verifyGuardians} onChange={setVerifyGuardians} />
        <button
          type="button"
          className="secondary"
          disabled={busy || !file || verifyGuardians.some((g) => !g.guardianId || !g.passphrase)}
          onClick={() =>
            void run(async () => {
              setVerifyError(null);
              setVerification(null);
              const r = await api.backup.verifyFull({ file, guardians: verifyGuardians });
              setVerifyGuardians(verifyGuardians.map((g) => ({ ...g, passphrase: '' })));
              if (!r.ok) return setVerifyError(r.error);
              setVerification(r.value);
            })
          }
        >
          Open, check and wipe
        </button>
        {verification ? <VerificationResult v={verification} /> : null}
        <ErrorNotice error={verifyError} />
      </section>

      <section className="card" aria-labelledby="backup-restore-title">
        <h2 id="backup-restore-title">Restore a share from a backup (two guardians)</h2>
        <p>Only onto a vault created from this backup, holding no share of the keyset: nothing is ever overwritten. The restored share must sign a key check with the other nodes before it is kept.</p>
        <div className="field">
          <label htmlFor="restore-keyset">Keyset to restore</label>
          <input id="restore-keyset" className="mono" value={restoreKeyset} onChange={(e) => setRestoreKeyset(e.target.value.trim())} />
        </div>
        <div className="field">
          <label htmlFor="restore-reason">Reason (shown to the guardians)</label>
          <input id="restore-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
        </div>
        <RequesterFields idPrefix="restore-req" guardians={registry} fields={requester.fields} />
        <button
          type="button"
          className="secondary"
          disabled={busy || !file || !restoreKeyset || !reason.trim() || !requester.ready(registry)}
          onClick={() =>
            void run(async () => {
              setRestoreError(null);
              const r = await api.backup.requestRestore({ file, keysetId: restoreKeyset, reason: reason.trim(), requester: requester.proof(registry), ttlMinutes: 60 });
              requester.reset();
              if (!r.ok) return setRestoreError(r.error);
              setRequestId(r.value.id);
              setRestoreNote(`Guardian request ${r.value.id.slice(0, 8)} created. Two guardians approve it on the Approvals screen; then two guardians type their backup passphrases here.`);
            })
          }
        >
          Ask the guardians
        </button>
        <div className="field">
          <label htmlFor="restore-request">Approved request id</label>
          <input id="restore-request" className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value.trim())} />
        </div>
        <TwoGuardians idPrefix="restore" guardians={guardians} value={restoreGuardians} onChange={setRestoreGuardians} />
        <button
          type="button"
          className="primary"
          disabled={busy || !file || !restoreKeyset || !requestId || keysetBusy(restoreKeyset) !== undefined || restoreGuardians.some((g) => !g.guardianId || !g.passphrase)}
          data-testid="backup-restore"
          onClick={() =>
            void run(async () => {
              setRestoreError(null);
              setRestoreNote(null);
              const r = await api.backup.restore({ file, keysetId: restoreKeyset, guardians: restoreGuardians, requestId });
              setRestoreGuardians(restoreGuardians.map((g) => ({ ...g, passphrase: '' })));
              if (!r.ok) return setRestoreError(r.error);
              watched.current.add(r.value.id);
              track(r.value);
            })
          }
        >
          {keysetBusy(restoreKeyset) ? `Wait: ${keysetBusy(restoreKeyset)!.label} is running` : 'Restore the share'}
        </button>
        <JobList kinds={['restore']} />
        {restoreNote ? <p className="notice notice-ok">{restoreNote}</p> : null}
        <ErrorNotice error={restoreError} />
      </section>
    </main>
  );
}
