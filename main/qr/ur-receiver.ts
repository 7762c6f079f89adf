/**
 * The receiving side of an animated QR: frames read by the camera arrive one by one as text and
 * are checked before the fountain decoder keeps them. A frame of another UR type, a message
 * declared larger than this kind of payload may be, a frame whose CRC does not match, or a frame
 * of a second animation mixed into the first ends the reading with a sentence saying which.
 * The reassembled bytes prove nothing by themselves: the caller hands them to the same import
 * (and the same verification) as a file.
 * Runtime: main.
 */
import { URDecoder } from '@ngraveio/bc-ur';
import { cborDecode } from '@ngraveio/bc-ur/dist/cbor';
import { FountainEncoderPart } from '@ngraveio/bc-ur/dist/fountainEncoder';
import { fail, isAppFailure } from '../errors';

/** The longest text one QR code can hold (version 40, alphanumeric mode). */
export const MAX_PART_CHARS = 4296;

export interface UrProgress {
  /** Distinct frames taken so far. */
  framesRead: number;
  /** How many fragments the message has (pure frames needed with no loss). */
  fragments: number;
  /** The decoder's estimate, 0..1. */
  estimated: number;
}

export type UrReceipt = { done: false; progress: UrProgress } | { done: true; type: string; cbor: Buffer; progress: UrProgress };

interface Sequence {
  checksum: number;
  seqLength: number;
  messageLength: number;
}

function describeTypes(types: readonly string[]): string {
  return types.map((t) => `ur:${t}`).join(' or ');
}

export class UrReceiver {
  private readonly decoder = new URDecoder();
  private sequence: Sequence | null = null;
  private readonly seen = new Set<number>();

  constructor(
    private readonly accept: readonly string[],
    private readonly maxMessageBytes: number,
    private readonly what: string,
  ) {}

  receive(text: string): UrReceipt {
    const input = text.trim();
    if (input.length > MAX_PART_CHARS) fail('QR_UR_TOO_LARGE', `This QR code holds ${input.length} characters, more than any QR code can; it was not read.`);
    let type: string;
    let components: string[];
    try {
      [type, components] = URDecoder.parse(input);
    } catch {
      fail('QR_NOT_UR', `This QR code is not a UR (the text should start with "UR:"). Show the animated QR of ${this.what}.`);
    }
    if (!this.accept.includes(type)) {
      fail('QR_UR_WRONG_TYPE', `This QR code carries a ur:${type}, not ${this.what} (${describeTypes(this.accept)}). Show the right QR code and scan again.`, { type });
    }
    if (components.length === 1) return this.single(type, components[0]!);
    if (components.length !== 2) fail('QR_UR_CORRUPT', 'This QR code is not a well-formed UR part (too many path components). Scan again.');
    return this.part(input, components[0]!, components[1]!);
  }

  private single(type: string, body: string): UrReceipt {
    // A single-part UR is at most one QR code; its bytewords carry a CRC32 of the CBOR.
    const cbor = this.bytes(body);
    this.refuseSize(cbor.length);
    return { done: true, type, cbor, progress: { framesRead: 1, fragments: 1, estimated: 1 } };
  }

  private part(input: string, seq: string, body: string): UrReceipt {
    let seqNum: number;
    let seqLength: number;
    try {
      const parsed = URDecoder.parseSequenceComponent(seq);
      seqNum = parsed[0]!;
      seqLength = parsed[1]!;
    } catch {
      fail('QR_UR_CORRUPT', `This UR part has no valid sequence number ("${seq.slice(0, 20)}"). Scan again.`);
    }
    let part: FountainEncoderPart;
    try {
      part = FountainEncoderPart.fromCBOR(this.bytes(body));
    } catch (error) {
      if (isAppFailure(error)) throw error;
      fail('QR_UR_CORRUPT', 'A frame of the animated QR does not decode as a fountain part. Scan again.');
    }
    if (part.seqNum !== seqNum || part.seqLength !== seqLength) fail('QR_UR_CORRUPT', `A frame says it is part ${seq} but carries part ${part.seqNum}-${part.seqLength}. Scan again.`);
    this.refuseSize(part.messageLength);
    // The declared sizes must agree with each other before anything is kept.
    const fragment = part.fragment.length;
    if (fragment === 0 || fragment * seqLength < part.messageLength || fragment * (seqLength - 1) >= part.messageLength) {
      fail('QR_UR_CORRUPT', `A frame declares ${seqLength} fragments of ${fragment} bytes for a ${part.messageLength}-byte message; that does not add up. Scan again.`);
    }
    const mine = this.sequence;
    if (!mine) {
      this.sequence = { checksum: part.checksum, seqLength, messageLength: part.messageLength };
    } else if (mine.checksum !== part.checksum || mine.seqLength !== seqLength || mine.messageLength !== part.messageLength) {
      fail(
        'QR_UR_MIXED_SEQUENCE',
        `A frame of a second animated QR was read (${seqLength} fragments, ${part.messageLength} bytes) while receiving one of ${mine.seqLength} fragments, ${mine.messageLength} bytes. Show only one animated QR to the camera and scan again from the start.`,
      );
    }
    this.decoder.receivePart(input);
    this.seen.add(seqNum);
    if (this.decoder.isError()) {
      fail('QR_UR_CORRUPT', 'The reassembled message does not match the checksum its frames declared: a frame was altered. Nothing was imported; scan again.');
    }
    const progress = { framesRead: this.seen.size, fragments: seqLength, estimated: Math.min(1, this.decoder.estimatedPercentComplete()) };
    if (!this.decoder.isSuccess()) return { done: false, progress };
    const ur = this.decoder.resultUR();
    return { done: true, type: ur.type, cbor: ur.cbor, progress: { ...progress, estimated: 1 } };
  }

  private bytes(body: string): Buffer {
    try {
      // Decoding a body as a single-part UR checks its bytewords and their CRC32.
      return URDecoder.decode(`ur:bytes/${body}`).cbor;
    } catch {
      fail('QR_UR_CORRUPT', 'A frame of the QR code fails its checksum (CRC32): it was misread or altered. Hold the camera steady and scan again.');
    }
  }

  private refuseSize(bytes: number): void {
    if (bytes > this.maxMessageBytes) {
      fail('QR_UR_TOO_LARGE', `The QR code announces ${bytes} bytes; ${this.what} by QR is at most ${this.maxMessageBytes} bytes. Nothing was kept.`, { bytes, limit: this.maxMessageBytes });
    }
  }
}

/** The payload of a Vaultkeeper `vk-…` UR: one CBOR byte string. */
export function payloadOfBytesUr(cbor: Buffer): Buffer {
  let value: unknown;
  try {
    value = cborDecode(cbor);
  } catch {
    fail('QR_UR_CORRUPT', 'The received QR payload is not valid CBOR. Nothing was imported.');
  }
  if (!Buffer.isBuffer(value)) fail('QR_UR_CORRUPT', 'The received QR payload is not a byte string. Nothing was imported.');
  return value;
}
