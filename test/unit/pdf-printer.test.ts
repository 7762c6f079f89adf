/**
 * The headless console's PDF printer: a real PDF from the local Chromium, and every failure of
 * the engine (missing, crashing, writing something else) refused with a code and nothing left in
 * the temporary folder.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isAppFailure } from '../../main/errors';
import { chromiumPdfPrinter, findChromium } from '../../main/platform/pdf-printer';
import { tempDir } from '../support/temp-dir';

const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith('vaultkeeper-pdf-'));
const code = (c: string) => (e: unknown) => isAppFailure(e) && e.code === c;

describe('PDF printer (headless Chromium)', () => {
  const dir = tempDir();
  after(() => dir.cleanup());
  const before = leftovers();

  it('renders HTML to a PDF', { skip: !findChromium() && 'no Chromium on this machine' }, async () => {
    const pdf = await chromiumPdfPrinter(findChromium()!)('<!doctype html><title>t</title><h1>Certificate</h1>');
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.deepEqual(leftovers(), before, 'the temporary profile and files are removed');
  });

  it('an engine that fails, or writes something that is not a PDF, is refused and leaves nothing behind', async () => {
    await assert.rejects(chromiumPdfPrinter('/nonexistent/chromium')('<p>x</p>'), code('PDF_RENDER_FAILED'));
    await assert.rejects(chromiumPdfPrinter('/bin/false')('<p>x</p>'), code('PDF_RENDER_FAILED'));
    // A stand-in engine that exits 0 and writes a file that is not a PDF.
    const fake = join(dir.path, 'fake-chromium');
    writeFileSync(fake, '#!/bin/sh\nfor a in "$@"; do case "$a" in --print-to-pdf=*) echo "<html>not a pdf</html>" > "${a#--print-to-pdf=}";; esac; done\n');
    chmodSync(fake, 0o700);
    await assert.rejects(chromiumPdfPrinter(fake)('<p>x</p>'), code('PDF_RENDER_FAILED'));
    // One that exits 0 and writes nothing.
    const silent = join(dir.path, 'silent-chromium');
    writeFileSync(silent, '#!/bin/sh\nexit 0\n');
    chmodSync(silent, 0o700);
    await assert.rejects(chromiumPdfPrinter(silent)('<p>x</p>'), code('PDF_RENDER_FAILED'));
    assert.deepEqual(leftovers(), before);
  });
});
