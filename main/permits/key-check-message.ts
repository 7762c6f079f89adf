/**
 * Reads the domain-separated key-check message (format fixed with the cluster, see
 * main/cluster/sign-authorization.ts): 0xFF ‖ KEY_CHECK_PREFIX ‖ 0x00 ‖ keysetId ‖ 0x00 ‖
 * purpose ‖ 0x00 ‖ 16 nonce bytes. The leading 0xFF makes it neither an RLP transaction, an
 * EIP-191/712 payload (0x19) nor a Solana message (0xFF would be an unsupported version 127).
 */
import { KEY_CHECK_PREFIX } from '../cluster/sign-authorization';

export const KEY_CHECK_PURPOSES = ['key-check', 'restore-proof', 'drill'] as const;
export type KeyCheckPurpose = (typeof KEY_CHECK_PURPOSES)[number];

const HEAD = Buffer.concat([Buffer.from([0xff]), Buffer.from(KEY_CHECK_PREFIX, 'utf8'), Buffer.from([0])]);
const NONCE_BYTES = 16;

export interface KeyCheckMessage {
  keysetId: string;
  purpose: KeyCheckPurpose;
  nonce: Buffer;
}

export function looksLikeKeyCheck(message: Buffer): boolean {
  return message.length > HEAD.length && message.subarray(0, HEAD.length).equals(HEAD);
}

/** The parsed message, or null when the bytes are not exactly one well-formed key-check message. */
export function parseKeyCheckMessage(message: Buffer): KeyCheckMessage | null {
  if (!looksLikeKeyCheck(message) || message.length < HEAD.length + 2 + NONCE_BYTES + 2) return null;
  const body = message.subarray(HEAD.length, message.length - NONCE_BYTES);
  const nonce = Buffer.from(message.subarray(message.length - NONCE_BYTES));
  if (body[body.length - 1] !== 0) return null;
  const fields = body.subarray(0, body.length - 1).toString('utf8').split('\u0000');
  if (fields.length !== 2) return null;
  const [keysetId, purpose] = fields as [string, string];
  if (!keysetId || !(KEY_CHECK_PURPOSES as readonly string[]).includes(purpose)) return null;
  // Round trip: the utf8 must re-encode to the same bytes (no invalid sequences hiding data).
  if (!Buffer.concat([HEAD, Buffer.from(`${keysetId}\u0000${purpose}\u0000`, 'utf8'), nonce]).equals(message)) return null;
  return { keysetId, purpose: purpose as KeyCheckPurpose, nonce };
}
