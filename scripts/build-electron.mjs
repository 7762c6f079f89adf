/**
 * Bundles the Electron main process and the preload with esbuild.
 *   node scripts/build-electron.mjs [--outdir <dir>] [--release]     (default: dist)
 * --release marks the bundle as a packaged build at build time: the MPC addon then loads only
 * from its bundled path, whatever the environment says (app.isPackaged enforces it at run time too).
 * Writes <outdir>/main/electron-main.cjs, <outdir>/main/permit-verify-worker.cjs (the permit
 * import workers, loaded from beside the main bundle) and <outdir>/preload/electron-bridge.cjs.
 * The preload must be one self-contained CommonJS file: a sandboxed preload can require only
 * Electron's renderer modules, so the build fails if the bundle would require anything else.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const electronVersion = JSON.parse(readFileSync(join(projectRoot, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
const electronMajor = Number(electronVersion.split('.')[0]);

/** Loaded from node_modules at run time: native code, or Electron itself. */
export const MAIN_EXTERNALS = [
  'electron',
  'better-sqlite3',
  '*.node',
  'node-hid',
  '@ledgerhq/hw-transport-node-hid',
  '@ledgerhq/hw-transport-node-hid-noevents',
  'usb',
];
export const PRELOAD_EXTERNALS = ['electron'];

// Electron ships Node 22+ and a recent Chromium; these floors are safe for every supported major.
const NODE_TARGET = 'node22';
const CHROME_TARGET = electronMajor >= 38 ? 'chrome130' : 'chrome120';

/** CommonJS has no import.meta; code that asks for its own URL gets the bundle's file URL. */
const IMPORT_META_URL_SHIM = "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;";

function externalImports(metafile) {
  const found = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) if (imported.external) found.add(imported.path);
  }
  return [...found];
}

export async function buildElectron({ outDir = join(projectRoot, 'dist'), release = false } = {}) {
  const common = {
    absWorkingDir: projectRoot,
    bundle: true,
    format: 'cjs',
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    tsconfig: join(projectRoot, 'tsconfig.json'),
  };
  const mainOutfile = join(outDir, 'main', 'electron-main.cjs');
  const preloadOutfile = join(outDir, 'preload', 'electron-bridge.cjs');
  const workerOutfile = join(outDir, 'main', 'permit-verify-worker.cjs');
  const mainSettings = {
    ...common,
    platform: 'node',
    target: NODE_TARGET,
    external: MAIN_EXTERNALS,
    banner: { js: IMPORT_META_URL_SHIM },
    define: { 'import.meta.url': '__import_meta_url', __VAULTKEEPER_PACKAGED__: release ? 'true' : 'false' },
  };
  const [main, preload] = await Promise.all([
    build({ ...mainSettings, entryPoints: [join(projectRoot, 'main', 'app', 'electron-main.ts')], outfile: mainOutfile }),
    build({
      ...common,
      entryPoints: [join(projectRoot, 'preload', 'electron-bridge.ts')],
      outfile: preloadOutfile,
      platform: 'browser',
      target: CHROME_TARGET,
      external: PRELOAD_EXTERNALS,
    }),
  ]);
  // Its own bundle: a worker thread starts from a file, beside the main bundle that starts it.
  await build({ ...mainSettings, entryPoints: [join(projectRoot, 'main', 'permits', 'queue', 'permit-verify-worker.ts')], outfile: workerOutfile });
  const preloadRequires = externalImports(preload.metafile).filter((path) => !PRELOAD_EXTERNALS.includes(path));
  if (preloadRequires.length > 0) {
    throw new Error(`The sandboxed preload would require ${preloadRequires.join(', ')}; only electron is available there.`);
  }
  return { mainOutfile, workerOutfile, preloadOutfile, mainExternals: externalImports(main.metafile) };
}

function outDirFromArgs(args) {
  const at = args.indexOf('--outdir');
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (!value) throw new Error('--outdir needs a folder');
  return resolve(value);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const result = await buildElectron({ outDir: outDirFromArgs(process.argv.slice(2)), release: process.argv.includes('--release') });
    process.stdout.write(`Built ${result.mainOutfile}\nBuilt ${result.workerOutfile}\nBuilt ${result.preloadOutfile}\n`);
  } catch (error) {
    process.stderr.write(`build:electron failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
