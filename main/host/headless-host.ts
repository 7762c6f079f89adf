/**
 * The headless host: the same main-process services and IPC router, under plain Node, serving
 * the built renderer to a browser on the loopback interface. It exists so the real UI can be
 * driven (by an operator without Electron, or by Playwright) against the real services.
 *
 * Guards, in the spirit of the Electron shell's: loopback binds only; a random per-run token
 * that every IPC request must carry; the Host header must name this listener (DNS rebinding);
 * a cross-origin Origin is refused; the renderer's CSP and security headers on every response.
 */
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { MAX_REQUEST_BYTES, type Result } from '../../preload/contract';
import { RENDERER_SECURITY_HEADERS } from '../platform/content-security-policy';
import type { IpcRouter } from '../ipc/router';

export const IPC_PATH_PREFIX = '/__host/ipc/';
const BRIDGE_PATH = '/__host/web-bridge.js';
export const TOKEN_HEADER = 'x-vaultkeeper-token';
const TOKEN_META = 'vaultkeeper-host-token';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
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
  /** The address to open, carrying the token. */
  url: string;
  origin: string;
  token: string;
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

function sameToken(expected: Buffer, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const candidate = Buffer.from(presented, 'utf8');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

function send(response: ServerResponse, status: number, body: string | Buffer, contentType: string): void {
  response.writeHead(status, { ...RENDERER_SECURITY_HEADERS, 'Content-Type': contentType, 'Cache-Control': 'no-store' });
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
  const token = randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token, 'utf8');
  const indexHtml = await readFile(join(options.rendererDir, 'index.html'), 'utf8');
  const bridge = await readFile(options.bridgeFile);
  let allowedHosts = new Set<string>();
  let origin = '';

  // The page learns the token from a meta tag; the bridge script must run before the app.
  const pageHtml = indexHtml.replace(
    '<meta charset="utf-8" />',
    `<meta charset="utf-8" />\n    <meta name="${TOKEN_META}" content="${token}" />\n    <script src="${BRIDGE_PATH}"></script>`,
  );

  async function handleIpc(request: IncomingMessage, response: ServerResponse, channel: string): Promise<void> {
    const fromPage = sameToken(tokenBytes, request.headers[TOKEN_HEADER]) && (request.headers.origin === undefined || request.headers.origin === origin);
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

  async function handleStatic(url: URL, response: ServerResponse): Promise<void> {
    const path = url.pathname;
    if (path === '/' || path === '/index.html') {
      // Only the address the host printed (with its token) gets a page that holds the token.
      if (!sameToken(tokenBytes, url.searchParams.get('token') ?? undefined)) {
        return send(response, 403, 'Open the exact address printed by `npm run host`: it carries this run\'s access token.', 'text/plain; charset=utf-8');
      }
      return send(response, 200, pageHtml, MIME['.html']!);
    }
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
      if (request.method === 'GET') return handleStatic(url, response);
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
    url: `${origin}/?token=${token}`,
    origin,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
