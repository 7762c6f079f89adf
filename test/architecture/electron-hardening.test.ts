/**
 * The Electron layer's security checklist, checked without the Electron binary: the hardened
 * webPreferences and the check that refuses weaker ones, a source scan that fails the build if a
 * window is created anywhere else or with literal preferences, the IPC sender check, the
 * packaging config, the preload's single API object, and the bundles — including the built main
 * bundle booted against a stand-in `electron` module.
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { BrowserWindowConstructorOptions, IpcMainInvokeEvent, WebContents, WebPreferences } from 'electron';
import { API_GLOBAL, CHANNEL_NAMES, type Result } from '../../preload/contract';
import { APP_ENTRY_URL, isAppUrl, isPermittedRequest, isTrustedSender } from '../../main/app/app-origin';
import { assertHardened, createHardenedWindow, createPrintWindow, findWeaknesses, guardSession, guardWebContents, hardenedWebPreferences, SPELLCHECK_DICTIONARY_URL, WeakWebPreferencesError } from '../../main/app/hardening';
import { QUIET_CHROMIUM_SWITCHES } from '../../main/platform/quiet-browser';
import { bindIpc, type IpcRegistrar } from '../../main/app/ipc';
import { mimeTypeFor, resolveRendererFile, serveRendererRequest } from '../../main/app/renderer-files';
import { CONTENT_SECURITY_POLICY, RENDERER_SECURITY_HEADERS } from '../../main/platform/content-security-policy';
import type { CallContext } from '../../main/ipc/router';
import { testServices } from '../support/services';
import { tempDir } from '../support/temp-dir';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const rel = (path: string) => relative(ROOT, path).split(sep).join('/');
const PRELOAD_PATH = join(ROOT, 'dist', 'preload', 'electron-bridge.cjs');

// ---------------------------------------------------------------------------------------------
// (1) Hardened webPreferences

/** The checklist, written out here on purpose: dropping a key from the source must fail this test. */
const CHECKLIST: Record<string, unknown> = {
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
};

describe('hardened webPreferences', () => {
  it('sets every checklist value, an absolute preload, and no devtools when packaged', () => {
    const packaged = hardenedWebPreferences({ preloadPath: PRELOAD_PATH, isPackaged: true }) as Record<string, unknown>;
    for (const [key, value] of Object.entries(CHECKLIST)) assert.equal(packaged[key], value, key);
    assert.equal(packaged.devTools, false);
    assert.equal(packaged.preload, PRELOAD_PATH);
    assert.deepEqual(findWeaknesses(packaged, { isPackaged: true }), []);
    assert.equal(hardenedWebPreferences({ preloadPath: PRELOAD_PATH, isPackaged: false }).devTools, true, 'devtools stay available in development');
  });

  it('the print window (certificate PDF) has the checklist, no script, no preload and no devtools', () => {
    let seen: Record<string, unknown> | undefined;
    class RecordingWindow {
      constructor(options: { webPreferences?: WebPreferences }) {
        seen = options.webPreferences as Record<string, unknown>;
      }
    }
    createPrintWindow(RecordingWindow as never);
    for (const [key, value] of Object.entries(CHECKLIST)) assert.equal(seen?.[key], value, key);
    assert.equal(seen?.javascript, false);
    assert.equal(seen?.devTools, false);
    assert.equal(seen?.preload, undefined);
    const print = seen as WebPreferences;
    assert.throws(() => assertHardened({ ...print, javascript: true }, { isPackaged: true, printOnly: true }), WeakWebPreferencesError);
    assert.throws(() => assertHardened({ ...print, preload: PRELOAD_PATH }, { isPackaged: true, printOnly: true }), WeakWebPreferencesError);
    assert.throws(() => assertHardened({ ...print, sandbox: false }, { isPackaged: true, printOnly: true }), WeakWebPreferencesError);
  });

  const base = (): WebPreferences => hardenedWebPreferences({ preloadPath: PRELOAD_PATH, isPackaged: true });
  const weakened: Array<[string, WebPreferences]> = [
    ...Object.entries(CHECKLIST).flatMap(([key, value]): Array<[string, WebPreferences]> => [
      [`${key} flipped`, { ...base(), [key]: !value }],
      [`${key} left to the default`, (() => { const p = base() as Record<string, unknown>; delete p[key]; return p as WebPreferences; })()],
    ]),
    ['enableBlinkFeatures set', { ...base(), enableBlinkFeatures: 'CSSPseudoHas' }],
    ['additionalArguments set', { ...base(), additionalArguments: ['--inspect'] }],
    ['devTools on in a packaged build', { ...base(), devTools: true }],
    ['relative preload path', { ...base(), preload: 'dist/preload/electron-bridge.cjs' }],
    ['no preload', (() => { const p = base(); delete p.preload; return p; })()],
  ];
  for (const [what, prefs] of weakened) {
    it(`assertHardened refuses: ${what}`, () => {
      assert.throws(() => assertHardened(prefs, { isPackaged: true }), WeakWebPreferencesError);
    });
  }

  it('createHardenedWindow hands the constructor exactly the hardened preferences', () => {
    const made: BrowserWindowConstructorOptions[] = [];
    class FakeWindow {
      constructor(options: BrowserWindowConstructorOptions) {
        made.push(options);
      }
    }
    createHardenedWindow(FakeWindow as never, { preloadPath: PRELOAD_PATH, isPackaged: true });
    assert.equal(made.length, 1);
    assert.deepEqual(made[0]?.webPreferences, base());
    assert.equal(made[0]?.show, false, 'shown on ready-to-show, not before');
    assert.throws(() => createHardenedWindow(FakeWindow as never, { preloadPath: 'relative.cjs', isPackaged: true }), WeakWebPreferencesError);
  });
});

// ---------------------------------------------------------------------------------------------
// (2) Source scan: windows come only from the factory

interface SourceFile {
  path: string;
  text: string;
}

function sourceFiles(...dirs: string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'target'].includes(entry.name)) walk(path);
      } else if (/\.(?:[cm]?[jt]s|tsx)$/.test(entry.name)) {
        files.push({ path: rel(path), text: readFileSync(path, 'utf8') });
      }
    }
  };
  for (const dir of dirs) walk(join(ROOT, dir));
  return files;
}

const WINDOW_FACTORY = 'main/app/hardening.ts';
const WINDOW_CREATION = /\bnew\s+(?:[\w$]+\s*\.\s*)*(BrowserWindow|BrowserView|WebContentsView)\s*\(|Reflect\.construct\s*\(\s*(?:[\w$]+\.)*(BrowserWindow|BrowserView|WebContentsView)\b/g;
const WEAK_LITERALS = [
  /\b(?:nodeIntegration|nodeIntegrationInWorker|nodeIntegrationInSubFrames|allowRunningInsecureContent|experimentalFeatures|webviewTag|navigateOnDragDrop)\s*:\s*true\b/,
  /\b(?:contextIsolation|sandbox|webSecurity)\s*:\s*false\b/,
];

/** Every way a file breaks the window rules; empty means the tree is clean. */
function windowViolations(files: SourceFile[]): string[] {
  const violations: string[] = [];
  for (const file of files) {
    const creations = [...file.text.matchAll(WINDOW_CREATION)];
    for (const match of creations) {
      const kind = match[1] ?? match[2];
      if (kind !== 'BrowserWindow') violations.push(`${file.path}: creates a ${kind}; the app has one BrowserWindow and nothing else`);
      else if (file.path !== WINDOW_FACTORY) violations.push(`${file.path}: creates a BrowserWindow outside ${WINDOW_FACTORY}`);
    }
    // The app window, and the hidden print window that renders the certificate PDF (no script, no preload).
    if (file.path === WINDOW_FACTORY && creations.length > 2) violations.push(`${file.path}: more than two BrowserWindow constructions`);
    if (file.path === WINDOW_FACTORY && creations.length === 2 && !/webPreferences: printWebPreferences\(\)/.test(file.text)) violations.push(`${file.path}: the second window's preferences do not come from printWebPreferences()`);
    if (/webPreferences\s*:\s*\{/.test(file.text)) violations.push(`${file.path}: literal webPreferences; use hardenedWebPreferences()`);
    for (const pattern of WEAK_LITERALS) {
      const weak = pattern.exec(file.text);
      if (weak) violations.push(`${file.path}: weak setting "${weak[0]}"`);
    }
  }
  const factory = files.find((file) => file.path === WINDOW_FACTORY);
  if (!factory) violations.push(`${WINDOW_FACTORY} is missing`);
  else if (!/const webPreferences = hardenedWebPreferences\(/.test(factory.text)) violations.push(`${WINDOW_FACTORY}: the window's preferences do not come from hardenedWebPreferences()`);
  return violations;
}

const ELECTRON_IMPORT = /from\s+['"]electron(?:\/\w+)?['"]|require\(\s*['"]electron(?:\/\w+)?['"]\s*\)|import\(\s*['"]electron/;
const ELECTRON_VALUE_IMPORT = /^import\s+(?!type\b)[^;]*from\s+['"]electron(?:\/\w+)?['"]|require\(\s*['"]electron/m;

describe('source scan of main/ and preload/', () => {
  const files = sourceFiles('main', 'preload');

  it('creates BrowserWindows only in the hardened factory, with no literal or weak preferences', () => {
    assert.deepEqual(windowViolations(files), []);
  });

  it('the scan itself catches a window created elsewhere or with weak preferences', () => {
    const factory = files.filter((file) => file.path === WINDOW_FACTORY);
    const bad: Array<[string, SourceFile]> = [
      ['window outside the factory', { path: 'main/other.ts', text: "const w = new BrowserWindow({ width: 1 });" }],
      ['namespaced constructor', { path: 'main/other.ts', text: "const w = new electron.BrowserWindow(options);" }],
      ['literal weak preferences', { path: 'main/other.ts', text: "x({ webPreferences: { sandbox: false } })" }],
      ['nodeIntegration on', { path: 'preload/x.ts', text: "const p = { nodeIntegration: true };" }],
      ['a BrowserView', { path: WINDOW_FACTORY, text: 'new BrowserView({})' }],
      ['a WebContentsView', { path: 'main/app/x.ts', text: 'new WebContentsView()' }],
    ];
    for (const [what, file] of bad) assert.notDeepEqual(windowViolations([...factory, file]), [], what);
  });

  it('imports electron only inside main/app/, and at run time only in the entry point', () => {
    const importers = files.filter((file) => file.path.startsWith('main/') && ELECTRON_IMPORT.test(file.text)).map((file) => file.path);
    assert.deepEqual(importers.filter((path) => !path.startsWith('main/app/')), []);
    const valueImporters = files.filter((file) => file.path.startsWith('main/') && ELECTRON_VALUE_IMPORT.test(file.text)).map((file) => file.path);
    assert.deepEqual(valueImporters, ['main/app/electron-main.ts']);
  });
});

// ---------------------------------------------------------------------------------------------
// (3) IPC: contract channels only, every call through the sender check

interface FakeFrame {
  url: string;
  parent: object | null;
}

function fakeEvent(sender: object, senderFrame: FakeFrame | null | (() => never)): IpcMainInvokeEvent {
  const event = { sender } as Record<string, unknown>;
  if (typeof senderFrame === 'function') Object.defineProperty(event, 'senderFrame', { get: senderFrame });
  else event.senderFrame = senderFrame;
  return event as unknown as IpcMainInvokeEvent;
}

type InvokeHandler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

function fakeRegistrar() {
  const handlers = new Map<string, InvokeHandler>();
  const registrations: string[] = [];
  const registrar: IpcRegistrar = {
    handle: (channel: string, listener: InvokeHandler) => {
      registrations.push(channel);
      handlers.set(channel, listener);
    },
    removeHandler: (channel: string) => {
      handlers.delete(channel);
    },
  } as unknown as IpcRegistrar;
  return { registrar, handlers, registrations };
}

describe('IPC binding', () => {
  const appContents = { id: 1 };
  const otherContents = { id: 2 };
  const isAppWindow = (contents: WebContents) => contents === (appContents as unknown);
  const mainFrame = (url: string): FakeFrame => ({ url, parent: null });

  it('registers exactly the contract channels, once each, and unregisters them', () => {
    const { registrar, handlers, registrations } = fakeRegistrar();
    const unbind = bindIpc(registrar, { dispatch: async () => ({ ok: true, value: null }) }, isAppWindow);
    assert.deepEqual([...registrations].sort(), [...CHANNEL_NAMES].sort());
    unbind();
    assert.equal(handlers.size, 0);
  });

  it('passes the router the channel, the request and a verdict — never the event', async () => {
    const { registrar, handlers } = fakeRegistrar();
    const seen: unknown[][] = [];
    bindIpc(registrar, { dispatch: async (...args: unknown[]) => { seen.push(args); return { ok: true, value: null }; } }, isAppWindow);
    const request = { passphrase: 'x' };
    const event = fakeEvent(appContents, mainFrame(APP_ENTRY_URL));
    await handlers.get('vault.unlock')?.(event, request);
    assert.equal(seen.length, 1);
    const [channel, payload, context, ...rest] = seen[0] ?? [];
    assert.equal(channel, 'vault.unlock');
    assert.equal(payload, request);
    assert.deepEqual(Object.keys(context as object).sort(), ['senderDescription', 'trustedSender']);
    assert.equal((context as CallContext).trustedSender, true);
    assert.equal(rest.length, 0);
    assert.ok(!seen[0]?.includes(event));
  });

  const senders: Array<[string, IpcMainInvokeEvent, boolean]> = [
    ['app window, main frame, app origin', fakeEvent(appContents, mainFrame('vaultkeeper://app/index.html#/audit')), true],
    ['another window', fakeEvent(otherContents, mainFrame(APP_ENTRY_URL)), false],
    ['a subframe', fakeEvent(appContents, { url: APP_ENTRY_URL, parent: {} }), false],
    ['a remote origin', fakeEvent(appContents, mainFrame('https://evil.example/')), false],
    ['a file: page', fakeEvent(appContents, mainFrame('file:///tmp/index.html')), false],
    ['a look-alike host', fakeEvent(appContents, mainFrame('vaultkeeper://app.evil/index.html')), false],
    ['credentials in the URL', fakeEvent(appContents, mainFrame('vaultkeeper://app@evil/index.html')), false],
    ['a port', fakeEvent(appContents, mainFrame('vaultkeeper://app:8080/index.html')), false],
    ['another scheme with the same host', fakeEvent(appContents, mainFrame('vaultkeeperx://app/')), false],
    ['about:blank', fakeEvent(appContents, mainFrame('about:blank')), false],
    ['a destroyed frame (null)', fakeEvent(appContents, null), false],
    ['a frame that throws on access', fakeEvent(appContents, () => { throw new Error('Render frame was disposed'); }), false],
  ];

  it('judges each sender through the router: only our window\'s main frame on our origin is served', async () => {
    const services = testServices();
    try {
      const { registrar, handlers } = fakeRegistrar();
      bindIpc(registrar, services.router, isAppWindow);
      for (const [what, event, trusted] of senders) {
        const result = (await handlers.get('vault.status')?.(event, {})) as Result<unknown>;
        if (trusted) assert.equal(result.ok, true, what);
        else assert.deepEqual(result.ok ? null : result.error.code, 'FORBIDDEN_SENDER', what);
      }
      const unknownShape = (await handlers.get('vault.status')?.(fakeEvent(appContents, mainFrame(APP_ENTRY_URL)), { extra: 1 })) as Result<unknown>;
      assert.equal(unknownShape.ok ? null : unknownShape.error.code, 'VALIDATION_FAILED');
    } finally {
      await services.cleanup();
    }
  });

  it('the only ipcMain registration in the source is the contract loop in main/app/ipc.ts', () => {
    const registrations = sourceFiles('main', 'preload').flatMap((file) =>
      [...file.text.matchAll(/\bipcMain\s*\.\s*(handle|handleOnce|on|once|addListener)\s*\(/g)].map((match) => `${file.path}:${match[1]}`),
    );
    assert.deepEqual(registrations, ['main/app/ipc.ts:handle']);
    const ipcSource = readFileSync(join(ROOT, 'main/app/ipc.ts'), 'utf8');
    assert.match(ipcSource, /for \(const channel of CHANNEL_NAMES\) \{\s*ipcMain\.handle\(channel,/);
    assert.match(ipcSource, /trustedSender: isTrustedSender\(facts\)/);
  });
});

describe('app origin, navigation and requests', () => {
  it('recognises the app origin by parsed parts only', () => {
    assert.equal(isAppUrl('vaultkeeper://app/'), true);
    assert.equal(isAppUrl('vaultkeeper://app/assets/index-abc.js?x=1'), true);
    for (const url of ['vaultkeeper://app.evil/', 'vaultkeeper://evil/app/', 'https://app/', 'vaultkeeper:app', 'not a url', '']) {
      assert.equal(isAppUrl(url), false, url);
    }
    assert.equal(isTrustedSender({ frameUrl: APP_ENTRY_URL, isMainFrame: true, fromAppWindow: true }), true);
  });

  it('lets a session load only the app protocol and inline data', () => {
    assert.equal(isPermittedRequest('vaultkeeper://app/index.html', { allowDevtools: false }), true);
    assert.equal(isPermittedRequest('data:image/png;base64,AAAA', { allowDevtools: false }), true);
    for (const url of ['https://example.com/', 'http://127.0.0.1:8080/', 'ws://10.0.0.1/', 'file:///etc/passwd', 'ftp://x/', 'devtools://devtools/bundled/x.html']) {
      assert.equal(isPermittedRequest(url, { allowDevtools: false }), false, url);
    }
    assert.equal(isPermittedRequest('devtools://devtools/bundled/x.html', { allowDevtools: true }), true);
  });

  it('guards web contents: windows denied, navigation and redirects off-origin prevented, webviews refused', () => {
    const listeners = new Map<string, (...args: unknown[]) => void>();
    let openHandler: ((details: { url: string }) => { action: string }) | null = null;
    const contents = {
      setWindowOpenHandler: (handler: typeof openHandler) => { openHandler = handler; },
      on: (name: string, listener: (...args: unknown[]) => void) => { listeners.set(name, listener); return contents; },
    };
    const logged: string[] = [];
    guardWebContents(contents as unknown as WebContents, (message) => logged.push(message));
    assert.deepEqual(openHandler!({ url: 'https://evil.example/path?secret=1' }), { action: 'deny' });
    const fire = (name: string, details: Record<string, unknown>, ...extra: unknown[]) => {
      let prevented = false;
      listeners.get(name)?.({ ...details, preventDefault: () => { prevented = true; } }, ...extra);
      return prevented;
    };
    assert.equal(fire('will-navigate', { url: 'https://evil.example/' }), true);
    assert.equal(fire('will-navigate', { url: 'vaultkeeper://app/index.html' }), false);
    assert.equal(fire('will-frame-navigate', { url: 'vaultkeeper://app/x.html', isMainFrame: false }), true);
    assert.equal(fire('will-frame-navigate', { url: 'vaultkeeper://app/index.html', isMainFrame: true }), false);
    assert.equal(fire('will-redirect', { url: 'http://127.0.0.1/' }), true);
    assert.equal(fire('will-attach-webview', {}), true);
    assert.equal(fire('select-bluetooth-device', {}, [], () => undefined), true);
    assert.ok(logged.every((line) => !line.includes('secret')), 'logs carry origins, not paths or queries');
  });

  it('guards sessions: permissions denied, devices refused, foreign requests cancelled', () => {
    const recorded: Record<string, (...args: unknown[]) => unknown> = {};
    const events = new Map<string, (...args: unknown[]) => void>();
    let spellcheck: boolean | null = null;
    let dictionaryUrl: string | null = null;
    const session = {
      setSpellCheckerDictionaryDownloadURL: (url: string) => { dictionaryUrl = url; },
      setPermissionRequestHandler: (h: never) => { recorded.request = h; },
      setPermissionCheckHandler: (h: never) => { recorded.check = h; },
      setDevicePermissionHandler: (h: never) => { recorded.device = h; },
      setSpellCheckerEnabled: (on: boolean) => { spellcheck = on; },
      on: (name: string, listener: (...args: unknown[]) => void) => { events.set(name, listener); },
      webRequest: { onBeforeRequest: (h: never) => { recorded.beforeRequest = h; } },
    };
    guardSession(session as never, { allowDevtools: false }, () => undefined);
    guardSession(session as never, { allowDevtools: false }, () => { throw new Error('guarded twice'); });
    const answers: unknown[] = [];
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fullscreen']) {
      recorded.request?.({}, permission, (granted: boolean) => answers.push(granted), {});
      assert.equal(recorded.check?.({}, permission, 'vaultkeeper://app', {}), false, permission);
    }
    assert.deepEqual(answers, [false, false, false, false, false, false]);
    // The camera only (QR scanning): video, asked by the app's own page. Never audio, never another origin.
    const media = (details: Record<string, unknown>) => {
      let granted: unknown;
      recorded.request?.({}, 'media', (g: boolean) => { granted = g; }, details);
      return granted;
    };
    assert.equal(media({ requestingUrl: 'vaultkeeper://app/index.html', mediaTypes: ['video'] }), true);
    assert.equal(media({ requestingUrl: 'vaultkeeper://app/index.html', mediaTypes: ['video', 'audio'] }), false);
    assert.equal(media({ requestingUrl: 'vaultkeeper://app/index.html', mediaTypes: ['audio'] }), false);
    assert.equal(media({ requestingUrl: 'vaultkeeper://app/index.html', mediaTypes: [] }), false);
    assert.equal(media({ requestingUrl: 'https://example.com/', mediaTypes: ['video'] }), false);
    assert.equal(media({ requestingUrl: 'vaultkeeper://app.evil/', mediaTypes: ['video'] }), false);
    assert.equal(recorded.check?.({}, 'media', 'vaultkeeper://app', { mediaType: 'video' }), true);
    assert.equal(recorded.check?.({}, 'media', 'vaultkeeper://app', { mediaType: 'audio' }), false);
    assert.equal(recorded.check?.({}, 'media', 'https://example.com', { mediaType: 'video' }), false);
    assert.equal(recorded.device?.({ deviceType: 'hid' }), false);
    assert.equal(spellcheck, false);
    assert.equal(dictionaryUrl, SPELLCHECK_DICTIONARY_URL);
    assert.ok(isAppUrl(dictionaryUrl!), 'spellcheck dictionaries would come from the app itself, never a remote host');
    for (const name of ['select-hid-device', 'select-usb-device', 'select-serial-port']) assert.ok(events.has(name), name);
    const cancel = (url: string) => {
      let response: unknown;
      recorded.beforeRequest?.({ url }, (r: unknown) => { response = r; });
      return (response as { cancel: boolean }).cancel;
    };
    assert.equal(cancel('https://example.com/x.js'), true);
    assert.equal(cancel('vaultkeeper://app/index.html'), false);
  });
});

describe('renderer protocol', () => {
  const folder = tempDir('vaultkeeper-renderer-');
  const root = join(folder.path, 'renderer');
  before(() => {
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Vaultkeeper</title>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(root, 'assets', 'index-abc.css'), 'body{}');
    writeFileSync(join(root, 'assets', 'notes.unknownext'), 'x');
    writeFileSync(join(folder.path, 'secret.txt'), 'outside');
  });
  after(() => folder.cleanup());

  it('serves files with their MIME type and the security headers', async () => {
    for (const [url, type] of [
      ['vaultkeeper://app/', 'text/html; charset=utf-8'],
      ['vaultkeeper://app/index.html', 'text/html; charset=utf-8'],
      ['vaultkeeper://app/assets/index-abc.js', 'text/javascript; charset=utf-8'],
      ['vaultkeeper://app/assets/index-abc.css', 'text/css; charset=utf-8'],
    ] as const) {
      const response = await serveRendererRequest({ url, method: 'GET' }, root);
      assert.equal(response.status, 200, url);
      assert.equal(response.headers.get('content-type'), type, url);
      assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
      for (const [name, value] of Object.entries(RENDERER_SECURITY_HEADERS)) assert.equal(response.headers.get(name), value, name);
    }
    assert.equal(mimeTypeFor('x.woff2'), 'font/woff2');
    assert.equal(mimeTypeFor('x.exe'), null);
  });

  it('answers 404 (with the same headers) for traversal, foreign origins, hidden and unknown files', async () => {
    for (const url of [
      'vaultkeeper://app/../secret.txt',
      'vaultkeeper://app/%2e%2e/secret.txt',
      'vaultkeeper://app/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'vaultkeeper://app/..%5csecret.txt',
      'vaultkeeper://app/%00index.html',
      'vaultkeeper://app/C:%2fsecret.txt',
      'vaultkeeper://app/%E0%A4%A',
      'vaultkeeper://app/.env',
      'vaultkeeper://app/assets/notes.unknownext',
      'vaultkeeper://app/missing.js',
      'vaultkeeper://other/index.html',
      'https://app/index.html',
    ]) {
      const response = await serveRendererRequest({ url, method: 'GET' }, root);
      assert.equal(response.status, 404, url);
      assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, url);
      assert.ok(!(await response.text()).includes('outside'), url);
    }
    // The URL parser already folds "/../" away; whatever survives still resolves inside the root.
    for (const url of ['vaultkeeper://app/../secret.txt', 'vaultkeeper://app/a/../../../secret.txt']) {
      const file = resolveRendererFile(url, root);
      assert.ok(!file.found || file.path.startsWith(root + sep), url);
    }
    assert.equal((await serveRendererRequest({ url: 'vaultkeeper://app/', method: 'POST' }, root)).status, 405);
  });
});

// ---------------------------------------------------------------------------------------------
// (4) Packaging config

describe('electron-builder.yml', () => {
  const config = parseYaml(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;

  it('flips the fuses at pack time', () => {
    assert.deepEqual(config.electronFuses, {
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('packs into an asar with native .node files unpacked and shipped', () => {
    assert.equal(config.asar, true);
    const unpack = ([] as string[]).concat(config.asarUnpack as string[]);
    assert.ok(unpack.some((pattern) => /\*\*\/\*\.node$/.test(pattern)), 'asarUnpack covers **/*.node');
    const files = config.files as string[];
    assert.ok(files.includes('dist/**') && files.includes('package.json'));
    assert.ok(files.some((pattern) => pattern.endsWith('.node')), 'the native addon is packed');
    assert.equal(config.npmRebuild, true);
  });

  it('has no update channel anywhere', () => {
    assert.ok('publish' in config && config.publish === null, 'publish: null at the top level');
    for (const platform of ['linux', 'mac', 'win', 'nsis', 'appImage', 'deb', 'dmg']) {
      const section = config[platform] as Record<string, unknown> | undefined;
      assert.ok(!section || !('publish' in section) || section.publish === null, `${platform} has no publish provider`);
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const group of ['dependencies', 'devDependencies', 'optionalDependencies']) assert.ok(!pkg[group]?.['electron-updater'], `no electron-updater in ${group}`);
    const updaterImports = sourceFiles('main', 'preload').filter((file) => /electron-updater|autoUpdater/.test(file.text)).map((file) => file.path);
    assert.deepEqual(updaterImports, []);
  });

  it('targets Linux (AppImage, deb), macOS (dmg) and Windows (nsis), with the installed Electron pinned', () => {
    const targets = (platform: string) => ((config[platform] as { target: unknown }).target as Array<string | { target: string }>).map((t) => (typeof t === 'string' ? t : t.target));
    assert.deepEqual(targets('linux').sort(), ['AppImage', 'deb']);
    assert.deepEqual(targets('mac'), ['dmg']);
    assert.deepEqual(targets('win'), ['nsis']);
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string };
    assert.equal(config.electronVersion, installed.version);
    assert.equal(config.productName, 'Vaultkeeper');
  });

  it("passes electron-builder's own schema validation", async () => {
    const requireFromRoot = createRequire(join(ROOT, 'package.json'));
    const { getConfig, validateConfiguration } = requireFromRoot('app-builder-lib/out/util/config/config.js') as {
      getConfig: (dir: string, path: string | null, fromOptions: null) => Promise<unknown>;
      validateConfiguration: (config: unknown, logger: unknown) => Promise<void>;
    };
    const { DebugLogger } = requireFromRoot('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const loaded = await getConfig(ROOT, join(ROOT, 'electron-builder.yml'), null);
    await validateConfiguration(loaded, new DebugLogger(false));
  });
});

// ---------------------------------------------------------------------------------------------
// (5) + (6) Preload and bundles

describe('preload bridge and bundles', () => {
  const out = tempDir('vaultkeeper-build-');
  let built: { main: string; preload: string };

  before(() => {
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build-electron.mjs'), '--outdir', out.path], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    built = { main: join(out.path, 'main', 'electron-main.cjs'), preload: join(out.path, 'preload', 'electron-bridge.cjs') };
  });
  after(() => out.cleanup());

  it('the preload source exposes one object and never ipcRenderer itself', () => {
    // Comments may name what the file must not do; only code counts.
    const source = readFileSync(join(ROOT, 'preload/electron-bridge.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    assert.equal(source.match(/exposeInMainWorld\s*\(/g)?.length, 1);
    assert.doesNotMatch(source, /exposeInIsolatedWorld|webFrame|require\s*\(/);
    // ipcRenderer appears only in its import and as ipcRenderer.invoke(...).
    const uses = [...source.matchAll(/\bipcRenderer\b(\s*\.\s*\w+)?/g)].map((match) => match[1]?.replace(/\s/g, '') ?? '(bare)');
    assert.deepEqual(uses, ['(bare)', '.invoke']);
    assert.match(source, /import \{ contextBridge, ipcRenderer \} from 'electron';/);
    const imports = [...source.matchAll(/from\s+'([^']+)'/g)].map((match) => match[1]);
    assert.deepEqual(imports, ['electron', './contract']);
  });

  it('bundles both entries; the preload requires nothing but electron', () => {
    assert.ok(existsSync(built.main) && existsSync(built.preload));
    const preloadRequires = new Set([...readFileSync(built.preload, 'utf8').matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((match) => match[1]));
    assert.deepEqual([...preloadRequires], ['electron']);
    assert.doesNotMatch(readFileSync(built.preload, 'utf8'), /\brequire\(\s*[^"'`\s]/, 'no dynamic require in the preload');
    const mainRequires = new Set([...readFileSync(built.main, 'utf8').matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((match) => match[1] ?? ''));
    // Node built-ins (bundled libraries name them without the node: prefix), native modules,
    // ws's optional speed-ups and node-fetch's optional charset converter (reached through
    // @solana/web3.js), each loaded inside try/catch.
    const optionalNative = ['bufferutil', 'utf-8-validate', 'encoding'];
    const allowed = (name: string) =>
      name.startsWith('node:') || builtinModules.includes(name) || optionalNative.includes(name) ||
      ['electron', 'better-sqlite3', 'node-hid', 'usb', '@ledgerhq/hw-transport-node-hid'].includes(name) || name.endsWith('.node');
    assert.deepEqual([...mainRequires].filter((name) => !allowed(name)), []);
  });

  it('the built preload exposes exactly one frozen API whose methods invoke their own channel', async () => {
    const exposed: Array<[string, unknown]> = [];
    const invoked: unknown[][] = [];
    let failNext = false;
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push([key, api]) },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => {
          invoked.push(args);
          if (failNext) throw new Error('Error invoking remote method');
          return { ok: true, value: 'pong' };
        },
      },
    };
    const module = { exports: {} };
    const fakeRequire = (name: string) => {
      if (name === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require ${name}`);
    };
    new Function('require', 'module', 'exports', readFileSync(built.preload, 'utf8'))(fakeRequire, module, module.exports);

    assert.equal(exposed.length, 1);
    const [key, api] = exposed[0] as [string, Record<string, Record<string, (request: unknown) => Promise<Result<unknown>>>>];
    assert.equal(key, API_GLOBAL);
    assert.ok(Object.isFrozen(api));
    const methods = Object.entries(api).flatMap(([namespace, group]) => Object.keys(group).map((method) => `${namespace}.${method}`));
    assert.deepEqual(methods.sort(), [...CHANNEL_NAMES].sort());
    for (const group of Object.values(api)) for (const value of Object.values(group)) assert.equal(typeof value, 'function');
    assert.ok(!JSON.stringify(Object.keys(api)).includes('ipcRenderer'));

    assert.deepEqual(await api.vault?.status?.({}), { ok: true, value: 'pong' });
    assert.deepEqual(invoked[0], ['vault.status', {}]);
    failNext = true;
    const failed = await api.audit?.verify?.({});
    assert.equal(failed?.ok, false);
    assert.equal(failed && !failed.ok ? failed.error.code : null, 'INTERNAL');
  });

  it('the built main bundle boots against a stand-in electron module with every guard in place', () => {
    const rendererRoot = join(out.path, 'renderer');
    mkdirSync(rendererRoot, { recursive: true });
    writeFileSync(join(rendererRoot, 'index.html'), '<!doctype html><title>Vaultkeeper</title>');
    const stubPath = join(out.path, 'electron-stand-in.cjs');
    writeFileSync(stubPath, ELECTRON_STAND_IN);
    const data = tempDir('vaultkeeper-boot-');
    try {
      const run = spawnSync(process.execPath, ['--require', stubPath, built.main], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 30_000,
        // The bundle lives in a temp folder; its externals (better-sqlite3) come from the project.
        env: { ...process.env, VAULTKEEPER_DATA_DIR: data.path, NODE_PATH: join(ROOT, 'node_modules') },
      });
      const line = run.stdout.split('\n').find((text) => text.startsWith('BOOT-REPORT '));
      assert.ok(line, `no report; exit ${run.status}; stderr: ${run.stderr}`);
      const report = JSON.parse(line.slice('BOOT-REPORT '.length)) as BootReport;
      assert.equal(run.status, 0, run.stderr);

      assert.equal(report.name, 'Vaultkeeper');
      assert.equal(report.singleInstanceLock, true);
      assert.equal(report.sandboxEnabledBeforeReady, true);
      assert.deepEqual(report.privilegedSchemes, [{ scheme: 'vaultkeeper', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true }, beforeReady: true }]);
      assert.deepEqual(report.handledSchemes, ['vaultkeeper']);
      assert.equal(report.windows.length, 1);
      assert.deepEqual(report.windows[0], hardenedWebPreferences({ preloadPath: join(out.path, 'preload', 'electron-bridge.cjs'), isPackaged: true }));
      assert.deepEqual(report.loadedUrls, [APP_ENTRY_URL]);
      assert.deepEqual(report.ipcChannels.sort(), [...CHANNEL_NAMES].sort());
      assert.equal(report.index.status, 200);
      assert.equal(report.index.csp, CONTENT_SECURITY_POLICY);
      assert.equal(report.traversal.status, 404);
      assert.equal(report.statusFromWindow.ok, true);
      assert.equal(report.statusFromElsewhere.code, 'FORBIDDEN_SENDER');
      assert.equal(report.windowOpen, 'deny');
      assert.equal(report.offOriginNavigationPrevented, true);
      assert.equal(report.permissionGranted, false);
      assert.equal(report.permissionCheck, false);
      assert.equal(report.remoteRequestCancelled, true);
      assert.equal(report.quitAfterClose, true);
      // Network silence: Chromium's own traffic is off.
      assert.deepEqual(report.hostResolver, [{ config: { enableBuiltInResolver: false, secureDnsMode: 'off' }, afterReady: true }], 'built-in DNS client and secure DNS off');
      assert.equal(report.dictionaryUrl, SPELLCHECK_DICTIONARY_URL);
      const switches = new Map(report.switches.map((s) => [s.name, s]));
      for (const name of ['disable-component-update', 'disable-background-networking', 'disable-domain-reliability', 'disable-sync', 'no-pings', 'dns-prefetch-disable']) {
        assert.equal(switches.get(name)?.beforeReady, true, `--${name} appended before ready`);
      }
      for (const [name, value] of QUIET_CHROMIUM_SWITCHES) assert.equal(switches.get(name)?.value ?? undefined, value, `--${name}`);
    } finally {
      data.cleanup();
    }
  });
});

interface BootReport {
  name: string;
  singleInstanceLock: boolean;
  sandboxEnabledBeforeReady: boolean;
  privilegedSchemes: unknown[];
  handledSchemes: string[];
  windows: WebPreferences[];
  loadedUrls: string[];
  ipcChannels: string[];
  index: { status: number; csp: string | null };
  traversal: { status: number };
  statusFromWindow: { ok: boolean };
  statusFromElsewhere: { code: string };
  windowOpen: string;
  offOriginNavigationPrevented: boolean;
  permissionGranted: boolean;
  permissionCheck: boolean;
  remoteRequestCancelled: boolean;
  quitAfterClose: boolean;
  hostResolver: Array<{ config: unknown; afterReady: boolean }>;
  dictionaryUrl: string;
  switches: Array<{ name: string; value?: string; beforeReady: boolean }>;
}

/**
 * A stand-in for the `electron` module, loaded with --require before the main bundle: it
 * records what the bundle asks of Electron, plays the `ready` event, drives a few calls through
 * the guards and the IPC handlers, quits, and prints what it saw as one JSON line.
 */
const ELECTRON_STAND_IN = String.raw`
const Module = require('node:module');
const { EventEmitter } = require('node:events');

let ready = false;
let resolveReady;
const readyPromise = new Promise((resolve) => { resolveReady = resolve; });
const report = { windows: [], loadedUrls: [], privilegedSchemes: [], handledSchemes: [], ipcChannels: [], hostResolver: [], switches: [] };
const protocolHandlers = new Map();
const ipcHandlers = new Map();
const windows = [];

function makeSession() {
  const s = new EventEmitter();
  s.setPermissionRequestHandler = (h) => { s.permissionRequest = h; };
  s.setPermissionCheckHandler = (h) => { s.permissionCheck = h; };
  s.setDevicePermissionHandler = (h) => { s.devicePermission = h; };
  s.setSpellCheckerEnabled = (on) => { s.spellcheck = on; };
  s.setSpellCheckerDictionaryDownloadURL = (url) => { report.dictionaryUrl = url; };
  s.webRequest = { onBeforeRequest: (h) => { s.beforeRequest = h; } };
  return s;
}
const defaultSession = makeSession();

const app = new EventEmitter();
Object.assign(app, {
  isPackaged: true,
  commandLine: { appendSwitch(name, value) { report.switches.push({ name, ...(value === undefined ? {} : { value }), beforeReady: !ready }); } },
  configureHostResolver(config) { report.hostResolver.push({ config, afterReady: ready }); },
  setName(name) { report.name = name; },
  requestSingleInstanceLock() { report.singleInstanceLock = true; return true; },
  enableSandbox() { report.sandboxEnabledBeforeReady = !ready; },
  getPath() { return '/nonexistent/user-data'; },
  whenReady() { return readyPromise; },
  quit() {
    let prevented = false;
    app.emit('before-quit', { preventDefault() { prevented = true; } });
    if (!prevented) report.quitAfterClose = true;
    if (!prevented) finish();
  },
  exit(code) { report.exitCode = code; finish(); },
});

class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    report.windows.push(options.webPreferences);
    this.webContents = new EventEmitter();
    this.webContents.setWindowOpenHandler = (h) => { this.webContents.windowOpen = h; };
    windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadURL(url) { report.loadedUrls.push(url); return Promise.resolve(); }
  isDestroyed() { return false; }
  isMinimized() { return false; }
  show() {}
  focus() {}
  restore() {}
}

const electron = {
  app,
  BrowserWindow,
  dialog: { showErrorBox(title) { report.errorBox = title; } },
  ipcMain: {
    handle(channel, fn) { report.ipcChannels.push(channel); ipcHandlers.set(channel, fn); },
    removeHandler(channel) { ipcHandlers.delete(channel); },
  },
  protocol: {
    registerSchemesAsPrivileged(list) { for (const item of list) report.privilegedSchemes.push({ ...item, beforeReady: !ready }); },
    handle(scheme, fn) { report.handledSchemes.push(scheme); protocolHandlers.set(scheme, fn); },
  },
  session: { defaultSession },
};

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'electron') return electron;
  return load.call(this, request, ...rest);
};

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  process.stdout.write('BOOT-REPORT ' + JSON.stringify(report) + '\n');
  process.exit(0);
}

setImmediate(async () => {
  ready = true;
  resolveReady();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const handler = protocolHandlers.get('vaultkeeper');
  const index = await handler(new Request('vaultkeeper://app/'));
  report.index = { status: index.status, csp: index.headers.get('content-security-policy') };
  const traversal = await handler(new Request('vaultkeeper://app/%2e%2e/main/electron-main.cjs'));
  report.traversal = { status: traversal.status };

  const window = windows[0];
  const frame = { url: 'vaultkeeper://app/index.html', parent: null };
  const status = ipcHandlers.get('vault.status');
  report.statusFromWindow = await status({ sender: window.webContents, senderFrame: frame }, {});
  const refused = await status({ sender: new EventEmitter(), senderFrame: frame }, {});
  report.statusFromElsewhere = { code: refused.ok ? 'OK' : refused.error.code };

  report.windowOpen = window.webContents.windowOpen({ url: 'https://evil.example/' }).action;
  let prevented = false;
  window.webContents.emit('will-navigate', { url: 'https://evil.example/', preventDefault() { prevented = true; } });
  report.offOriginNavigationPrevented = prevented;
  defaultSession.permissionRequest(window.webContents, 'media', (granted) => { report.permissionGranted = granted; }, {});
  report.permissionCheck = defaultSession.permissionCheck(window.webContents, 'hid', 'vaultkeeper://app', {});
  defaultSession.beforeRequest({ url: 'https://example.com/' }, (response) => { report.remoteRequestCancelled = response.cancel === true; });

  app.quit();
  setTimeout(() => { report.quitAfterClose = report.quitAfterClose === true; finish(); }, 5000);
});
`;
