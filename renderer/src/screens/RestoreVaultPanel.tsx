/**
 * First run on a replacement machine: a new vault that takes the node identity from a share
 * backup, opened by two of the guardians the backup names. The share itself is restored later,
 * from the Backups screen, with the guardians' approval.
 */
import { useState } from 'react';
import type { AppError, BackupInspection } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { PassphraseField } from '../components/PassphraseField';
import { useConsole } from '../store';
import { Time } from '../components/Time';

export function RestoreVaultPanel() {
  const refreshStatus = useConsole((s) => s.refreshStatus);
  const [file, setFile] = useState('');
  const [inspection, setInspection] = useState<BackupInspection | null>(null);
  const [unlocks, setUnlocks] = useState([{ guardianId: '', passphrase: '' }, { guardianId: '', passphrase: '' }]);
  const [passphrase, setPassphrase] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  const inspect = async () => {
    setError(null);
    setInspection(null);
    const r = await api.backup.inspect({ file });
    if (!r.ok) return setError(r.error);
    setInspection(r.value);
  };

  const create = async () => {
    setBusy(true);
    setError(null);
    const r = await api.backup.createVaultFromBackup({ file, guardians: unlocks, passphrase, confirmation });
    setBusy(false);
    setUnlocks(unlocks.map((u) => ({ ...u, passphrase: '' })));
    if (!r.ok) return setError(r.error);
    setPassphrase('');
    setConfirmation('');
    await refreshStatus();
  };

  return (
    <section className="card narrow" aria-labelledby="restore-vault-title">
      <h2 id="restore-vault-title">Or: restore this node from a share backup</h2>
      <p>For a replacement machine. The new vault takes the node identity from the backup; the share is restored afterwards, on the Backups screen, once two guardians approve.</p>
      <div className="field">
        <label htmlFor="restore-vault-file">Backup file (full path)</label>
        <input id="restore-vault-file" className="mono" value={file} onChange={(e) => setFile(e.target.value)} />
      </div>
      <button type="button" className="secondary" disabled={!file} onClick={() => void inspect()}>
        Read the backup
      </button>
      {inspection ? (
        <>
          <div className="notice notice-ok" data-testid="backup-inspection">
            <strong>Signature checked.</strong>
            <ul>
              <li>Node {inspection.nodeId.slice(0, 8)}…</li>
              <li>Keyset {inspection.keysetId} ({inspection.scheme.toUpperCase()})</li>
              <li>Address {inspection.address}</li>
              <li>Written <Time iso={inspection.createdAt} /></li>
            </ul>
          </div>
          {[0, 1].map((i) => (
            <div key={i}>
              <div className="field">
                <label htmlFor={`restore-vault-g${i}`}>Guardian {i + 1}</label>
                <select id={`restore-vault-g${i}`} value={unlocks[i]!.guardianId} onChange={(e) => setUnlocks(unlocks.map((u, j) => (j === i ? { ...u, guardianId: e.target.value } : u)))}>
                  <option value="">Choose a guardian</option>
                  {inspection.guardians.map((g) => <option key={g.guardianId} value={g.guardianId}>{g.name} ({g.address.slice(0, 10)}…)</option>)}
                </select>
              </div>
              <PassphraseField id={`restore-vault-p${i}`} label={`Backup passphrase of guardian ${i + 1}`} value={unlocks[i]!.passphrase} onChange={(p) => setUnlocks(unlocks.map((u, j) => (j === i ? { ...u, passphrase: p } : u)))} />
            </div>
          ))}
          <PassphraseField id="restore-vault-passphrase" label="New vault passphrase" value={passphrase} onChange={setPassphrase} newPassphrase />
          <PassphraseField id="restore-vault-confirmation" label="New vault passphrase again" value={confirmation} onChange={setConfirmation} newPassphrase />
          <button type="button" className="primary" disabled={busy || !passphrase || !confirmation || unlocks.some((u) => !u.guardianId || !u.passphrase)} onClick={() => void create()}>
            {busy ? 'Opening the backup and creating the vault…' : 'Create the vault from this backup'}
          </button>
        </>
      ) : null}
      <ErrorNotice error={error} />
    </section>
  );
}
