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
    'The first `npm start` downloads it, and that needs access to Electron\'s download host (and',
    'ELECTRON_SKIP_BINARY_DOWNLOAD unset). To proceed, run `npm start` on a machine that can reach',
    'that host, or set ELECTRON_OVERRIDE_DIST_PATH to the folder of a local Electron build and run',
    '`npm start` again. The same console runs without Electron: `npm run host` starts the headless',
    'host, which prints a 127.0.0.1 URL to open in a browser on this machine.',
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

/**
 * The project does not let npm run Electron's download script at install time (it fails the
 * whole install where the download host is unreachable), so the first start fetches the binary.
 */
function tryDownloadElectron() {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return false;
  let installScript;
  try {
    installScript = resolve(dirname(requireFromProject.resolve('electron/package.json')), 'install.js');
  } catch {
    return false;
  }
  process.stdout.write('Downloading the Electron binary (first start only)…\n');
  const result = spawnSync(process.execPath, [installScript], { cwd: projectRoot, stdio: 'pipe', encoding: 'utf8' });
  if (result.status !== 0) process.stderr.write('The Electron download did not succeed.\n');
  return result.status === 0;
}

function main() {
  let electron = locateElectronBinary();
  if (!electron.found && tryDownloadElectron()) electron = locateElectronBinary();
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
