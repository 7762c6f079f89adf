/**
 * The renderer's origin and the checks built on it: which URLs belong to the app, which IPC
 * senders are trusted, which requests a session may make. Pure functions (no `electron`
 * import), so the tests exercise exactly the logic the Electron layer runs.
 * Runtime: Electron main process.
 */

export const APP_SCHEME = 'vaultkeeper';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * Whether a URL is served by the app's own protocol. Compared on parsed parts, never by string
 * prefix: `vaultkeeper://app.evil/` or `vaultkeeper://user@app/` must not pass.
 * (Node's URL reports origin "null" for non-special schemes, so the parts are compared directly.)
 */
export function isAppUrl(url: string): boolean {
  const parsed = parse(url);
  return (
    parsed !== null &&
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.hostname === APP_HOST &&
    parsed.port === '' &&
    parsed.username === '' &&
    parsed.password === ''
  );
}

/** What an IPC event tells us about its sender, reduced to the facts the check needs. */
export interface SenderFacts {
  /** URL of the frame that sent the message; null when the frame is gone. */
  frameUrl: string | null;
  /** The frame is the top-level frame of its page (no parent). */
  isMainFrame: boolean;
  /** The message came from the web contents of the app's own window. */
  fromAppWindow: boolean;
}

/** Trusted only when all three hold: our window, its main frame, a page of our origin. */
export function isTrustedSender(facts: SenderFacts): boolean {
  return facts.fromAppWindow && facts.isMainFrame && facts.frameUrl !== null && isAppUrl(facts.frameUrl);
}

/** A short description of a sender for the refusal message: scheme and host only, no path or query. */
export function describeSender(facts: SenderFacts): string {
  const parsed = facts.frameUrl === null ? null : parse(facts.frameUrl);
  const where = parsed === null ? 'unknown frame' : `${parsed.protocol}//${parsed.host}`;
  const frame = facts.isMainFrame ? 'main frame' : 'subframe';
  const window = facts.fromAppWindow ? 'app window' : 'foreign window';
  return `${where} (${frame}, ${window})`.slice(0, 200);
}

/**
 * Requests a renderer session may make: the app's own protocol, inline data (CSP allows data:
 * images) and, while developing, the devtools front-end. Everything else — http(s), ws, file,
 * ftp — is cancelled, so no remote or local-file content can load even if CSP were bypassed.
 */
export function isPermittedRequest(url: string, options: { allowDevtools: boolean }): boolean {
  if (isAppUrl(url)) return true;
  const parsed = parse(url);
  if (parsed === null) return false;
  if (parsed.protocol === 'data:') return true;
  return options.allowDevtools && parsed.protocol === 'devtools:';
}

/**
 * The one permission the renderer may have: the camera (video only, never the microphone), asked
 * by a page of the app's own origin, to scan QR codes that cross the air gap. Everything else —
 * audio, screen capture, notifications, geolocation, other origins — is refused.
 */
export function isPermittedMediaRequest(permission: string, details: { requestingUrl?: string; mediaTypes?: ReadonlyArray<string> }): boolean {
  if (permission !== 'media') return false;
  if (!details.requestingUrl || !isAppUrl(details.requestingUrl)) return false;
  const types = details.mediaTypes ?? [];
  return types.length > 0 && types.every((t) => t === 'video');
}

/** The synchronous permission check Chromium makes before asking: camera only, app origin only. */
export function isPermittedMediaCheck(permission: string, requestingOrigin: string, mediaType: string | undefined): boolean {
  return permission === 'media' && mediaType === 'video' && isAppUrl(requestingOrigin);
}
