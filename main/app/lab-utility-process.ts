/**
 * The Electron app's lab launcher: the coordinator and signer node bundles (dist/node/,
 * dist/coordinator/, built beside the main bundle and packed into the app) run as Electron
 * utility processes. No ELECTRON_RUN_AS_NODE, so the runAsNode fuse stays off; no source tree.
 * A utility process has no stdin: the vault passphrase goes as the first message on its parent
 * port (the node reads it with --passphrase-parent-port), never in argv or the environment.
 * Electron's utilityProcess comes from the entry point, the one module that imports electron's values.
 * Runtime: Electron main process.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ForkOptions, UtilityProcess } from 'electron';
import { childEnvironment, LAB_BUNDLES, labBundlesMissing, PARENT_PORT_PASSPHRASE, type LabLauncher, type LabProcess } from '../cluster/lab-launch';

export function utilityProcessLabLauncher(utilityProcess: { fork(modulePath: string, args?: string[], options?: ForkOptions): UtilityProcess }, distDir: string): LabLauncher {
  return {
    unavailableReason: () => labBundlesMissing(distDir),
    launch(entry, args, passphrase): LabProcess {
      const child = utilityProcess.fork(join(distDir, LAB_BUNDLES[entry]), passphrase !== undefined ? [...args, '--passphrase-parent-port'] : args, {
        stdio: 'pipe',
        serviceName: `Vaultkeeper lab ${entry}`,
        env: childEnvironment({ dropLoader: true }),
      });
      let ended: string | null = null;
      let pid: number | undefined;
      child.once('spawn', () => {
        pid = child.pid;
        if (passphrase !== undefined) child.postMessage({ type: PARENT_PORT_PASSPHRASE, passphrase });
      });
      child.once('exit', (code: number) => (ended = `exit ${code}`));
      // Streams exist from fork() on with stdio 'pipe'; the fallbacks only keep the type honest.
      const stdout = child.stdout ?? new PassThrough();
      const stderr = child.stderr ?? new PassThrough();
      return {
        get pid() {
          return pid ?? child.pid;
        },
        stdout,
        stderr,
        ended: () => ended,
        onExit: (listener) => void child.once('exit', () => listener()),
        terminate: () => void child.kill(),
        kill: () => {
          const id = child.pid;
          if (id !== undefined) process.kill(id, 'SIGKILL');
          else child.kill();
        },
      };
    },
  };
}
