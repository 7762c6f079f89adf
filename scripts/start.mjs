/**
 * `npm start`: builds the renderer and the Electron bundles, then launches Electron on this
 * folder. When the Electron binary is missing (installs that skip its download, machines that
 * cannot reach its host) it explains how to proceed and exits with code 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireFromProject = createRequire(resolve(projectRoot, 'package.json'));

/** The Electron executable's path, or why it cannot be used. */
export function locateElectronBinary() {
  try {
    requireFromProject.resolve('electron');
  } catch {
    return { found: false, reason: 'the electron package is not in node_modules' };
  }
  let binaryPath;
  try {
    // The package's main module returns the binary's path, and throws when its download was skipped.
    binaryPath = requireFromProject('electron');
  } catch {
    return { found: false, reason: 'the electron package is installed without its binary' };
  }
  if (typeof binaryPath !== 'string' || !existsSync(binaryPath)) {
    return { found: false, reason: `no Electron executable at ${String(binaryPath)}` };
  }
  return { found: true, path: binaryPath };
}

export function missingElectronMessage(reason) {
  return [
    `Vaultkeeper cannot start its desktop window: the Electron binary is not installed (${reason}).`,
    'This usually means `npm install` ran with ELECTRON_SKIP_BINARY_DOWNLOAD=1 or without access to',
    "Electron's download host. To get it, re-run `npm install` on a machine that can download",
    'Electron, or set ELECTRON_OVERRIDE_DIST_PATH to the folder of a local Electron build and run',
    '`npm start` again. The same console runs without Electron: `npm run host` starts the headless',
    'host, which prints a 127.0.0.1 URL to open in a browser.',
  ].join(' ');
}

/** Runs an npm script through the npm that launched us (npm_execpath), so it works on every OS. */
function runNpmScript(script) {
  const npmCli = process.env.npm_execpath;
  const result = npmCli
    ? spawnSync(process.execPath, [npmCli, 'run', '--silent', script], { cwd: projectRoot, stdio: 'inherit' })
    : spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', script], { cwd: projectRoot, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    process.stderr.write(`\`npm run ${script}\` failed; not starting Electron.\n`);
    process.exit(result.status ?? 1);
  }
}

function main() {
  const electron = locateElectronBinary();
  if (!electron.found) {
    process.stderr.write(`${missingElectronMessage(electron.reason)}\n`);
    process.exit(1);
  }
  runNpmScript('build:renderer');
  runNpmScript('build:electron');

  const env = { ...process.env };
  // Set in a parent shell, it would make the binary behave as plain Node instead of the app.
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(electron.path, [projectRoot], { cwd: projectRoot, stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  child.on('error', (error) => {
    process.stderr.write(`Could not launch Electron: ${error.message}\n`);
    process.exit(1);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
