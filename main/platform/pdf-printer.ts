/**
 * Renders a standalone HTML document (the ceremony certificate) to PDF. The Electron console
 * uses the page printer of its own engine (main/app/electron-pdf.ts); the headless console and
 * the tests use a local Chromium in headless mode, started with the quiet switches so it reaches
 * nothing on the network, on a throw-away profile that is removed afterwards.
 * Runtime: plain Node (no `electron` import).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fail } from '../errors';
import { quietBrowserFlags } from './quiet-browser';

/** HTML in, PDF bytes out. */
export type PdfPrinter = (html: string) => Promise<Buffer>;

export const MAX_PDF_BYTES = 20 * 1024 * 1024;
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The first Chromium found on this machine (or the one named), null when there is none. */
export function findChromium(named = process.env.VAULTKEEPER_CHROMIUM): string | null {
  if (named) return existsSync(named) ? named : null;
  return CHROMIUM_CANDIDATES.find((c) => existsSync(c)) ?? null;
}

export function chromiumPdfPrinter(executable: string, options: { timeoutMs?: number } = {}): PdfPrinter {
  return async (html) => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultkeeper-pdf-'));
    try {
      const input = join(dir, 'certificate.html');
      const output = join(dir, 'certificate.pdf');
      writeFileSync(input, html, { mode: 0o600 });
      const args = [
        '--headless',
        '--disable-gpu',
        '--no-sandbox',
        `--user-data-dir=${join(dir, 'profile')}`,
        ...quietBrowserFlags(),
        '--no-pdf-header-footer',
        `--print-to-pdf=${output}`,
        pathToFileURL(input).href,
      ];
      await new Promise<void>((resolve, reject) => {
        execFile(executable, args, { timeout: options.timeoutMs ?? 60_000, maxBuffer: 1024 * 1024 }, (error) => (error ? reject(error) : resolve()));
      }).catch(() => fail('PDF_RENDER_FAILED', 'The PDF could not be rendered by the local browser engine. Use Print and choose "Save as PDF" instead.'));
      if (!existsSync(output)) fail('PDF_RENDER_FAILED', 'The browser engine finished without writing a PDF. Use Print and choose "Save as PDF" instead.');
      const pdf = readFileSync(output);
      if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-' || pdf.length > MAX_PDF_BYTES) fail('PDF_RENDER_FAILED', 'The browser engine wrote something that is not a PDF of sensible size. Nothing was saved.');
      return pdf;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
