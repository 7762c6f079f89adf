/**
 * The sending side of an animated QR: a payload as Blockchain Commons UR parts with fountain
 * codes (`@ngraveio/bc-ur`). The first `seqLength` parts carry the fragments in order; the parts
 * after them mix fragments, so a receiver that missed some frames completes from any enough of
 * the rest. A payload that fits one fragment is one static single-part UR.
 * Runtime: main (the payloads are main's records; the renderer only draws the part strings).
 */
import { createHash } from 'node:crypto';
import { UR, UREncoder } from '@ngraveio/bc-ur';
import { cborEncode } from '@ngraveio/bc-ur/dist/cbor';
import { fail } from '../errors';

export const DEFAULT_FRAGMENT_BYTES = 250;
export const MIN_FRAGMENT_BYTES = 50;
/** A 1000-byte fragment still fits a version-40 QR code in alphanumeric mode with room to spare. */
export const MAX_FRAGMENT_BYTES = 1000;
/** The most an animated QR carries: 64 KiB is about 260 frames of 250 bytes, under a minute at 200 ms. */
export const MAX_QR_PAYLOAD_BYTES = 64 * 1024;

export interface AnimatedUr {
  type: string;
  /** Upper case, so the QR encoder uses its compact alphanumeric mode. */
  parts: string[];
  /** Fragments of the message (the pure parts); 1 for a single-part UR. */
  seqLength: number;
  payloadBytes: number;
  /** SHA-256 of the payload, hex: the receiver shows the same value once it has reassembled it. */
  sha256: string;
}

/** A payload carried as a CBOR byte string under `type` (Vaultkeeper's own `vk-…` types). */
export function bytesUr(type: string, payload: Buffer): UR {
  return new UR(cborEncode(payload) as Buffer, type);
}

/**
 * The parts of one animation loop: every pure fragment once, then as many mixed parts again
 * (at least three), so that a frame lost on every pass is still recovered from the mixed ones.
 */
export function animatedUr(ur: UR, payload: Buffer, fragmentBytes = DEFAULT_FRAGMENT_BYTES): AnimatedUr {
  if (!Number.isInteger(fragmentBytes) || fragmentBytes < MIN_FRAGMENT_BYTES || fragmentBytes > MAX_FRAGMENT_BYTES) {
    fail('VALIDATION_FAILED', `The fragment size must be a whole number of bytes from ${MIN_FRAGMENT_BYTES} to ${MAX_FRAGMENT_BYTES}.`);
  }
  if (payload.length > MAX_QR_PAYLOAD_BYTES) {
    fail('QR_PAYLOAD_TOO_LARGE', `This payload is ${Math.ceil(payload.length / 1024)} KiB; an animated QR carries at most ${MAX_QR_PAYLOAD_BYTES / 1024} KiB. Carry it as a file instead.`, { bytes: payload.length, limit: MAX_QR_PAYLOAD_BYTES });
  }
  const encoder = new UREncoder(ur, fragmentBytes);
  const seqLength = encoder.fragmentsLength;
  const count = seqLength === 1 ? 1 : seqLength + Math.max(3, seqLength);
  const parts = Array.from({ length: count }, () => encoder.nextPart().toUpperCase());
  return { type: ur.type, parts, seqLength, payloadBytes: payload.length, sha256: createHash('sha256').update(payload).digest('hex') };
}
