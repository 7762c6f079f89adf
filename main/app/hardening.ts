/**
 * Where the app's windows come from and the guards every web contents and session gets.
 * Electron's modules are passed in (type-only import here), so this file loads under plain Node
 * and the tests drive it with stand-ins. electron-main.ts is the only caller.
 * Runtime: Electron main process.
 */
import type { App, BrowserWindow as BrowserWindowInstance, BrowserWindowConstructorOptions, Session, WebContents } from 'electron';
import { APP_NAME } from '../platform/data-dir';
import { QUIET_CHROMIUM_SWITCHES } from '../platform/quiet-browser';
import { APP_ORIGIN, isAppUrl, isPermittedMediaCheck, isPermittedMediaRequest, isPermittedRequest } from './app-origin';
import { assertHardened, hardenedWebPreferences, printWebPreferences, type HardeningOptions } from './hardened-preferences';

export { assertHardened, findWeaknesses, hardenedWebPreferences, REQUIRED_WEB_PREFERENCES, WeakWebPreferencesError } from './hardened-preferences';
export type { HardeningOptions } from './hardened-preferences';

export type BrowserWindowClass = new (options: BrowserWindowConstructorOptions) => BrowserWindowInstance;

/** Reports a refused action. Callers pass URLs through originForLog: paths and queries stay out of logs. */
export type RefusalLog = (message: string) => void;

export function originForLog(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparseable URL)';
  }
}

const logToStderr: RefusalLog = (message) => process.stderr.write(`[vaultkeeper] refused ${message}\n`);

/**
 * The only way the app makes a window. The preferences come from hardenedWebPreferences and are
 * checked once more right before construction, so an edit that weakens them fails at start-up.
 */
export function createHardenedWindow(BrowserWindow: BrowserWindowClass, options: HardeningOptions): BrowserWindowInstance {
  const webPreferences = hardenedWebPreferences(options);
  assertHardened(webPreferences, { isPackaged: options.isPackaged });
  return new BrowserWindow({
    title: APP_NAME,
    width: 1280,
    height: 820,
    minWidth: 960,
    minHeight: 640,
    show: false,
    backgroundColor: '#0f1419',
    webPreferences,
  });
}

/** A hidden window that only renders a document for printToPDF (see printWebPreferences). */
export function createPrintWindow(BrowserWindow: BrowserWindowClass): BrowserWindowInstance {
  return new BrowserWindow({ show: false, width: 794, height: 1123, webPreferences: printWebPreferences() });
}

/** Guards for one web contents: no new windows, no webviews, no navigation away from the app. */
export function guardWebContents(contents: WebContents, log: RefusalLog = logToStderr): void {
  contents.setWindowOpenHandler((details) => {
    log(`new window to ${originForLog(details.url)}`);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    log(`navigation to ${originForLog(event.url)}`);
  });
  // Covers subframes too; the app has none, so any subframe navigation is refused.
  contents.on('will-frame-navigate', (event) => {
    if (event.isMainFrame && isAppUrl(event.url)) return;
    event.preventDefault();
    log(`frame navigation to ${originForLog(event.url)}`);
  });
  contents.on('will-redirect', (event) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    log(`redirect to ${originForLog(event.url)}`);
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('a webview');
  });
  contents.on('select-bluetooth-device', (event, _devices, callback) => {
    event.preventDefault();
    callback('');
  });
}

/**
 * Where the spellchecker would fetch dictionaries from: a path of the app's own protocol that
 * serves nothing, so even a spellchecker switched back on has no remote host to reach.
 */
export const SPELLCHECK_DICTIONARY_URL = `${APP_ORIGIN}/no-spellcheck-dictionaries/`;

/**
 * Guards for one session: every permission request and check denied (without a handler Electron
 * grants them) except the camera for the app's own pages (QR scanning; video only), no device access from pages (Ledger access runs in main), no spellchecker
 * dictionary downloads, and every request outside the app's protocol cancelled.
 */
const guardedSessions = new WeakSet<Session>();

export function guardSession(session: Session, options: { allowDevtools: boolean }, log: RefusalLog = logToStderr): void {
  // Guarded from two places (session-created and the default session at ready); once is enough.
  if (guardedSessions.has(session)) return;
  guardedSessions.add(session);
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const media = details as { requestingUrl?: string; mediaTypes?: string[] };
    if (isPermittedMediaRequest(permission, media)) return callback(true);
    log(`permission "${permission}"${media.mediaTypes?.length ? ` (${media.mediaTypes.join(', ')})` : ''}`);
    callback(false);
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) => isPermittedMediaCheck(permission, requestingOrigin, (details as { mediaType?: string }).mediaType));
  session.setDevicePermissionHandler(() => false);
  session.on('select-hid-device', (event, _details, callback) => {
    event.preventDefault();
    callback(null);
  });
  session.on('select-usb-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  session.on('select-serial-port', (event, _ports, _contents, callback) => {
    event.preventDefault();
    callback('');
  });
  session.setSpellCheckerEnabled(false);
  session.setSpellCheckerDictionaryDownloadURL(SPELLCHECK_DICTIONARY_URL);
  session.webRequest.onBeforeRequest((details, callback) => {
    const permitted = isPermittedRequest(details.url, options);
    if (!permitted) log(`request to ${originForLog(details.url)}`);
    callback({ cancel: !permitted });
  });
}

/**
 * App-wide guards. Call before `ready`: enableSandbox only takes effect then, and guarding
 * every web contents at creation leaves no window unguarded.
 */
export function installAppGuards(app: App, options: { allowDevtools: boolean }, log: RefusalLog = logToStderr): void {
  app.enableSandbox();
  // The console is air-gap friendly: Chromium's own background traffic is switched off at start.
  for (const [name, value] of QUIET_CHROMIUM_SWITCHES) {
    if (value === undefined) app.commandLine.appendSwitch(name);
    else app.commandLine.appendSwitch(name, value);
  }
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, log));
  app.on('session-created', (session) => guardSession(session, options, log));
}

/** The resolver settings of an offline console: no built-in DNS client, no DNS over HTTPS. */
export const OFFLINE_HOST_RESOLVER = { enableBuiltInResolver: false, secureDnsMode: 'off' } as const;

/** Network guards that Electron accepts only once the app is ready. */
export function installNetworkGuardsWhenReady(app: App): void {
  app.configureHostResolver({ ...OFFLINE_HOST_RESOLVER });
}
