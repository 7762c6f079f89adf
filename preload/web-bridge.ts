/**
 * The headless host's stand-in for the Electron preload: the same contract API, carried over
 * HTTP to the host on 127.0.0.1, authenticated by the HttpOnly session cookie the host set when
 * the one-time address was opened (the page never sees it). Like the Electron bridge it exposes
 * one frozen object and nothing else.
 * Runtime: browser (bundled into one script served by the headless host).
 */
import { API_GLOBAL, buildApi, type Result } from './contract';

// The one-time token has been exchanged for the cookie; keep it out of history and session files.
if (new URLSearchParams(window.location.search).has('token')) {
  window.history.replaceState(null, '', window.location.pathname + window.location.hash);
}

const unreachable: Result<never> = {
  ok: false,
  error: {
    code: 'BRIDGE_UNAVAILABLE',
    message: 'The Vaultkeeper host is not answering. Check that `npm run host` is still running, then reload this page.',
  },
};

const api = buildApi(async (channel, request) => {
  try {
    const response = await fetch(`/__host/ipc/${encodeURIComponent(channel)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    return (await response.json()) as Result<unknown>;
  } catch {
    return unreachable;
  }
});

Object.defineProperty(window, API_GLOBAL, { value: api, writable: false, configurable: false, enumerable: false });
