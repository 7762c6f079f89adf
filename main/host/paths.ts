/** Where the built renderer and the host's browser bridge live, relative to this source tree. */
import { fileURLToPath } from 'node:url';

export const RENDERER_DIR = fileURLToPath(new URL('../../dist/renderer', import.meta.url));
export const BRIDGE_FILE = fileURLToPath(new URL('../../dist/host/web-bridge.js', import.meta.url));
