/**
 * `npm run check:native-from-source`: shows that, with npm_config_build_from_source=true (as CI
 * and the README's install set it), no native Node module of this project takes a prebuilt
 * binary: each install script is run on a throwaway copy of its package, with node-gyp replaced
 * by a stand-in that only records the call, and the log is searched for any download attempt.
 * Fails (exit 1) if a package would download or load a prebuilt binary instead of compiling.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'node_modules');

/** Every dependency whose install script builds native code, and the launcher its script uses. */
const NATIVE_PACKAGES = ['better-sqlite3', 'node-hid', 'usb', 'keccak'];
/** Lines that mean a prebuilt binary was fetched, or about to be. */
const DOWNLOAD_SIGNS = [/https?:\/\//i, /download/i, /prebuilt binary/i, /using prebuild/i, /found cached/i];
const ALLOWED_LINES = [/--build-from-source specified, not attempting download/];

function findPackageDir(name) {
  const direct = join(modules, name);
  try {
    readFileSync(join(direct, 'package.json'));
    return direct;
  } catch {
    return null;
  }
}

/** Demonstrates the check: without the setting, the prebuilt path is taken and this script fails. */
const withoutFlag = process.argv.includes('--without-build-from-source');

const work = mkdtempSync(join(tmpdir(), 'vaultkeeper-native-check-'));
const shimDir = join(work, 'bin');
mkdirSync(shimDir);
// The stand-in records that a source build would start, and builds nothing.
writeFileSync(join(shimDir, 'node-gyp'), '#!/bin/sh\necho "NODE-GYP-SOURCE-BUILD $*"\nexit 0\n');
chmodSync(join(shimDir, 'node-gyp'), 0o755);

let failed = false;
const report = [];
try {
  for (const name of NATIVE_PACKAGES) {
    const source = findPackageDir(name);
    if (!source) {
      report.push(`${name}: not installed, skipped`);
      continue;
    }
    const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
    const install = pkg.scripts?.install ?? '';
    const copyModules = join(work, name, 'node_modules');
    const copy = join(copyModules, name);
    // Without a build/ folder, so nothing already compiled can be mistaken for a fresh build.
    cpSync(source, copy, { recursive: true, dereference: true, filter: (p) => !p.startsWith(join(source, 'build')) });
    // node-gyp-build is copied beside the package so that it cannot find the real node-gyp and
    // calls the stand-in; prebuild-install runs from the install (it needs its dependencies).
    const nodeGypBuild = findPackageDir('node-gyp-build');
    if (nodeGypBuild) cpSync(nodeGypBuild, join(copyModules, 'node-gyp-build'), { recursive: true, dereference: true });
    const prebuildInstall = join(findPackageDir('prebuild-install') ?? join(modules, 'prebuild-install'), 'bin.js');
    const binDirs = [shimDir, join(copyModules, '.bin')];
    mkdirSync(join(copyModules, '.bin'), { recursive: true });
    for (const [bin, target] of [['prebuild-install', prebuildInstall], ['node-gyp-build', join(copyModules, 'node-gyp-build/bin.js')], ['node-gyp-build-test', join(copyModules, 'node-gyp-build/build-test.js')]]) {
      writeFileSync(join(copyModules, '.bin', bin), `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`);
      chmodSync(join(copyModules, '.bin', bin), 0o755);
    }
    const run = spawnSync('sh', ['-c', install], {
      cwd: copy,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: `${binDirs.join(':')}:${process.env.PATH}`,
        HOME: work,
        ...(withoutFlag ? {} : { npm_config_build_from_source: 'true' }),
        npm_config_loglevel: 'info',
        npm_config_cache: join(work, 'npm-cache'),
        // Any network attempt goes nowhere.
        npm_config_proxy: 'http://127.0.0.1:9',
        npm_config_https_proxy: 'http://127.0.0.1:9',
      },
    });
    const log = `${run.stdout}\n${run.stderr}`;
    const lines = log.split('\n').filter((l) => l.trim());
    const downloads = lines.filter((l) => DOWNLOAD_SIGNS.some((p) => p.test(l)) && !ALLOWED_LINES.some((p) => p.test(l)));
    const builtFromSource = lines.some((l) => l.startsWith('NODE-GYP-SOURCE-BUILD rebuild'));
    // prebuild-install must say it skipped the download, not merely fail at it.
    const declined = !install.includes('prebuild-install') || lines.some((l) => ALLOWED_LINES.some((p) => p.test(l)));
    const ok = downloads.length === 0 && builtFromSource && declined;
    if (!ok) failed = true;
    report.push(`${name}@${pkg.version} (install: ${install}): ${ok ? 'builds from source, no download attempted' : 'FAILED'}`);
    for (const l of lines) report.push(`    | ${l}`);
    if (!builtFromSource) report.push('    ! node-gyp rebuild was never started');
    if (!declined) report.push('    ! prebuild-install did not decline the download');
    for (const l of downloads) report.push(`    ! download sign: ${l}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`${report.join('\n')}\n`);
if (failed) {
  process.stderr.write('check:native-from-source: a native module would use a prebuilt binary; see above.\n');
  process.exit(1);
}
process.stdout.write('check:native-from-source: every native module compiles from source.\n');
