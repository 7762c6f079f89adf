/** The QR scanner's bounds: an oversized image is never decoded, oversized decoded text never used. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_QR_IMAGE_BYTES, MAX_QR_TEXT_CHARS, qrImageRefusal, qrTextRefusal } from '../../renderer/src/components/qr-limits';

test('an image file larger than a QR picture needs is refused before decoding, with a sentence naming its size', () => {
  assert.equal(qrImageRefusal({ name: 'share.png', size: 2 * 1024 * 1024 }), null);
  assert.equal(qrImageRefusal({ name: 'share.png', size: MAX_QR_IMAGE_BYTES }), null);
  const refused = qrImageRefusal({ name: 'huge.png', size: MAX_QR_IMAGE_BYTES + 1 });
  assert.match(refused ?? '', /huge\.png is 26 MB; a picture of a QR code needs at most 25 MB/);
  assert.match(qrImageRefusal({ name: 'empty.png', size: 0 }) ?? '', /empty\.png is empty/);
});

test('decoded text longer than any QR code holds is refused; a full-size share QR passes', () => {
  const shareWords = Array.from({ length: 25 }, () => 'abandon').join(' ');
  assert.equal(qrTextRefusal(shareWords), null);
  assert.equal(qrTextRefusal('7'.repeat(MAX_QR_TEXT_CHARS)), null);
  assert.match(qrTextRefusal('7'.repeat(MAX_QR_TEXT_CHARS + 1)) ?? '', /holds 7090 characters, more than a QR code can hold \(7089\)/);
});
