/**
 * The node card as it crosses between operators: a small JSON file (or the same text in a QR
 * code) carrying the node id, its Ed25519 and X25519 public keys, and the fingerprint words.
 *
 * The words are six words of the BIP-39 English list over SHA-256 of the node's identity key (the
 * same words the vault shows for this node). Everything else on the card is signed by that key:
 * the HPKE key by its binding signature, and the whole card (name included) by `signature`. So
 * when two operators agree on the words, they agree on every field of the card.
 *
 * Parsing trusts nothing: the size is bounded before parsing, unknown fields are refused, every
 * key and signature is checked, and the words on the card must be the words its key gives.
 */
import { fail } from '../errors';
import { cardFingerprint, verifyCard, type LocalIdentity, type NodeCard } from './identity';
import { ed25519PublicKey, transcript, verifyBytes } from './keys';

export const NODE_CARD_FORMAT = 'vaultkeeper-node-card/v1';
/** A card is about 600 bytes; anything near this limit is not a card. */
export const MAX_CARD_FILE_BYTES = 4096;

/** The card file: what `node-card.json` holds and the card QR code encodes. */
export interface NodeCardFile {
  format: typeof NODE_CARD_FORMAT;
  card: NodeCard;
  /** The six fingerprint words, joined by hyphens. */
  fingerprint: string;
  /** Ed25519 signature by the node's identity over every field of the card, hex. */
  signature: string;
}

const CARD_FIELDS = ['nodeId', 'name', 'signingPublicKey', 'hpkePublicKey', 'hpkeKeySignature'] as const;

function cardBytes(card: NodeCard): Buffer {
  return transcript('vaultkeeper/node-card/v1', ...CARD_FIELDS.map((f) => card[f]));
}

/** This node's card file. */
export function nodeCardFile(me: LocalIdentity): NodeCardFile {
  return { format: NODE_CARD_FORMAT, card: { ...me.card }, fingerprint: me.fingerprint, signature: me.sign(cardBytes(me.card)).toString('hex') };
}

export function nodeCardText(me: LocalIdentity): string {
  return JSON.stringify(nodeCardFile(me), null, 1);
}

/** Fingerprint words as an operator types or reads them: any case, spaces, hyphens or commas between. */
export function normalizeWords(words: string): string {
  return words
    .trim()
    .toLowerCase()
    .split(/[\s,-]+/)
    .filter(Boolean)
    .join('-');
}

const HEX = (bytes: number) => new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
const refuse = (message: string): never => fail('PEER_CARD_INVALID', message);

/**
 * Reads a card file from untrusted text or bytes. Refuses (PEER_CARD_TOO_LARGE, PEER_CARD_INVALID)
 * anything that is not exactly a card whose keys, signatures and words agree.
 */
export function parseNodeCardFile(input: string | Buffer): NodeCardFile {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_CARD_FILE_BYTES) fail('PEER_CARD_TOO_LARGE', `That file is ${size} bytes; a node card is under ${MAX_CARD_FILE_BYTES} bytes. It is not a node card: ask the peer for its node-card.json again.`, { bytes: size });
  let value: unknown;
  try {
    value = JSON.parse(typeof input === 'string' ? input : input.toString('utf8'));
  } catch {
    return refuse('That file is not a node card (it is not JSON). Ask the peer for its node-card.json again.');
  }
  if (!isObject(value) || value.format !== NODE_CARD_FORMAT) return refuse(`That file is not a node card (its format is not "${NODE_CARD_FORMAT}"). Ask the peer for its node-card.json again.`);
  exactKeys(value, ['format', 'card', 'fingerprint', 'signature'], 'The card file');
  const card = value.card;
  if (!isObject(card)) return refuse('The card file has no card in it.');
  exactKeys(card, CARD_FIELDS, 'The card');
  const { nodeId, name, signingPublicKey, hpkePublicKey, hpkeKeySignature } = card;
  if (typeof nodeId !== 'string' || !HEX(16).test(nodeId)) return refuse('The card\'s node id is not 32 hex characters.');
  if (typeof name !== 'string' || !/^[\p{L}\p{N} ._-]{1,64}$/u.test(name)) return refuse('The card\'s node name must be 1 to 64 letters, digits, spaces, dots, hyphens or underscores.');
  if (typeof signingPublicKey !== 'string' || !HEX(32).test(signingPublicKey)) return refuse('The card\'s Ed25519 key is not 64 hex characters.');
  if (typeof hpkePublicKey !== 'string' || !HEX(32).test(hpkePublicKey)) return refuse('The card\'s X25519 key is not 64 hex characters.');
  if (typeof hpkeKeySignature !== 'string' || !HEX(64).test(hpkeKeySignature)) return refuse('The card\'s key binding is not a 64-byte signature.');
  if (typeof value.signature !== 'string' || !HEX(64).test(value.signature)) return refuse('The card file\'s signature is not a 64-byte signature.');
  if (typeof value.fingerprint !== 'string') return refuse('The card file has no fingerprint words.');
  const parsed: NodeCard = { nodeId, name, signingPublicKey, hpkePublicKey, hpkeKeySignature };
  if (!verifyCard(parsed)) return refuse('That node card is not self-consistent (its keys do not match its node id). It was altered or damaged: ask the peer for its card again.');
  if (!verifyBytes(ed25519PublicKey(Buffer.from(signingPublicKey, 'hex')), cardBytes(parsed), Buffer.from(value.signature, 'hex'))) {
    return refuse('That node card was altered after its node signed it (the signature over its fields does not verify). Ask the peer for its card again.');
  }
  if (normalizeWords(value.fingerprint) !== cardFingerprint(parsed)) return refuse('The fingerprint words written on that card are not the words its key gives. It was altered: do not enrol it.');
  return { format: NODE_CARD_FORMAT, card: parsed, fingerprint: cardFingerprint(parsed), signature: value.signature };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !(k in o));
  if (extra.length > 0) refuse(`${what} has fields a node card does not have (${extra.slice(0, 3).join(', ')}). Ask the peer for its card again.`);
  if (missing.length > 0) refuse(`${what} lacks ${missing.join(', ')}. Ask the peer for its card again.`);
}
