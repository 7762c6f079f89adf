/**
 * Key-check messages: what a keyset signs to prove it still works (key checks, restore proofs,
 * drills). Each is domain separated so it can never be mistaken for something that moves funds:
 *
 *   0xFF ‖ utf8("vaultkeeper/key-check/v1") ‖ 0x00 ‖ utf8(keysetId) ‖ 0x00 ‖ utf8(purpose) ‖ 0x00 ‖ nonce[16]
 *
 * The leading 0xFF is neither a typed EVM transaction (0x01–0x7f), nor a legacy RLP list whose
 * length matches, nor EIP-191/712 (0x19), nor a Solana message (legacy: a signature count below
 * 0x80; versioned: 0x80 | version, and version 127 does not exist). The parser is strict: any
 * byte out of place gives null.
 */
import { randomBytes } from 'node:crypto';
import { Transaction } from 'ethers';
import { KEY_CHECK_PURPOSES, type KeyCheckPurpose } from '../../preload/channels/cluster';
import { KEY_CHECK_PREFIX } from './sign-authorization';

export { KEY_CHECK_PURPOSES, type KeyCheckPurpose } from '../../preload/channels/cluster';

export const KEY_CHECK_MARKER = 0xff;
const NONCE_BYTES = 16;
const KEYSET_ID = /^[a-z0-9-]{1,64}$/;

export interface KeyCheckMessage {
  keysetId: string;
  purpose: KeyCheckPurpose;
  nonce: Buffer;
}

export function buildKeyCheck(keysetId: string, purpose: KeyCheckPurpose, nonce: Buffer = randomBytes(NONCE_BYTES)): Buffer {
  if (!KEYSET_ID.test(keysetId)) throw new RangeError('a key check names a keyset id of 1–64 characters a-z, 0-9, -');
  if (!KEY_CHECK_PURPOSES.includes(purpose)) throw new RangeError('unknown key-check purpose');
  if (nonce.length !== NONCE_BYTES) throw new RangeError('a key-check nonce is 16 bytes');
  const zero = Buffer.from([0]);
  return Buffer.concat([Buffer.from([KEY_CHECK_MARKER]), Buffer.from(KEY_CHECK_PREFIX, 'utf8'), zero, Buffer.from(keysetId, 'utf8'), zero, Buffer.from(purpose, 'utf8'), zero, nonce]);
}

/** True when the bytes start like a key check (marker and prefix); parseKeyCheck decides whether they are one. */
export function looksLikeKeyCheck(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = Buffer.from(KEY_CHECK_PREFIX, 'utf8');
  return b[0] === KEY_CHECK_MARKER && b.subarray(1, 1 + prefix.length).equals(prefix);
}

/** The key check in `bytes`, or null when the bytes are anything else (byte for byte, no slack). */
export function parseKeyCheck(bytes: Uint8Array): KeyCheckMessage | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = Buffer.from(KEY_CHECK_PREFIX, 'utf8');
  let at = 0;
  if (b.length < 1 + prefix.length + 1 + 1 + 1 + 1 + 1 + NONCE_BYTES || b[at] !== KEY_CHECK_MARKER) return null;
  at += 1;
  if (!b.subarray(at, at + prefix.length).equals(prefix) || b[at + prefix.length] !== 0) return null;
  at += prefix.length + 1;
  // The nonce is the last 16 bytes and may hold zeros: the text fields end before it.
  const text = b.subarray(at, b.length - NONCE_BYTES);
  if (text.length < 4 || text[text.length - 1] !== 0) return null;
  const fields = text.subarray(0, text.length - 1).toString('latin1').split('\0');
  if (fields.length !== 2) return null;
  const [keysetId, purpose] = fields as [string, string];
  if (!KEYSET_ID.test(keysetId) || !(KEY_CHECK_PURPOSES as readonly string[]).includes(purpose)) return null;
  const nonce = Buffer.from(b.subarray(b.length - NONCE_BYTES));
  // Defence in depth: bytes that an EVM decoder also accepts as a transaction are never a key check.
  if (decodesAsEvmTransaction(b)) return null;
  if (!buildKeyCheck(keysetId, purpose as KeyCheckPurpose, nonce).equals(b)) return null;
  return { keysetId, purpose: purpose as KeyCheckPurpose, nonce };
}

function decodesAsEvmTransaction(b: Buffer): boolean {
  try {
    Transaction.from(`0x${b.toString('hex')}`);
    return true;
  } catch {
    return false;
  }
}

