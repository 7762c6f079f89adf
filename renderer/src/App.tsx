import { useEffect } from 'react';
import { api } from './api';
import { ErrorNotice } from './components/ErrorNotice';
import { ApprovalsScreen } from './screens/ApprovalsScreen';
import { AuditScreen } from './screens/AuditScreen';
import { BackupsScreen } from './screens/BackupsScreen';
import { ExitScreen } from './screens/ExitScreen';
import { CeremonyScreen } from './screens/ceremony/CeremonyScreen';
import { DrillsScreen } from './screens/drills/DrillsScreen';
import { GuardiansScreen } from './screens/GuardiansScreen';
import { KeysetsScreen } from './screens/KeysetsScreen';
import { LabBanner } from './components/LabBanner';
import { OverviewScreen } from './screens/OverviewScreen';
import { PolicyScreen } from './screens/PolicyScreen';
import { QueueScreen } from './screens/queue/QueueScreen';
import { SetupScreen } from './screens/SetupScreen';
import { UnlockScreen } from './screens/UnlockScreen';
import { useConsole, type Screen } from './store';

const STATUS_POLL_MS = 5_000;
const HEARTBEAT_MAX_INTERVAL_MS = 30_000;

/**
 * Tells main the operator is here (so the idle lock waits), on keyboard, pointer and wheel input
 * only — never on a timer or a poll. Throttled to one beat per quarter of the idle timeout (at
 * most every 30 s), so steady input always lands well inside the timeout.
 */
function useActivityHeartbeat(active: boolean, idleTimeoutSeconds: number) {
  useEffect(() => {
    if (!active) return;
    const minInterval = Math.min(HEARTBEAT_MAX_INTERVAL_MS, (idleTimeoutSeconds * 1000) / 4);
    let last = 0;
    const beat = () => {
      const now = Date.now();
      if (now - last < minInterval) return;
      last = now;
      void api.vault.heartbeat({});
    };
    const inputs = ['pointerdown', 'keydown', 'wheel'] as const;
    for (const name of inputs) window.addEventListener(name, beat, { passive: true });
    return () => {
      for (const name of inputs) window.removeEventListener(name, beat);
    };
  }, [active, idleTimeoutSeconds]);
}

const NAV: Array<{ screen: Screen; label: string }> = [
  { screen: 'overview', label: 'Overview' },
  { screen: 'audit', label: 'Audit log' },
  { screen: 'guardians', label: 'Guardians' },
  { screen: 'approvals', label: 'Approvals' },
  { screen: 'keysets', label: 'Keysets' },
  { screen: 'ceremony', label: 'Ceremony' },
  { screen: 'policy', label: 'Policy' },
  { screen: 'queue', label: 'Permit queue' },
  { screen: 'backups', label: 'Backups' },
  { screen: 'drills', label: 'Drills' },
  { screen: 'exit', label: 'Emergency exit' },
];

export function App() {
  const { status, screen, banner, setScreen, refreshStatus, applyStatus, dismissBanner, refreshCluster } = useConsole();

  useEffect(() => {
    void refreshStatus();
    void refreshCluster();
    const timer = setInterval(() => {
      void refreshStatus();
      void refreshCluster();
    }, STATUS_POLL_MS);
    return () => clearInterval(timer);
  }, [refreshStatus, refreshCluster]);
  useActivityHeartbeat(status?.state === 'unlocked', status?.idleTimeoutSeconds ?? 300);

  const state = status?.state;
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Vaultkeeper</span>
        {state ? (
          <span className={`vault-state vault-state-${state}`} data-testid="vault-state">
            {state === 'unlocked' ? 'UNLOCKED' : state === 'locked' ? 'LOCKED' : 'NO VAULT'}
          </span>
        ) : null}
        {state === 'unlocked' ? (
          <>
            <nav aria-label="Screens">
              {NAV.map((item) => (
                <button key={item.screen} type="button" className={screen === item.screen ? 'nav active' : 'nav'} aria-current={screen === item.screen ? 'page' : undefined} onClick={() => setScreen(item.screen)}>
                  {item.label}
                </button>
              ))}
            </nav>
            <button type="button" className="lock" onClick={async () => applyStatus(await api.vault.lock({}))}>
              Lock
            </button>
          </>
        ) : null}
      </header>
      <LabBanner />
      <ErrorNotice error={banner} onDismiss={dismissBanner} />
      {!status ? <p className="hint center">Connecting to the console…</p> : null}
      {state === 'uninitialized' ? <SetupScreen /> : null}
      {state === 'locked' ? <UnlockScreen /> : null}
      {state === 'unlocked' && screen === 'overview' ? <OverviewScreen /> : null}
      {state === 'unlocked' && screen === 'audit' ? <AuditScreen /> : null}
      {state === 'unlocked' && screen === 'guardians' ? <GuardiansScreen /> : null}
      {state === 'unlocked' && screen === 'approvals' ? <ApprovalsScreen /> : null}
      {state === 'unlocked' && screen === 'keysets' ? <KeysetsScreen /> : null}
      {state === 'unlocked' && screen === 'ceremony' ? <CeremonyScreen /> : null}
      {state === 'unlocked' && screen === 'policy' ? <PolicyScreen /> : null}
      {state === 'unlocked' && screen === 'queue' ? <QueueScreen /> : null}
      {state === 'unlocked' && screen === 'backups' ? <BackupsScreen /> : null}
      {state === 'unlocked' && screen === 'drills' ? <DrillsScreen /> : null}
      {state === 'unlocked' && screen === 'exit' ? <ExitScreen /> : null}
    </div>
  );
}
