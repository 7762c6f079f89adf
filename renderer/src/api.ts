/**
 * The renderer's only way out: the contract API the bridge put on window. Types come from the
 * contract, so renderer and main cannot disagree about a request or an answer.
 */
import type { AppError, Result, VaultkeeperApi } from '../../preload/contract';

declare global {
  interface Window {
    vaultkeeper?: VaultkeeperApi;
  }
}

const missing: AppError = {
  code: 'BRIDGE_UNAVAILABLE',
  message: 'This page was opened without the Vaultkeeper bridge. Start the console with `npm start` or `npm run host` and use the address it prints.',
};

function unavailable(): Promise<Result<never>> {
  return Promise.resolve({ ok: false, error: missing });
}

/** The bridge, or a stand-in that answers every call with BRIDGE_UNAVAILABLE. */
export const api: VaultkeeperApi =
  window.vaultkeeper ??
  (new Proxy({}, { get: () => new Proxy({}, { get: () => unavailable }) }) as VaultkeeperApi);
