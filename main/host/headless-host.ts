/**
 * The headless host: the same main-process services and IPC router, under plain Node, serving
 * the built renderer to a browser on the loopback interface. It exists so the real UI can be
 * driven (by an operator without Electron, or by Playwright) against the real services.
 *
 * Guards, in the spirit of the Electron shell's: loopback binds only; the Host header must name
 * this listener (DNS rebinding); the renderer's CSP and security headers on every response.
 *
 * Access: the printed address carries a one-time token. Its first load exchanges it for a
 * session cookie (HttpOnly, SameSite=Strict, Path=/, host-only on the loopback address) and the
 * page removes the token from the address bar, so it stays in no history or session file; a
 * second load with the same token is refused. Every later request — page, scripts, IPC — needs
 * the cookie, and IPC also needs this listener's own Origin (a page on another loopback port is
 * same-site and would get the cookie, but not the origin).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { MAX_REQUEST_BYTES, type Result } from '../../preload/contract';
import { RENDERER_SECURITY_HEADERS } from '../platform/content-security-policy';
import type { IpcRouter } from '../ipc/router';

export const IPC_PATH_PREFIX = '/__host/ipc/';
const BRIDGE_PATH = '/__host/web-bridge.js';
export const SESSION_COOKIE = 'vk_host_session';
/** Browser sessions one host run accepts; each comes from its own one-time address. */
const MAX_SESSIONS = 16;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface HeadlessHostOptions {
  router: IpcRouter;
  /** The Vite build of the renderer (dist/renderer). */
  rendererDir: string;
  /** The bundled browser bridge (dist/host/web-bridge.js). */
  bridgeFile: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface HeadlessHost {
  /** The address to open, carrying a one-time token (valid for one first load). */
  url: string;
  origin: string;
  /** Another one-time address, for a second browser profile (the caller started this host). */
  newAccessUrl(): string;
  close(): Promise<void>;
}

export class NonLoopbackBindError extends Error {
  constructor(host: string) {
    super(`Refusing to listen on ${host}: the headless host serves the console only on the loopback interface (127.0.0.1 or ::1).`);
    this.name = 'NonLoopbackBindError';
  }
}

export function isLoopbackHost(host: string): boolean {
  if (LOOPBACK_HOSTS.has(host)) return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Secrets are kept as their hashes: a lookup then leaks nothing useful through timing. */
function digest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
}

function send(response: ServerResponse, status: number, body: string | Buffer, contentType: string, extraHeaders: Record<string, string> = {}): void {
  response.writeHead(status, { ...RENDERER_SECURITY_HEADERS, 'Content-Type': contentType, 'Cache-Control': 'no-store', ...extraHeaders });
  response.end(body);
}

function sendResult(response: ServerResponse, result: Result<unknown>): void {
  send(response, 200, JSON.stringify(result), MIME['.json']!);
}

/** Past this a sender is not a confused page but a flood: the connection is dropped. */
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Reads a request body; null when it is larger than the limit. An oversize body is still read
 * (and discarded) so the client receives the typed answer instead of a reset connection.
 */
async function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > DISCARD_LIMIT_BYTES) {
      request.destroy();
      return null;
    }
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? null : Buffer.concat(chunks).toString('utf8');
}

export async function startHeadlessHost(options: HeadlessHostOptions): Promise<HeadlessHost> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new NonLoopbackBindError(host);
  const indexHtml = await readFile(join(options.rendererDir, 'index.html'), 'utf8');
  const bridge = await readFile(options.bridgeFile);
  let allowedHosts = new Set<string>();
  let origin = '';
  /** One-time tokens not yet exchanged, and the sessions they became (both as hashes). */
  const unusedTokens = new Set<string>();
  const spentTokens = new Set<string>();
  const sessions = new Set<string>();

  const mintToken = (): string => {
    const token = randomBytes(24).toString('base64url');
    unusedTokens.add(digest(token));
    return token;
  };
  const hasSession = (request: IncomingMessage): boolean => cookieValues(request.headers.cookie, SESSION_COOKIE).some((value) => sessions.has(digest(value)));

  // The bridge script must run before the app (it also takes the token out of the address bar).
  const pageHtml = indexHtml.replace('<meta charset="utf-8" />', `<meta charset="utf-8" />\n    <script src="${BRIDGE_PATH}"></script>`);

  async function handleIpc(request: IncomingMessage, response: ServerResponse, channel: string): Promise<void> {
    // Browsers send Origin on every POST; a request without it did not come from the page.
    const fromPage = hasSession(request) && request.headers.origin === origin;
    const body = await readBody(request, MAX_REQUEST_BYTES * 2);
    if (body === null) {
      sendResult(response, { ok: false, error: { code: 'PAYLOAD_TOO_LARGE', message: `The request is larger than ${MAX_REQUEST_BYTES} bytes.`, details: { limit: MAX_REQUEST_BYTES } } });
      return;
    }
    let payload: unknown;
    try {
      payload = body.length ? JSON.parse(body) : {};
    } catch {
      sendResult(response, { ok: false, error: { code: 'VALIDATION_FAILED', message: 'The request body is not JSON.', details: { field: '(request)' } } });
      return;
    }
    const result = await options.router.dispatch(channel, payload, {
      trustedSender: fromPage,
      senderDescription: `${request.headers.origin ?? 'no origin'} via headless host`,
    });
    sendResult(response, result);
  }

  async function handleStatic(url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = url.pathname;
    const presented = url.searchParams.get('token');
    if ((path === '/' || path === '/index.html') && presented !== null) {
      const key = digest(presented);
      if (spentTokens.has(key)) {
        return send(response, 403, 'This address was already opened once; its access token works only once. Stop and start `npm run host` for a new address.', 'text/plain; charset=utf-8');
      }
      if (!unusedTokens.has(key)) {
        return send(response, 403, 'This address does not carry a valid access token for this run. Open the exact address printed by `npm run host`.', 'text/plain; charset=utf-8');
      }
      if (sessions.size >= MAX_SESSIONS) {
        return send(response, 403, `This console already serves ${MAX_SESSIONS} browser sessions. Stop and start \`npm run host\` to begin again.`, 'text/plain; charset=utf-8');
      }
      unusedTokens.delete(key);
      spentTokens.add(key);
      const session = randomBytes(32).toString('base64url');
      sessions.add(digest(session));
      // No Domain attribute: the cookie stays on this loopback host. No Secure: plain http on loopback.
      return send(response, 200, pageHtml, MIME['.html']!, { 'Set-Cookie': `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (!hasSession(request)) {
      return send(response, 403, 'Open the exact address printed by `npm run host`: it carries this run\'s one-time access token.', 'text/plain; charset=utf-8');
    }
    if (path === '/' || path === '/index.html') return send(response, 200, pageHtml, MIME['.html']!);
    if (path === BRIDGE_PATH) return send(response, 200, bridge, MIME['.js']!);
    const relative = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
    const file = join(options.rendererDir, relative);
    if (!file.startsWith(options.rendererDir + sep) || !MIME[extname(file)]) return send(response, 404, 'Not found', 'text/plain');
    try {
      send(response, 200, await readFile(file), MIME[extname(file)]!);
    } catch {
      send(response, 404, 'Not found', 'text/plain');
    }
  }

  const server = createServer((request, response) => {
    void (async () => {
      if (!allowedHosts.has(request.headers.host ?? '')) {
        return send(response, 421, 'This console answers only on its own loopback address.', 'text/plain');
      }
      const url = new URL(request.url ?? '/', origin);
      if (request.method === 'POST' && url.pathname.startsWith(IPC_PATH_PREFIX)) {
        return handleIpc(request, response, decodeURIComponent(url.pathname.slice(IPC_PATH_PREFIX.length)));
      }
      if (request.method === 'GET') return handleStatic(url, request, response);
      send(response, 405, 'Method not allowed', 'text/plain');
    })().catch(() => {
      if (!response.headersSent) send(response, 500, 'Internal error', 'text/plain');
      else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the headless host did not get a TCP address');
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${hostPart}:${address.port}`;
  allowedHosts = new Set([`${hostPart}:${address.port}`]);

  return {
    url: `${origin}/?token=${mintToken()}`,
    origin,
    newAccessUrl: () => `${origin}/?token=${mintToken()}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
