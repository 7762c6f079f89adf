/**
 * Bundles the Electron main process and the preload with esbuild.
 *   node scripts/build-electron.mjs [--outdir <dir>] [--release]     (default: dist)
 * --release marks the bundle as a packaged build at build time: the MPC addon then loads only
 * from its bundled path, whatever the environment says (app.isPackaged enforces it at run time too).
 * Writes <outdir>/main/electron-main.cjs, <outdir>/main/permit-verify-worker.cjs (the permit
 * import workers, loaded from beside the main bundle), <outdir>/preload/electron-bridge.cjs, and the
 * two processes the lab cluster starts: <outdir>/node/vaultkeeper-node.cjs (the headless signer
 * node) and <outdir>/coordinator/vaultkeeper-coordinator.cjs. A packaged app has neither tsx nor
 * the sources, so it starts these bundles (Electron's utilityProcess; plain Node elsewhere).
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
/** The signer node and coordinator never touch Electron; like main they load native code from node_modules. */
export const SIGNER_EXTERNALS = MAIN_EXTERNALS.filter((name) => name !== 'electron');
/** Entry points of the lab's child processes, and where each bundle lands under the output folder. */
export const SIGNER_BUNDLES = [
  { entry: join('main', 'node', 'cli.ts'), outfile: join('node', 'vaultkeeper-node.cjs') },
  { entry: join('main', 'coordinator', 'cli.ts'), outfile: join('coordinator', 'vaultkeeper-coordinator.cjs') },
];

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

/** The bundle's own file URL stands in for import.meta.url, so the addon resolves next to it (../../native). */
function nodeProcessOptions(release, external) {
  return {
    ...common,
    platform: 'node',
    target: NODE_TARGET,
    external,
    banner: { js: IMPORT_META_URL_SHIM },
    define: { 'import.meta.url': '__import_meta_url', __VAULTKEEPER_PACKAGED__: release ? 'true' : 'false' },
  };
}

/**
 * The signer node and coordinator bundles: <outDir>/node/vaultkeeper-node.cjs and
 * <outDir>/coordinator/vaultkeeper-coordinator.cjs. Each must sit two folders below the app root
 * (like the main bundle) so it finds native/ and node_modules/ there.
 */
export async function buildSignerBundles({ outDir = join(projectRoot, 'dist'), release = false } = {}) {
  const results = await Promise.all(
    SIGNER_BUNDLES.map((b) => build({ ...nodeProcessOptions(release, SIGNER_EXTERNALS), entryPoints: [join(projectRoot, b.entry)], outfile: join(outDir, b.outfile) })),
  );
  const [node, coordinator] = SIGNER_BUNDLES.map((b) => join(outDir, b.outfile));
  return { nodeOutfile: node, coordinatorOutfile: coordinator, externals: [...new Set(results.flatMap((r) => externalImports(r.metafile)))] };
}

export async function buildElectron({ outDir = join(projectRoot, 'dist'), release = false } = {}) {
  const mainOutfile = join(outDir, 'main', 'electron-main.cjs');
  const preloadOutfile = join(outDir, 'preload', 'electron-bridge.cjs');
  const workerOutfile = join(outDir, 'main', 'permit-verify-worker.cjs');
  const [main, preload, signer] = await Promise.all([
    build({ ...nodeProcessOptions(release, MAIN_EXTERNALS), entryPoints: [join(projectRoot, 'main', 'app', 'electron-main.ts')], outfile: mainOutfile }),
    build({
      ...common,
      entryPoints: [join(projectRoot, 'preload', 'electron-bridge.ts')],
      outfile: preloadOutfile,
      platform: 'browser',
      target: CHROME_TARGET,
      external: PRELOAD_EXTERNALS,
    }),
    buildSignerBundles({ outDir, release }),
  ]);
  // Its own bundle: a worker thread starts from a file, beside the main bundle that starts it.
  await build({ ...nodeProcessOptions(release, MAIN_EXTERNALS), entryPoints: [join(projectRoot, 'main', 'permits', 'queue', 'permit-verify-worker.ts')], outfile: workerOutfile });
  const preloadRequires = externalImports(preload.metafile).filter((path) => !PRELOAD_EXTERNALS.includes(path));
  if (preloadRequires.length > 0) {
    throw new Error(`The sandboxed preload would require ${preloadRequires.join(', ')}; only electron is available there.`);
  }
  return { mainOutfile, workerOutfile, preloadOutfile, nodeOutfile: signer.nodeOutfile, coordinatorOutfile: signer.coordinatorOutfile, mainExternals: externalImports(main.metafile) };
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
    for (const file of [result.mainOutfile, result.workerOutfile, result.preloadOutfile, result.nodeOutfile, result.coordinatorOutfile]) process.stdout.write(`Built ${file}\n`);
  } catch (error) {
    process.stderr.write(`build:electron failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
