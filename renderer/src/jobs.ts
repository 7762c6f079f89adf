/**
 * Jobs as main reports them. Main owns them; this store only polls `jobs.list`, so a screen that
 * is left and re-opened, or a reloaded page, shows the same job where it is. Ended jobs stay on
 * screen until the operator dismisses them (dismissals survive a reload in sessionStorage).
 */
import { useEffect } from 'react';
import { create } from 'zustand';
import type { JobView } from '../../preload/contract';
import { api } from './api';

const POLL_MS = 1_000;
const DISMISSED_KEY = 'vaultkeeper.dismissedJobs';

function loadDismissed(): string[] {
  try {
    const value = JSON.parse(sessionStorage.getItem(DISMISSED_KEY) ?? '[]') as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(-100) : [];
  } catch {
    return [];
  }
}

interface JobsState {
  jobs: JobView[];
  dismissed: string[];
  refresh(): Promise<void>;
  /** Puts a job main just returned into the list at once (before the next poll). */
  track(job: JobView): void;
  dismiss(jobId: string): void;
}

export const useJobs = create<JobsState>((set, get) => ({
  jobs: [],
  dismissed: loadDismissed(),
  refresh: async () => {
    const result = await api.jobs.list({});
    if (result.ok) set({ jobs: result.value.jobs });
  },
  track: (job) => set({ jobs: [job, ...get().jobs.filter((j) => j.id !== job.id)] }),
  dismiss: (jobId) => {
    const dismissed = [...get().dismissed, jobId].slice(-100);
    sessionStorage.setItem(DISMISSED_KEY, JSON.stringify(dismissed));
    set({ dismissed });
  },
}));

/** Polls main's jobs while the component that needs them is shown. */
export function useJobPolling(): void {
  const refresh = useJobs((s) => s.refresh);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);
}

/** The running job of a group (e.g. 'keygen'), if any: buttons that would start another stay disabled. */
export function runningIn(jobs: JobView[], group: string): JobView | undefined {
  return jobs.find((j) => j.state === 'running' && j.group === group);
}
