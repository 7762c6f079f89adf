/**
 * Serving the built renderer under `vaultkeeper://app/`: URL → file inside the renderer folder,
 * MIME type by extension, the shared security headers on every answer. No `electron` import;
 * the protocol handler in electron-main.ts only forwards the request here.
 * Runtime: Electron main process.
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { RENDERER_SECURITY_HEADERS } from '../platform/content-security-policy';
import { isAppUrl } from './app-origin';

/** Only file types the renderer build produces; anything else is a 404, never a guess. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function mimeTypeFor(filePath: string): string | null {
  return MIME_TYPES[extname(filePath).toLowerCase()] ?? null;
}

export type RendererFile = { found: true; path: string; mimeType: string } | { found: false; reason: string };

const notFound = (reason: string): RendererFile => ({ found: false, reason });

/**
 * Maps a request URL to a file under `rendererRoot`, or says why not. Rejects other origins,
 * undecodable paths, NUL, backslashes and colons (Windows separators and drive letters),
 * dot segments (including encoded ones), hidden files and unknown types, and checks the
 * resolved path still lies inside the root.
 */
export function resolveRendererFile(requestUrl: string, rendererRoot: string): RendererFile {
  if (!isAppUrl(requestUrl)) return notFound('foreign origin');
  const rawPath = new URL(requestUrl).pathname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return notFound('undecodable path');
  }
  // A drive letter ("C:") in a segment would let path.resolve jump to another root on Windows.
  if (/[\0\\:]/.test(decoded)) return notFound('forbidden character');
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment.startsWith('.'))) return notFound('dot segment');
  if (segments.length === 0) segments.push('index.html');

  const root = resolve(rendererRoot);
  const filePath = resolve(root, ...segments);
  if (!filePath.startsWith(root + sep)) return notFound('outside the renderer folder');
  const mimeType = mimeTypeFor(filePath);
  if (mimeType === null) return notFound('unknown file type');
  return { found: true, path: filePath, mimeType };
}

export interface RendererRequest {
  url: string;
  method: string;
}

function securedHeaders(contentType: string): Headers {
  const headers = new Headers(RENDERER_SECURITY_HEADERS);
  headers.set('Content-Type', contentType);
  // The bundle changes with every build and is local anyway; never serve a stale copy.
  headers.set('Cache-Control', 'no-store');
  return headers;
}

function plainAnswer(status: number, text: string): Response {
  return new Response(text, { status, headers: securedHeaders('text/plain; charset=utf-8') });
}

/** Answers one protocol request. Never throws: a missing or unreadable file is a 404. */
export async function serveRendererRequest(request: RendererRequest, rendererRoot: string): Promise<Response> {
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return plainAnswer(405, 'Method not allowed');
  const file = resolveRendererFile(request.url, rendererRoot);
  if (!file.found) return plainAnswer(404, 'Not found');
  let body: Buffer;
  try {
    body = await readFile(file.path);
  } catch {
    return plainAnswer(404, 'Not found');
  }
  return new Response(method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: securedHeaders(file.mimeType) });
}
