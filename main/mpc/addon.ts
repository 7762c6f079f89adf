// Loading the native MPC addon: which file may be loaded, once per process, and its errors as
// typed values. Plain Node, no Electron.
import { lstatSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Native from '../../native/index';
import { fail } from '../errors';

export type NativeAddon = typeof Native;

export const NATIVE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');
export const DEFAULT_ADDON_PATH = join(NATIVE_DIR, 'vaultkeeper_mpc.node');
export const ADDON_OVERRIDE_ENV = 'VAULTKEEPER_MPC_ADDON';

/** Defined as true by the release build of the Electron bundle (scripts/build-electron.mjs --release). */
declare const __VAULTKEEPER_PACKAGED__: boolean | undefined;
let packagedBuild = typeof __VAULTKEEPER_PACKAGED__ !== 'undefined' && __VAULTKEEPER_PACKAGED__ === true;

/**
 * The Electron shell reports `app.isPackaged` here before any service starts. It can only turn
 * the packaged rules on: nothing at run time can turn a release build back into a dev build.
 */
export function declarePackagedBuild(packaged: boolean): void {
  if (packaged) packagedBuild = true;
}

export function isPackagedBuild(): boolean {
  return packagedBuild;
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * Which addon file may be loaded. Loading a native library runs its code with the process's
 * rights (every share in an unlocked vault), so an environment variable must not pick one:
 * a packaged build loads only the bundled addon; a development checkout also accepts another
 * `.node` file inside this project's native/ folder (a rebuilt or debug addon), judged by its
 * real path so a symlink there cannot point outside.
 */
export function resolveAddonPath(requested: string | undefined, options: { packaged?: boolean } = {}): string {
  const packaged = options.packaged ?? packagedBuild;
  if (requested === undefined || requested === '') return DEFAULT_ADDON_PATH;
  if (packaged) {
    // Compared as given: inside an asar archive real paths are not what they seem.
    if (requested === DEFAULT_ADDON_PATH) return DEFAULT_ADDON_PATH;
    fail('ADDON_PATH_REFUSED', `This Vaultkeeper build loads only its bundled MPC addon; ${ADDON_OVERRIDE_ENV} (${requested}) is refused. Unset it and start Vaultkeeper again.`, { requested });
  }
  const real = realOrNull(requested);
  if (real !== null && real === realOrNull(DEFAULT_ADDON_PATH)) return DEFAULT_ADDON_PATH;
  const nativeDir = realOrNull(NATIVE_DIR);
  if (real === null || nativeDir === null || !real.startsWith(nativeDir + sep) || !real.endsWith('.node') || !lstatSync(real).isFile()) {
    fail('ADDON_PATH_REFUSED', `${ADDON_OVERRIDE_ENV} may name only a .node file inside this project's native/ folder (${NATIVE_DIR}); ${requested} is not one. Put the addon there or unset the variable.`, { requested });
  }
  return real;
}

export class MpcError extends Error {
  readonly code: Native.MpcErrorCode;
  /** Party whose message caused the error, when known. */
  readonly party: number | undefined;

  constructor(code: Native.MpcErrorCode, message: string, party?: number) {
    super(party === undefined ? `${code}: ${message}` : `${code}: ${message} (party ${party})`);
    this.name = 'MpcError';
    this.code = code;
    this.party = party;
  }

  static fromInfo(info: Native.MpcErrorInfo): MpcError {
    return new MpcError(info.code, info.message, info.party ?? undefined);
  }
}

/** Addon functions throw `VKMPC:<code>:<party>:<message>`; turn that into an MpcError. */
export function rethrow(err: unknown): never {
  const text = err instanceof Error ? err.message : String(err);
  const match = /^VKMPC:([A-Z_]+):(\d*):(.*)$/s.exec(text);
  const [, code, party, detail] = match ?? [];
  if (code !== undefined && party !== undefined && detail !== undefined) {
    throw new MpcError(code as Native.MpcErrorCode, detail, party === '' ? undefined : Number(party));
  }
  throw new MpcError('INTERNAL', text);
}

let cachedAddon: { path: string; addon: NativeAddon } | undefined;

/** Loads the addon once per process, from a path resolveAddonPath allows. */
export function loadAddon(requested: string | undefined = process.env[ADDON_OVERRIDE_ENV]): NativeAddon {
  const path = resolveAddonPath(requested);
  if (cachedAddon) {
    if (cachedAddon.path !== path) fail('ADDON_PATH_REFUSED', `The MPC addon was already loaded from ${cachedAddon.path}; a second addon (${path}) is refused in the same process.`, { requested: path });
    return cachedAddon.addon;
  }
  const require = createRequire(import.meta.url);
  try {
    cachedAddon = { path, addon: require(path) as NativeAddon };
  } catch (err) {
    throw new MpcError('INTERNAL', `cannot load the MPC addon at ${path}; run \`npm run build:native\` (${(err as Error).message})`);
  }
  return cachedAddon.addon;
}
