/**
 * Animated QR (BC-UR with fountain codes): a payload goes out as parts and comes back byte for
 * byte, also with frames lost; the receiver refuses a UR of the wrong type, a frame whose CRC
 * fails, a message altered behind valid frame CRCs, a payload announced larger than allowed, and
 * a frame of a second animation mixed into the first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UREncoder, URDecoder } from '@ngraveio/bc-ur';
import { FountainEncoderPart } from '@ngraveio/bc-ur/dist/fountainEncoder';
import { animatedUr, bytesUr, MAX_QR_PAYLOAD_BYTES } from '../../main/qr/animated-ur';
import { payloadOfBytesUr, UrReceiver, type UrReceipt } from '../../main/qr/ur-receiver';
import { isAppFailure } from '../../main/errors';

const TYPE = 'vk-permit-bundle';
/** A fixed payload, so the fountain's mixing (seeded by the message checksum) is the same on every run. */
const PAYLOAD = Buffer.from(JSON.stringify({ format: 'vaultkeeper/permit-bundle', version: 1, permits: Array.from({ length: 12 }, (_, i) => ({ id: `permit-${i}`, note: 'x'.repeat(90) })) }));

function receiveAll(receiver: UrReceiver, parts: string[]): UrReceipt {
  let last: UrReceipt | null = null;
  for (const part of parts) {
    last = receiver.receive(part);
    if (last.done) return last;
  }
  assert.ok(last, 'parts were given');
  return last;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isAppFailure(error), `an AppFailure, got ${String(error)}`);
    return error.code;
  }
  return 'no error';
}

/** Re-encodes a frame with `mutate` applied to its fountain part (the frame's own CRC is then valid again). */
function reencode(part: string, mutate: (p: FountainEncoderPart) => FountainEncoderPart): string {
  const [type, components] = URDecoder.parse(part);
  const bytewords = (UREncoder as unknown as { encodePart(type: string, part: FountainEncoderPart): string });
  const decoded = FountainEncoderPart.fromCBOR(URDecoder.decode(`ur:${type}/${components[1]}`).cbor);
  return bytewords.encodePart(type, mutate(decoded)).toUpperCase();
}

describe('animated QR: BC-UR parts with fountain codes', () => {
  const animated = animatedUr(bytesUr(TYPE, PAYLOAD), PAYLOAD, 250);

  it('a payload goes out as parts and comes back byte for byte, with its SHA-256 shown on both sides', () => {
    assert.ok(animated.seqLength > 3, 'several fragments');
    assert.equal(animated.parts.length, animated.seqLength * 2);
    assert.ok(animated.parts.every((p) => p.startsWith('UR:VK-PERMIT-BUNDLE/')));
    const receipt = receiveAll(new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle'), animated.parts);
    assert.equal(receipt.done, true);
    assert.ok(receipt.done && payloadOfBytesUr(receipt.cbor).equals(PAYLOAD));
  });

  it('frames lost on the way are made up for by the mixed parts of the fountain code', () => {
    // Two of the pure fragments never arrive; only mixed parts can recover them.
    const lossy = animated.parts.filter((_, i) => i !== 1 && i !== 3);
    const receipt = receiveAll(new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle'), lossy);
    assert.equal(receipt.done, true, `completed with frames ${lossy.length} of ${animated.parts.length}`);
    assert.ok(receipt.done && payloadOfBytesUr(receipt.cbor).equals(PAYLOAD));
  });

  it('progress counts distinct frames, and a repeated frame is not counted twice', () => {
    const receiver = new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle');
    receiver.receive(animated.parts[0]!);
    const again = receiver.receive(animated.parts[0]!);
    assert.equal(again.done, false);
    assert.equal(again.progress.framesRead, 1);
    assert.equal(again.progress.fragments, animated.seqLength);
  });

  it('a small payload is one static single-part UR', () => {
    const small = Buffer.from('{"format":"vaultkeeper.approval/1"}');
    const one = animatedUr(bytesUr('vk-approval', small), small, 250);
    assert.equal(one.parts.length, 1);
    const receipt = new UrReceiver(['vk-approval'], 16_384, 'an approval').receive(one.parts[0]!);
    assert.ok(receipt.done && payloadOfBytesUr(receipt.cbor).equals(small));
  });

  it('refuses a UR of another type, and text that is not a UR', () => {
    const receiver = new UrReceiver(['vk-approval'], 16_384, 'a guardian approval file');
    assert.equal(code(() => receiver.receive(animated.parts[0]!)), 'QR_UR_WRONG_TYPE');
    assert.equal(code(() => receiver.receive('guardian share words')), 'QR_NOT_UR');
  });

  it('refuses a frame whose CRC does not match (misread or altered)', () => {
    const part = animated.parts[2]!;
    // Swap one byteword of the body for another valid one: the frame's CRC32 no longer matches.
    const slash = part.lastIndexOf('/');
    const body = part.slice(slash + 1);
    const altered = `${part.slice(0, slash + 1)}${body.slice(0, 10)}${body.slice(10, 12) === 'AE' ? 'AD' : 'AE'}${body.slice(12)}`;
    assert.equal(code(() => new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle').receive(altered)), 'QR_UR_CORRUPT');
  });

  it('refuses a message altered behind valid frame CRCs: the checksum of the whole message does not match', () => {
    const tampered = animated.parts.slice(0, animated.seqLength).map((p, i) =>
      i === 1 ? reencode(p, (fp) => {
        const fragment = Buffer.from(fp.fragment);
        fragment[5] = fragment[5]! ^ 0x01;
        return new FountainEncoderPart(fp.seqNum, fp.seqLength, fp.messageLength, fp.checksum, fragment);
      }) : p,
    );
    const receiver = new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle');
    assert.equal(code(() => receiveAll(receiver, tampered)), 'QR_UR_CORRUPT');
  });

  it('refuses a payload announced larger than this kind allows, on its first frame', () => {
    const receiver = new UrReceiver([TYPE], 1000, 'a permit bundle');
    assert.equal(code(() => receiver.receive(animated.parts[0]!)), 'QR_UR_TOO_LARGE');
    const single = animatedUr(bytesUr(TYPE, Buffer.alloc(120, 7)), Buffer.alloc(120, 7), 250);
    assert.equal(code(() => new UrReceiver([TYPE], 100, 'a permit bundle').receive(single.parts[0]!)), 'QR_UR_TOO_LARGE');
  });

  it('refuses frames whose declared sizes do not add up', () => {
    const lying = reencode(animated.parts[0]!, (fp) => new FountainEncoderPart(fp.seqNum, fp.seqLength, fp.messageLength * 4, fp.checksum, fp.fragment));
    assert.equal(code(() => new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle').receive(lying)), 'QR_UR_CORRUPT');
  });

  it('the sender refuses a payload larger than an animated QR carries', () => {
    const big = Buffer.alloc(MAX_QR_PAYLOAD_BYTES + 1, 1);
    assert.equal(code(() => animatedUr(bytesUr(TYPE, big), big, 250)), 'QR_PAYLOAD_TOO_LARGE');
  });

  it('refuses a frame of a second animation mixed into the first', () => {
    const other = Buffer.from(PAYLOAD.toString().replace('permit-0', 'permit-X'));
    const second = animatedUr(bytesUr(TYPE, other), other, 250);
    const receiver = new UrReceiver([TYPE], MAX_QR_PAYLOAD_BYTES, 'a permit bundle');
    receiver.receive(animated.parts[0]!);
    receiver.receive(animated.parts[1]!);
    assert.equal(code(() => receiver.receive(second.parts[2]!)), 'QR_UR_MIXED_SEQUENCE');
  });
});
