/**
 * Electron entry point (bundled to dist/main/electron-main.cjs). Keeps to wiring: the app's
 * lifecycle, the renderer protocol, the one window, IPC. The decisions live in the pure modules
 * beside it. This folder is the only part of main/ that imports `electron`.
 * Runtime: Electron main process.
 */
import { join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, protocol, session, utilityProcess, type WebContents } from 'electron';
import { declarePackagedBuild } from '../mpc/index';
import { createServices, type Services } from '../services';
import { APP_NAME, resolveDataDir } from '../platform/data-dir';
import { APP_ENTRY_URL, APP_SCHEME } from './app-origin';
import { createHardenedWindow, guardSession, installAppGuards, installNetworkGuardsWhenReady } from './hardening';
import { electronPdfPrinter } from './electron-pdf';
import { utilityProcessLabLauncher } from './lab-utility-process';
import { runSignerNode, signerNodeArgs } from './signer-node-mode';
import { bindIpc } from './ipc';
import { serveRendererRequest } from './renderer-files';

// The bundle sits in dist/main/; the preload and the renderer build are its siblings.
const PRELOAD_PATH = join(__dirname, '..', 'preload', 'electron-bridge.cjs');
const RENDERER_ROOT = join(__dirname, '..', 'renderer');
// The lab's coordinator and signer node bundles are built beside the main bundle (dist/node, dist/coordinator).
const DIST_ROOT = join(__dirname, '..');

// Set before anything asks for userData, which is derived from the name.
app.setName(APP_NAME);
// Before any service loads the MPC addon: a packaged app loads only its bundled addon.
declarePackagedBuild(app.isPackaged);

const nodeArgs = signerNodeArgs(process.argv);
if (nodeArgs) {
  // `vaultkeeper --signer-node …`: the bundled signer node in this terminal, no window.
  void app.whenReady().then(async () => {
    const code = await runSignerNode(utilityProcessLabLauncher(utilityProcess, DIST_ROOT), nodeArgs, {
      stdout: process.stdout,
      stderr: process.stderr,
      environmentPassphrase: process.env.VAULTKEEPER_NODE_PASSPHRASE,
      onStopSignal: (stop) => {
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      },
    });
    app.exit(code);
  });
} else if (!app.requestSingleInstanceLock()) {
  // Two consoles on one database would race each other's vault state.
  app.quit();
} else {
  start();
}

function start(): void {
  const allowDevtools = !app.isPackaged;
  let services: Services | null = null;
  let mainWindow: BrowserWindow | null = null;
  let unbindIpc: (() => void) | null = null;

  installAppGuards(app, { allowDevtools });

  // Standard + secure gives the renderer a real origin and a secure context; CSP is not bypassed.
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
  ]);

  const isAppWindow = (contents: WebContents): boolean =>
    mainWindow !== null && !mainWindow.isDestroyed() && contents === mainWindow.webContents;

  const openWindow = (): void => {
    const window = createHardenedWindow(BrowserWindow, { preloadPath: PRELOAD_PATH, isPackaged: app.isPackaged });
    mainWindow = window;
    window.once('ready-to-show', () => window.show());
    window.on('closed', () => {
      if (mainWindow === window) mainWindow = null;
    });
    window.loadURL(APP_ENTRY_URL).catch(() => process.stderr.write('[vaultkeeper] the renderer did not load; is dist/renderer built?\n'));
  };

  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  app
    .whenReady()
    .then(() => {
      installNetworkGuardsWhenReady(app);
      guardSession(session.defaultSession, { allowDevtools });
      protocol.handle(APP_SCHEME, (request) => serveRendererRequest({ url: request.url, method: request.method }, RENDERER_ROOT));
      services = createServices({ dataDir: resolveDataDir(app.getPath('userData')), lab: { packaged: app.isPackaged, launcher: utilityProcessLabLauncher(utilityProcess, DIST_ROOT) }, pdfPrinter: electronPdfPrinter(BrowserWindow) });
      // Idle lock needs no push: the renderer polls vault.status and shows the lock screen.
      unbindIpc = bindIpc(ipcMain, services.router, isAppWindow);
      openWindow();
      app.on('activate', () => {
        if (!mainWindow) openWindow();
      });
    })
    .catch((error: unknown) => {
      // The error's class only: messages from the store can quote paths or input.
      const kind = error instanceof Error ? error.name : typeof error;
      dialog.showErrorBox(`${APP_NAME} could not start`, `Start-up failed (${kind}). See the terminal output for details.`);
      process.stderr.write(`[vaultkeeper] start-up failed: ${kind}\n`);
      app.exit(1);
    });

  // A custody console does not linger without a window, on any platform.
  app.on('window-all-closed', () => app.quit());

  // Lock the vault and close the database before the process ends.
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing || services === null) return;
    event.preventDefault();
    closing = true;
    unbindIpc?.();
    const running = services;
    services = null;
    void running
      .close()
      .catch(() => undefined)
      .finally(() => app.quit());
  });
}
