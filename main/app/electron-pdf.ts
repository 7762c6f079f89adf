/**
 * The Electron console's PDF printer: a hidden, sandboxed window with no script and no preload loads the
 * certificate document as inline data (the only non-app scheme the session permits) and
 * `printToPDF` renders it; the window is destroyed afterwards, whatever happens.
 * Runtime: Electron main process.
 */
import type { BrowserWindow as BrowserWindowClass } from 'electron';
import type { PdfPrinter } from '../platform/pdf-printer';
import { createPrintWindow } from './hardening';

export function electronPdfPrinter(BrowserWindow: typeof BrowserWindowClass): PdfPrinter {
  return async (html) => {
    const window = createPrintWindow(BrowserWindow);
    try {
      await window.loadURL(`data:text/html;charset=utf-8;base64,${Buffer.from(html, 'utf8').toString('base64')}`);
      return await window.webContents.printToPDF({ pageSize: 'A4', printBackground: true });
    } finally {
      window.destroy();
    }
  };
}
