import { useEffect, useState, type FormEvent } from 'react';
import type { AppError } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { PassphraseField } from '../components/PassphraseField';
import { useConsole } from '../store';

function useSecondsUntil(epochMs: number | null): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!epochMs) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [epochMs]);
  return epochMs ? Math.max(0, Math.ceil((epochMs - now) / 1000)) : 0;
}

export function UnlockScreen() {
  const status = useConsole((s) => s.status);
  const applyStatus = useConsole((s) => s.applyStatus);
  const refreshStatus = useConsole((s) => s.refreshStatus);
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const retryAt = (error?.details?.retryAt as number | null | undefined) ?? status?.unlockBlockedUntil ?? null;
  const wait = useSecondsUntil(retryAt);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = applyStatus(await api.vault.unlock({ passphrase }));
    setBusy(false);
    if (result.ok) setPassphrase('');
    else {
      setError(result.error);
      void refreshStatus();
    }
  }

  return (
    <main className="card narrow" aria-labelledby="unlock-title">
      <h1 id="unlock-title">Vault locked</h1>
      <p>Enter the vault passphrase to unlock this console.</p>
      <form onSubmit={submit}>
        <PassphraseField id="unlock-passphrase" label="Vault passphrase" value={passphrase} onChange={setPassphrase} autoFocus />
        <ErrorNotice error={error} />
        {wait > 0 ? <p className="hint" data-testid="unlock-wait">Next attempt possible in {wait} s.</p> : null}
        <button type="submit" className="primary" disabled={busy || !passphrase || wait > 0}>
          {busy ? 'Checking…' : 'Unlock'}
        </button>
      </form>
    </main>
  );
}
