// Builds the renderer (Vite) and the headless host's browser bridge (esbuild) into dist/.
import { build as buildBridge } from 'esbuild';
import { build as buildRenderer } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

await buildRenderer({ configFile: here('renderer/vite.config.ts'), logLevel: 'warn' });
await buildBridge({
  entryPoints: [here('preload/web-bridge.ts')],
  outfile: here('dist/host/web-bridge.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
});
console.log('renderer built into dist/renderer, host bridge into dist/host');
