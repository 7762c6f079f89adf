/**
 * A guardian's backup share as a BC-UR (`ur:vk-share`), printed beside the words on the share
 * sheet. It fits one QR frame, and its bytewords carry a CRC32, so a misread frame is refused
 * instead of being taken for another share. Reading one back gives the share bytes, which then
 * meet the same checks as typed words (fingerprint on record, duplicates).
 * Runtime: main.
 */
import { fail } from '../errors';
import { animatedUr, bytesUr } from './animated-ur';
import { payloadOfBytesUr, UrReceiver } from './ur-receiver';

export const SHARE_UR_TYPE = 'vk-share';

export function shareUr(share: Uint8Array): string {
  const bytes = Buffer.from(share);
  const [part] = animatedUr(bytesUr(SHARE_UR_TYPE, bytes), bytes).parts;
  return part!;
}

export function isUrText(text: string): boolean {
  return /^ur:/i.test(text.trim());
}

/** The share bytes of a scanned `ur:vk-share`, `expectedBytes` long. */
export function shareFromUr(text: string, expectedBytes: number): Uint8Array {
  const receipt = new UrReceiver([SHARE_UR_TYPE], expectedBytes + 8, 'a guardian share').receive(text);
  if (!receipt.done) fail('QR_UR_CORRUPT', 'This is one frame of an animated QR; a share QR is a single frame. Scan the share sheet\'s UR code.');
  const share = payloadOfBytesUr(receipt.cbor);
  if (share.length !== expectedBytes) fail('SHARE_MALFORMED', `The share in this QR is ${share.length} bytes; a backup share is ${expectedBytes}. Scan the share sheet of this ceremony.`);
  return new Uint8Array(share);
}
