/** View state: which screen is shown, the vault status as main last reported it, and errors. */
import { create } from 'zustand';
import type { AppError, Result, VaultStatus } from '../../preload/contract';
import { api } from './api';

export type Screen = 'overview' | 'audit' | 'guardians' | 'approvals';

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
}

export const useConsole = create<ConsoleState>((set) => ({
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
    if (result.ok) set({ status: result.value });
    return result;
  },
  dismissBanner: () => set({ banner: null }),
}));
