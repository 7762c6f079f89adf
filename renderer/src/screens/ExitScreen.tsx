/**
 * Emergency exit: the last resort. Two current backups of two different nodes, the guardian
 * quorum, and a new passphrase typed twice give the keyset's full private key as an encrypted
 * keystore. A plain warning before and after; the keyset is marked exported from then on.
 */
import { useCallback, useEffect, useState } from 'react';
import type { AppError, ExitOutcome, ExitOverview, ExitPrecheck, GuardianView, KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { PassphraseField } from '../components/PassphraseField';
import { RequesterFields, useRequester } from '../components/RequesterFields';
import { TwoGuardians } from './BackupsScreen';
import { Time } from '../components/Time';

type Unlock = { guardianId: string; passphrase: string };
const noUnlocks = (): Unlock[] => [{ guardianId: '', passphrase: '' }, { guardianId: '', passphrase: '' }];

export function ExitScreen() {
  const [overview, setOverview] = useState<ExitOverview | null>(null);
  const [keysets, setKeysets] = useState<KeysetView[]>([]);
  const [registry, setRegistry] = useState<GuardianView[]>([]);
  const [loadError, setLoadError] = useState<AppError | null>(null);
  const load = useCallback(async () => {
    const [o, k, g] = await Promise.all([api.exit.overview({}), api.cluster.keysets({}), api.guardians.list({})]);
    if (o.ok) setOverview(o.value);
    else setLoadError(o.error);
    if (k.ok) setKeysets(k.value.filter((x) => x.status === 'active'));
    if (g.ok) setRegistry(g.value.guardians);
  }, []);
  useEffect(() => void load(), [load]);

  const [keysetId, setKeysetId] = useState('');
  const [files, setFiles] = useState(['', '']);
  const [check, setCheck] = useState<ExitPrecheck | null>(null);
  const [checkError, setCheckError] = useState<AppError | null>(null);
  const [reason, setReason] = useState('');
  const requester = useRequester();
  const [requestId, setRequestId] = useState('');
  const [requestError, setRequestError] = useState<AppError | null>(null);
  const [unlocks, setUnlocks] = useState([noUnlocks(), noUnlocks()]);
  const [passphrase, setPassphrase] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [folder, setFolder] = useState('');
  const [understood, setUnderstood] = useState(false);
  const [outcome, setOutcome] = useState<ExitOutcome | null>(null);
  const [exportError, setExportError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const [exporting, setExporting] = useState(false);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    await work();
    setBusy(false);
  };
  const guardians = registry.map((g) => ({ id: g.id, name: g.name }));
  const ready = Boolean(keysetId && files.every(Boolean));

  return (
    <main className="screen">
      <ErrorNotice error={loadError} />
      <section className="card" aria-labelledby="exit-title">
        <h1 id="exit-title">Emergency exit</h1>
        <div className="notice notice-error" role="note" data-testid="exit-warning-before">
          <strong>Last resort.</strong> {overview?.warning}
        </div>
        <p>
          Needs two <strong>current</strong> backups of two <strong>different</strong> nodes of the keyset (each opened by two guardians), the approval of two guardians, and a new passphrase for the keystore. Two live nodes are not offered: that would send a share over the network to one machine. At most 3 attempts per hour
          {overview ? <> — <strong data-testid="exit-attempts-left">{overview.attemptsLeft} left now</strong></> : null}.
        </p>
        {overview?.exports.length ? (
          <table className="audit-table" data-testid="exit-exports">
            <thead>
              <tr><th>Exported</th><th>Keyset</th><th>Address</th><th>File</th></tr>
            </thead>
            <tbody>
              {overview.exports.map((e) => (
                <tr key={e.exportId}>
                  <td><Time iso={e.exportedAt} seconds /></td>
                  <td className="mono">{e.keysetId}</td>
                  <td className="mono">{e.address}</td>
                  <td className="mono">{e.fileName}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>

      <section className="card" aria-labelledby="exit-check-title">
        <h2 id="exit-check-title">1. Keyset and two backups</h2>
        <div className="field">
          <label htmlFor="exit-keyset">Keyset</label>
          <select id="exit-keyset" value={keysetId} onChange={(e) => { setKeysetId(e.target.value); setCheck(null); }}>
            <option value="">Choose a keyset</option>
            {keysets.map((k) => <option key={k.keysetId} value={k.keysetId}>{k.keysetId} ({k.chain} {k.address}){k.exportedAt ? ' — ALREADY EXPORTED' : ''}</option>)}
          </select>
        </div>
        {[0, 1].map((i) => (
          <div key={i} className="field">
            <label htmlFor={`exit-file-${i}`}>Backup {i + 1} (full path; a backup of {i === 0 ? 'one node' : 'another node'})</label>
            <input id={`exit-file-${i}`} className="mono" value={files[i]} onChange={(e) => { setFiles(files.map((f, j) => (j === i ? e.target.value.trim() : f))); setCheck(null); }} />
          </div>
        ))}
        <button
          type="button"
          className="secondary"
          disabled={busy || !ready}
          onClick={() =>
            void run(async () => {
              setCheckError(null);
              const r = await api.exit.check({ keysetId, files });
              if (!r.ok) return setCheckError(r.error);
              setCheck(r.value);
            })
          }
        >
          Check the backups (no secret is opened)
        </button>
        <ErrorNotice error={checkError} />
        {check ? (
          <div className="notice notice-ok" data-testid="exit-check">
            Both backups are current shares of {check.address}: {check.backups.map((b) => `party ${b.partyIndex} (node ${b.nodeId.slice(0, 8)}…, epoch ${b.epoch.slice(0, 8)})`).join(' and ')}. Output: {check.output === 'ethereum-keystore' ? 'Ethereum JSON keystore' : 'Solana keystore (encrypted Ed25519 secret scalar)'}.
          </div>
        ) : null}
      </section>

      <section className="card" aria-labelledby="exit-request-title">
        <h2 id="exit-request-title">2. Ask the guardians</h2>
        <div className="field">
          <label htmlFor="exit-reason">Reason (shown to the guardians)</label>
          <input id="exit-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
        </div>
        <RequesterFields idPrefix="exit-req" guardians={registry} fields={requester.fields} />
        <button
          type="button"
          className="secondary"
          disabled={busy || !check || !reason.trim() || !requester.ready(registry)}
          onClick={() =>
            void run(async () => {
              setRequestError(null);
              const r = await api.exit.request({ keysetId, files, reason: reason.trim(), requester: requester.proof(registry), ttlMinutes: 60 });
              requester.reset();
              if (!r.ok) return setRequestError(r.error);
              setRequestId(r.value.id);
            })
          }
        >
          Ask the guardians to approve the exit
        </button>
        <ErrorNotice error={requestError} />
        <div className="field">
          <label htmlFor="exit-request-id">Approved request id</label>
          <input id="exit-request-id" className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value.trim())} />
        </div>
      </section>

      <section className="card" aria-labelledby="exit-export-title">
        <h2 id="exit-export-title">3. Open the backups and write the keystore</h2>
        {[0, 1].map((i) => (
          <fieldset key={i}>
            <legend>Backup {i + 1}: two guardians type their backup passphrases</legend>
            <TwoGuardians idPrefix={`exit-b${i}`} guardians={guardians} value={unlocks[i]!} onChange={(v) => setUnlocks(unlocks.map((u, j) => (j === i ? v : u)))} />
          </fieldset>
        ))}
        <PassphraseField id="exit-passphrase" label="New passphrase for the keystore" newPassphrase value={passphrase} onChange={setPassphrase} />
        <PassphraseField id="exit-confirmation" label="The same passphrase again" newPassphrase value={confirmation} onChange={setConfirmation} />
        <div className="field">
          <label htmlFor="exit-folder">Folder on an offline medium (full path)</label>
          <input id="exit-folder" className="mono" value={folder} onChange={(e) => setFolder(e.target.value.trim())} />
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} data-testid="exit-understood" /> I understand: after this the keyset is a single point of failure.
        </label>
        <button
          type="button"
          className="danger"
          disabled={busy || !check || !requestId || !passphrase || !confirmation || !folder || !understood || unlocks.some((u) => u.some((g) => !g.guardianId || !g.passphrase))}
          onClick={() =>
            void run(async () => {
              setExportError(null);
              setExporting(true);
              const r = await api.exit.export({ keysetId, backups: files.map((file, i) => ({ file, guardians: unlocks[i]! })), passphrase, confirmation, folder, requestId }).finally(() => setExporting(false));
              setUnlocks([noUnlocks(), noUnlocks()]);
              setPassphrase('');
              setConfirmation('');
              if (!r.ok) return setExportError(r.error);
              setOutcome(r.value);
              await load();
            })
          }
        >
          Rebuild the key and write the keystore
        </button>
        {exporting ? <p className="hint" role="status" data-testid="exit-busy">Working: opening both backups with the guardians' passphrases, rebuilding the key and encrypting the keystore. The passphrase stretching takes several seconds; keep this screen open.</p> : null}
        <ErrorNotice error={exportError} />
        {outcome ? (
          <div className="notice notice-error" role="alert" data-testid="exit-warning-after">
            <strong>Keystore written to <span className="mono">{outcome.filePath}</span>.</strong> {outcome.warning}
          </div>
        ) : null}
      </section>
    </main>
  );
}
