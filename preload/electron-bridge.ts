/**
 * The Electron preload (sandboxed; bundled to dist/preload/electron-bridge.cjs because a
 * sandboxed preload can require only Electron's renderer modules, events, timers and url).
 * It exposes exactly one object: the contract's named-method API, each method invoking its
 * own channel. No raw ipcRenderer, no event objects, no generic invoke.
 * Runtime: preload script.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { API_GLOBAL, buildApi, type Result } from './contract';

const BRIDGE_FAILURE: Result<never> = {
  ok: false,
  error: { code: 'INTERNAL', message: 'The request could not reach the Vaultkeeper main process. Restart the app if this persists.' },
};

contextBridge.exposeInMainWorld(
  API_GLOBAL,
  buildApi((channel, request) =>
    // The contract promises a Result, never a rejection: a broken pipe becomes a typed error.
    (ipcRenderer.invoke(channel, request) as Promise<Result<unknown>>).catch(() => BRIDGE_FAILURE),
  ),
);
