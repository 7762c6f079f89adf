/**
 * Where Vaultkeeper keeps its database. VAULTKEEPER_DATA_DIR overrides (tests, several consoles
 * on one machine); otherwise the OS's per-user application-data folder, the same one Electron's
 * app.getPath('userData') names for an app called "Vaultkeeper".
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const APP_NAME = 'Vaultkeeper';

export function defaultUserDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), APP_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', APP_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), APP_NAME);
}

export function resolveDataDir(fallback: string = defaultUserDataDir(), env: NodeJS.ProcessEnv = process.env): string {
  const override = env.VAULTKEEPER_DATA_DIR?.trim();
  return override ? resolve(override) : fallback;
}
