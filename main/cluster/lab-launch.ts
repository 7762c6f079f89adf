/**
 * How the lab cluster's child processes (the coordinator and two signer nodes) are started.
 *  - sources: this checkout's TypeScript through tsx (development, the headless host, tests);
 *  - bundles: the esbuild bundles of the node and coordinator entries under plain Node, with no
 *    loader and no source tree (what a packaged app ships, run outside Electron);
 *  - inside Electron, main/app/lab-utility-process.ts starts the same bundles with Electron's
 *    utilityProcess, so the runAsNode fuse stays off.
 * A child that needs its vault passphrase gets it over a private channel (stdin here, the
 * utility process's parent port in Electron), never in argv or its environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LabEntry = 'node' | 'coordinator';

/** One running child, whatever started it. */
export interface LabProcess {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** Null while it runs; otherwise how it ended ("exit 1", "signal SIGKILL"). */
  ended(): string | null;
  onExit(listener: () => void): void;
  /** Asks it to stop (SIGTERM): it closes its vault and store first. */
  terminate(): void;
  /** Stops it at once (SIGKILL). */
  kill(): void;
}

export interface LabLauncher {
  /** Null when children can start; otherwise the sentence the console shows instead of the button. */
  unavailableReason(): string | null;
  /** Starts an entry; `passphrase` goes to the child over its private channel. */
  launch(entry: LabEntry, args: string[], passphrase?: string): LabProcess;
}

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where the bundles sit under the build's output folder (scripts/build-electron.mjs writes them there). */
export const LAB_BUNDLES: Record<LabEntry, string> = {
  node: join('node', 'vaultkeeper-node.cjs'),
  coordinator: join('coordinator', 'vaultkeeper-coordinator.cjs'),
};

/** The first message a utility-process signer node reads from its parent port. */
export const PARENT_PORT_PASSPHRASE = 'vaultkeeper-lab-passphrase';

export const LAB_SOURCES_MISSING =
  'The lab cluster is not available in this build: it runs the signer nodes from the source code, which an installed application does not ship. Connect to a configured cluster instead.';

export function labBundlesMissing(distDir: string): string | null {
  const missing = Object.values(LAB_BUNDLES).filter((file) => !existsSync(join(distDir, file)));
  return missing.length === 0 ? null : `The lab cluster is not available in this build: its signer node and coordinator programs (${missing.join(', ')}) are missing. Rebuild with npm run build:electron, or connect to a configured cluster instead.`;
}

/** The child's environment: never the parent's test passphrase, never a loader for a bundle. */
export function childEnvironment(options: { dropLoader: boolean }): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.VAULTKEEPER_NODE_PASSPHRASE;
  if (options.dropLoader) delete env.NODE_OPTIONS;
  return env;
}

function wrapChildProcess(proc: ChildProcess, passphrase: string | undefined): LabProcess {
  proc.stdin!.on('error', () => undefined);
  if (passphrase !== undefined) proc.stdin!.end(passphrase);
  else proc.stdin!.end();
  return {
    get pid() {
      return proc.pid;
    },
    stdout: proc.stdout!,
    stderr: proc.stderr!,
    ended: () => (proc.exitCode !== null ? `exit ${proc.exitCode}` : proc.signalCode !== null ? `signal ${proc.signalCode}` : null),
    onExit: (listener) => void proc.once('exit', listener),
    terminate: () => void proc.kill('SIGTERM'),
    kill: () => void proc.kill('SIGKILL'),
  };
}

/** The checkout's sources through tsx, from the project root. */
export function sourceLauncher(options: { root?: string; packaged?: boolean } = {}): LabLauncher {
  const root = options.root ?? PROJECT_ROOT;
  return {
    unavailableReason() {
      if (options.packaged) return LAB_SOURCES_MISSING;
      if (!existsSync(join(root, 'main', 'node', 'cli.ts')) || !existsSync(join(root, 'main', 'coordinator', 'cli.ts'))) return LAB_SOURCES_MISSING;
      try {
        createRequire(join(root, 'package.json')).resolve('tsx');
      } catch {
        return LAB_SOURCES_MISSING;
      }
      return null;
    },
    launch(entry, args, passphrase) {
      const env = childEnvironment({ dropLoader: false });
      if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
      const script = join(root, 'main', entry, 'cli.ts');
      const extra = passphrase !== undefined ? ['--passphrase-fd', '0'] : [];
      return wrapChildProcess(spawn(process.execPath, ['--import', 'tsx', script, ...args, ...extra], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] }), passphrase);
    },
  };
}

/**
 * The bundles under <distDir> run by a plain Node executable: no tsx, no source tree; the working
 * folder is the app folder above <distDir>, where native/ and node_modules/ sit.
 */
export function bundleLauncher(distDir: string, options: { nodeExecutable?: string } = {}): LabLauncher {
  const executable = options.nodeExecutable ?? process.execPath;
  return {
    unavailableReason() {
      // Electron's own binary would need ELECTRON_RUN_AS_NODE, a fuse a packaged app keeps off.
      if (process.versions.electron && options.nodeExecutable === undefined) return 'The lab cluster cannot start its programs with this runtime; use the utility-process launcher.';
      return labBundlesMissing(distDir);
    },
    launch(entry, args, passphrase) {
      const extra = passphrase !== undefined ? ['--passphrase-fd', '0'] : [];
      const proc = spawn(executable, [join(distDir, LAB_BUNDLES[entry]), ...args, ...extra], { cwd: join(distDir, '..'), env: childEnvironment({ dropLoader: true }), stdio: ['pipe', 'pipe', 'pipe'] });
      return wrapChildProcess(proc, passphrase);
    },
  };
}
