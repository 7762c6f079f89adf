import { useState, type FormEvent } from 'react';
import type { AppError } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { PassphraseField } from '../components/PassphraseField';
import { useConsole } from '../store';
import { RestoreVaultPanel } from './RestoreVaultPanel';

/** First run: create the vault that protects everything this console stores. */
export function SetupScreen() {
  const applyStatus = useConsole((s) => s.applyStatus);
  const [passphrase, setPassphrase] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = applyStatus(await api.vault.create({ passphrase, confirmation }));
    setBusy(false);
    if (!result.ok) setError(result.error);
    else {
      setPassphrase('');
      setConfirmation('');
    }
  }

  return (
    <>
    <main className="card narrow" aria-labelledby="setup-title">
      <h1 id="setup-title">Create the vault</h1>
      <p>
        The vault passphrase encrypts everything this console keeps: its node identity, key shares and guardian keys.
        There is no recovery without it. Choose a long passphrase, write it down, and keep it apart from this machine.
      </p>
      <form onSubmit={submit}>
        <PassphraseField id="passphrase" label="Vault passphrase" value={passphrase} onChange={setPassphrase} autoFocus newPassphrase />
        <PassphraseField id="confirmation" label="Type it again" value={confirmation} onChange={setConfirmation} newPassphrase />
        <ErrorNotice error={error} />
        <button type="submit" className="primary" disabled={busy || !passphrase || !confirmation}>
          {busy ? 'Creating vault… (deriving the key takes a moment)' : 'Create vault'}
        </button>
      </form>
    </main>
    <RestoreVaultPanel />
    </>
  );
}
