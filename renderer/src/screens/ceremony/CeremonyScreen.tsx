/** The Ceremony screen: ceremonies (new, in progress, certified), recovery, and cold signing. */
import { useCallback, useEffect, useState } from 'react';
import type { CeremonyView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { CeremonyWizard, StartCeremony } from './CeremonyWizard';
import { ColdSigningPanel } from './ColdSigningPanel';
import { RecoveryPanel } from './RecoveryPanel';
import { useAction } from './shared';

type Tab = 'ceremonies' | 'recovery' | 'cold';

export function CeremonyScreen() {
  const [tab, setTab] = useState<Tab>('ceremonies');
  const [list, setList] = useState<CeremonyView[]>([]);
  const [open, setOpen] = useState<{ ceremony: CeremonyView; words: string[] | null } | null>(null);
  const loading = useAction();
  const load = useCallback(() => void loading.run(() => api.ceremony.list({}), setList), []); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(load, [load]);

  return (
    <>
      <div className="card tabs" role="tablist" aria-label="Ceremony tasks">
        {([['ceremonies', 'Ceremonies'], ['recovery', 'Recovery'], ['cold', 'Cold signing']] as const).map(([t, label]) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? 'nav-tab active' : 'nav-tab'} onClick={() => { setTab(t); setOpen(null); load(); }}>{label}</button>
        ))}
      </div>
      <ErrorNotice error={loading.error} />
      {tab === 'ceremonies' && open ? (
        <CeremonyWizard key={open.ceremony.id} ceremony={open.ceremony} initialWords={open.words} onChange={(c) => setOpen({ ceremony: c, words: null })} onClose={() => { setOpen(null); load(); }} />
      ) : null}
      {tab === 'ceremonies' && !open ? (
        <>
          <StartCeremony onStarted={(ceremony, words) => setOpen({ ceremony, words })} />
          <section className="card" aria-labelledby="ceremony-list-title">
            <h2 id="ceremony-list-title" className="card-title">Ceremonies on this console</h2>
            {list.length === 0 ? <p className="hint">None yet.</p> : null}
            <table className="audit-table">
              <tbody>
                {list.map((c) => (
                  <tr key={c.id} data-testid="ceremony-row" data-status={c.status}>
                    <td>{c.label}</td>
                    <td>{c.mode === 'console' ? 'console seed' : 'Ledger seed'}</td>
                    <td><span className={c.status === 'certified' ? 'badge badge-ok' : c.status === 'aborted' ? 'badge badge-bad' : 'badge'}>{c.status}</span></td>
                    <td className="mono small">{c.seedFingerprintShort ?? ''}</td>
                    <td><button type="button" className="secondary" onClick={() => setOpen({ ceremony: c, words: null })}>Open</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : null}
      {tab === 'recovery' ? <RecoveryPanel ceremonies={list} /> : null}
      {tab === 'cold' ? <ColdSigningPanel ceremonies={list} /> : null}
    </>
  );
}
