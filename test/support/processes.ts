/** Child processes a test started (lab nodes): whether one still runs, and killing what is left. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Last resort after a test: whatever it left running is killed, so no child outlives the run. */
export function killLeftovers(pids: readonly number[]): void {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}
