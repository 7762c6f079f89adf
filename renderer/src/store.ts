/** View state: which screen is shown, the vault status as main last reported it, and errors. */
import { create } from 'zustand';
import type { AppError, ClusterStatus, Result, VaultStatus } from '../../preload/contract';
import { api } from './api';

export type Screen = 'overview' | 'audit' | 'guardians' | 'approvals' | 'keysets' | 'ceremony' | 'policy' | 'queue' | 'backups' | 'drills' | 'exit';

interface ConsoleState {
  status: VaultStatus | null;
  screen: Screen;
  /** An error that is not tied to a form, e.g. the host went away. */
  banner: AppError | null;
  setScreen(screen: Screen): void;
  refreshStatus(): Promise<void>;
  /** Stores the status from any vault call that returns one. */
  applyStatus(result: Result<VaultStatus>): Result<VaultStatus>;
  dismissBanner(): void;
  /** The signer cluster as main last reported it (the lab banner depends on it). */
  cluster: ClusterStatus | null;
  refreshCluster(): Promise<void>;
  applyCluster(status: ClusterStatus): void;
}

export const useConsole = create<ConsoleState>((set, get) => ({
  status: null,
  screen: 'overview',
  banner: null,
  setScreen: (screen) => set({ screen }),
  refreshStatus: async () => {
    const result = await api.vault.status({});
    if (result.ok) set({ status: result.value, banner: null });
    else set({ banner: result.error });
  },
  applyStatus: (result) => {
    if (result.ok) {
      set({ status: result.value });
      // Locking stops the lab cluster: the banner must follow at once.
      void get().refreshCluster();
    }
    return result;
  },
  dismissBanner: () => set({ banner: null }),
  cluster: null,
  refreshCluster: async () => {
    const result = await api.cluster.status({});
    if (result.ok) set({ cluster: result.value });
  },
  applyCluster: (cluster) => set({ cluster }),
}));
