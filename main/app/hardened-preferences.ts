/**
 * The one definition of the renderer's webPreferences, and the check that refuses anything
 * weaker. Type-only use of `electron`, so tests import it under plain Node.
 * Runtime: Electron main process.
 */
import { isAbsolute } from 'node:path';
import type { WebPreferences } from 'electron';

/** Every value the checklist fixes, spelled out even where Electron's default agrees. */
export const REQUIRED_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  spellcheck: false,
  plugins: false,
} as const satisfies WebPreferences;

/** Options that would widen what a page can do; they must not be set at all. */
export const FORBIDDEN_WEB_PREFERENCES = ['enableBlinkFeatures', 'additionalArguments'] as const satisfies ReadonlyArray<keyof WebPreferences>;

export interface HardeningOptions {
  /** Absolute path of the bundled preload (dist/preload/electron-bridge.cjs). */
  preloadPath: string;
  /** A packaged build never opens devtools. */
  isPackaged: boolean;
}

export function hardenedWebPreferences(options: HardeningOptions): WebPreferences {
  const prefs: WebPreferences = {
    ...REQUIRED_WEB_PREFERENCES,
    devTools: !options.isPackaged,
    preload: options.preloadPath,
  };
  assertHardened(prefs, { isPackaged: options.isPackaged });
  return prefs;
}

/**
 * The hidden window that renders a document to PDF: the hardened set, and also no script, no
 * preload (so no bridge to main) and no devtools.
 */
export function printWebPreferences(): WebPreferences {
  const prefs: WebPreferences = { ...REQUIRED_WEB_PREFERENCES, javascript: false, devTools: false };
  assertHardened(prefs, { isPackaged: true, printOnly: true });
  return prefs;
}

export class WeakWebPreferencesError extends Error {
  constructor(readonly weaknesses: string[]) {
    super(`Refusing to create a window with weakened webPreferences: ${weaknesses.join('; ')}.`);
    this.name = 'WeakWebPreferencesError';
  }
}

/** Lists every way `prefs` falls short of the hardened set (empty when it does not). */
export function findWeaknesses(prefs: WebPreferences, options: { isPackaged: boolean; printOnly?: boolean }): string[] {
  const weaknesses: string[] = [];
  const actual = prefs as Record<string, unknown>;
  for (const [key, required] of Object.entries(REQUIRED_WEB_PREFERENCES)) {
    if (actual[key] !== required) weaknesses.push(`${key} must be ${String(required)} (is ${String(actual[key])})`);
  }
  for (const key of FORBIDDEN_WEB_PREFERENCES) {
    if (actual[key] !== undefined) weaknesses.push(`${key} must not be set`);
  }
  if (options.isPackaged && prefs.devTools !== false) weaknesses.push('devTools must be false in a packaged build');
  if (options.printOnly) {
    if (prefs.preload !== undefined) weaknesses.push('a print window must not have a preload');
    if (prefs.javascript !== false) weaknesses.push('a print window must not run script');
  } else if (typeof prefs.preload !== 'string' || !isAbsolute(prefs.preload)) weaknesses.push('preload must be an absolute path');
  return weaknesses;
}

export function assertHardened(prefs: WebPreferences, options: { isPackaged: boolean; printOnly?: boolean }): void {
  const weaknesses = findWeaknesses(prefs, options);
  if (weaknesses.length > 0) throw new WeakWebPreferencesError(weaknesses);
}
