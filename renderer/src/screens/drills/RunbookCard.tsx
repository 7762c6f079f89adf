import { useState } from 'react';
import type { AppError, GuardianView, KeysetView, RunbookView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { KeyFilePicker } from '../../components/KeyFilePicker';
import { PassphraseField } from '../../components/PassphraseField';
import { useJobs } from '../../jobs';

interface GuardianInput {
  guardianId: string;
  method: 'ledger' | 'software';
  keyFile: { text: string; name: string } | null;
  passphrase: string;
  backupPassphrase: string;
}

const emptyGuardian = (): GuardianInput => ({ guardianId: '', method: 'software', keyFile: null, passphrase: '', backupPassphrase: '' });

/** One runbook: what it rehearses, its steps, what it needs, and the button that runs it as a job. */
export function RunbookCard({ runbook, keysets, guardians, busy, labRunning }: { runbook: RunbookView; keysets: KeysetView[]; guardians: GuardianView[]; busy: boolean; labRunning: boolean }) {
  const track = useJobs((s) => s.track);
  const usable = keysets.filter((k) => k.status === 'active' && (!runbook.needsLab || k.lab));
  const [keysetId, setKeysetId] = useState('');
  const [away, setAway] = useState('');
  const [people, setPeople] = useState<GuardianInput[]>([emptyGuardian(), emptyGuardian()]);
  const [backupFile, setBackupFile] = useState('');
  const [vaultPassphrase, setVaultPassphrase] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const chosenKeyset = keysetId || usable[0]?.keysetId || '';
  const set = (i: number, patch: Partial<GuardianInput>) => setPeople(people.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  const start = async () => {
    setError(null);
    const withBackup = runbook.id === 'share-lost';
    // The operator requests the guarded step of these drills (a restore, a refresh) with the vault passphrase.
    const asRequester = withBackup || runbook.id === 'node-compromised';
    const r = await api.drills.start({
      runbook: runbook.id,
      ...(runbook.needsKeyset && chosenKeyset ? { keysetId: chosenKeyset } : {}),
      ...(runbook.id === 'guardian-unavailable' && away ? { unavailableGuardianId: away } : {}),
      ...(runbook.needsGuardians
        ? { guardians: people.map((p) => ({ guardianId: p.guardianId, signer: p.method === 'ledger' ? { method: 'ledger' as const } : { method: 'software' as const, keyFile: p.keyFile?.text ?? '', passphrase: p.passphrase }, ...(withBackup ? { backupPassphrase: p.backupPassphrase } : {}) })) }
        : {}),
      ...(withBackup ? { backupFile } : {}),
      ...(asRequester ? { vaultPassphrase } : {}),
    });
    if (r.ok) {
      track(r.value);
      setVaultPassphrase('');
      setPeople(people.map((p) => ({ ...p, passphrase: '', backupPassphrase: '' })));
    } else setError(r.error);
  };
  const blocked = runbook.needsLab && !labRunning;
  return (
    <article className="subcard runbook" data-testid={`runbook-${runbook.id}`}>
      <h3>{runbook.title}</h3>
      <p>{runbook.summary}</p>
      <ol className="small">{runbook.steps.map((s, i) => <li key={i}>{s}</li>)}</ol>
      {blocked ? <p className="hint">Runs only in the lab: start the lab cluster on the Keysets screen and make a lab keyset.</p> : null}
      {runbook.needsKeyset ? (
        <div className="field">
          <label htmlFor={`ks-${runbook.id}`}>Keyset</label>
          <select id={`ks-${runbook.id}`} value={chosenKeyset} onChange={(e) => setKeysetId(e.target.value)}>
            {usable.length === 0 ? <option value="">{runbook.needsLab ? 'No lab keyset yet' : 'No keyset yet'}</option> : null}
            {usable.map((k) => <option key={k.keysetId} value={k.keysetId}>{k.chain} {k.address ?? k.keysetId}{k.lab ? ' (LAB)' : ''}</option>)}
          </select>
        </div>
      ) : null}
      {runbook.id === 'guardian-unavailable' ? (
        <div className="field">
          <label htmlFor="away-guardian">Guardian who is unavailable</label>
          <select id="away-guardian" value={away} onChange={(e) => setAway(e.target.value)}>
            <option value="">Choose…</option>
            {guardians.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
          </select>
        </div>
      ) : null}
      {runbook.needsGuardians ? people.map((p, i) => (
        <fieldset key={i} className="subcard">
          <legend>Guardian {i + 1} of 2 taking part</legend>
          <select aria-label={`Guardian ${i + 1}`} value={p.guardianId} onChange={(e) => set(i, { guardianId: e.target.value })}>
            <option value="">Choose…</option>
            {guardians.filter((g) => g.id !== away).map((g) => <option key={g.id} value={g.id}>{g.name} ({g.kind === 'ledger' ? 'Ledger' : 'key file'})</option>)}
          </select>
          <label><input type="radio" checked={p.method === 'ledger'} onChange={() => set(i, { method: 'ledger' })} /> Ledger</label>
          <label><input type="radio" checked={p.method === 'software'} onChange={() => set(i, { method: 'software' })} /> Key file</label>
          {p.method === 'software' ? (
            <>
              <KeyFilePicker label="Key file" fileName={p.keyFile?.name ?? null} onLoad={(text, name) => set(i, { keyFile: { text, name } })} />
              <PassphraseField id={`drill-${runbook.id}-pass-${i}`} label="Key file passphrase" value={p.passphrase} onChange={(v) => set(i, { passphrase: v })} />
            </>
          ) : null}
          {runbook.id === 'share-lost' ? <PassphraseField id={`drill-${runbook.id}-backup-${i}`} label="Their backup passphrase" value={p.backupPassphrase} onChange={(v) => set(i, { backupPassphrase: v })} /> : null}
        </fieldset>
      )) : null}
      {runbook.id === 'share-lost' ? (
        <>
          <div className="field"><label htmlFor="drill-backup-file">Backup file (full path)</label><input id="drill-backup-file" value={backupFile} onChange={(e) => setBackupFile(e.target.value)} /></div>
          <PassphraseField id="drill-vault-pass" label="Vault passphrase (you request the restore)" value={vaultPassphrase} onChange={setVaultPassphrase} />
        </>
      ) : null}
      {runbook.id === 'node-compromised' ? <PassphraseField id="drill-refresh-vault-pass" label="Vault passphrase (you request the refresh)" value={vaultPassphrase} onChange={setVaultPassphrase} /> : null}
      <button type="button" disabled={busy || blocked} onClick={() => void start()}>Run drill: {runbook.title}</button>
      <ErrorNotice error={error} />
    </article>
  );
}
