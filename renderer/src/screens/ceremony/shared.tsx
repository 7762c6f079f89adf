/** Pieces the ceremony screens share: running a call with its error, words on screen, the reveal gate. */
import { useEffect, useState } from 'react';
import type { AppError, LedgerCheckView, Result, RevealedWords } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { PassphraseField } from '../../components/PassphraseField';

/** One action's busy flag and error, shown next to the action. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  async function run<T>(work: () => Promise<Result<T>>, done: (value: T) => void) {
    setBusy(true);
    setError(null);
    const result = await work();
    setBusy(false);
    if (result.ok) done(result.value);
    else setError(result.error);
  }
  return { busy, error, setError, run };
}

/** Numbered words in large type; a secret on screen, so nothing else shares its panel. */
export function WordGrid({ words, testId }: { words: string[]; testId: string }) {
  return (
    <ol className="word-grid" data-testid={testId}>
      {words.map((w, i) => (
        <li key={i}>
          <span className="word-number">{i + 1}</span>
          <span className="word" data-testid="secret-word">{w}</span>
        </li>
      ))}
    </ol>
  );
}

/** Words shown under the reveal rules: they clear themselves after the given seconds. */
export function ClearingWords({ revealed, onCleared }: { revealed: RevealedWords; onCleared(): void }) {
  const [left, setLeft] = useState(revealed.clearAfterSeconds);
  useEffect(() => {
    const timer = setInterval(() => setLeft((s) => s - 1), 1_000);
    return () => clearInterval(timer);
  }, [revealed]);
  useEffect(() => {
    if (left <= 0) onCleared();
  }, [left, onCleared]);
  return (
    <div className="secret-panel">
      <p className="run-warning" data-testid="words-countdown">These words clear from the screen in {left} s. {revealed.revealsLeftThisHour} reveal{revealed.revealsLeftThisHour === 1 ? '' : 's'} left this hour.</p>
      <WordGrid words={revealed.words} testId="revealed-words" />
      <button type="button" className="secondary" onClick={onCleared}>Hide the words now</button>
    </div>
  );
}

/** Asks for the vault passphrase, then runs the reveal with the single-use confirmation. */
export function RevealGate({ label, reveal }: { label: string; reveal(token: string): Promise<Result<RevealedWords>> }) {
  const [passphrase, setPassphrase] = useState('');
  const [shown, setShown] = useState<RevealedWords | null>(null);
  const action = useAction();
  if (shown) return <ClearingWords revealed={shown} onCleared={() => setShown(null)} />;
  return (
    <form
      className="sign-panel"
      aria-label={label}
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const confirmation = await api.ceremony.confirmReveal({ passphrase });
          setPassphrase('');
          return confirmation.ok ? reveal(confirmation.value.token) : confirmation;
        }, setShown);
      }}
    >
      <h4>{label}</h4>
      <p className="hint small">Needs the vault passphrase now (valid 2 minutes, once). At most 3 reveals an hour; each is recorded in the audit log without the words.</p>
      <PassphraseField id={`reveal-${label.replace(/\W+/g, '-')}`} label="Vault passphrase" value={passphrase} onChange={setPassphrase} />
      <button type="submit" className="secondary" disabled={action.busy || !passphrase}>{label}</button>
      <ErrorNotice error={action.error} />
    </form>
  );
}

export function LedgerChecks({ checks }: { checks: LedgerCheckView[] }) {
  if (checks.length === 0) return null;
  return (
    <table className="audit-table" data-testid="ledger-checks">
      <thead><tr><th>Path</th><th>Expected</th><th>On the Ledger</th><th>Result</th></tr></thead>
      <tbody>
        {checks.map((c) => (
          <tr key={c.path} data-matches={c.matches}>
            <td className="mono small">{c.path}</td>
            <td className="mono small">{c.expected}</td>
            <td className="mono small">{c.found}</td>
            <td><span className={c.matches ? 'badge badge-ok' : 'badge badge-bad'}>{c.matches ? 'match' : 'MISMATCH'}</span></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
