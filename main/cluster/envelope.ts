/**
 * Authenticated end-to-end envelopes for node-to-node protocol messages.
 *
 * Construction (no new cryptography): the MPC message is encrypted for the recipient with HPKE
 * base mode (RFC 9180); the context — session id, protocol, round, sequence, sender, recipient —
 * is the HPKE info and the AEAD associated data; the sender then signs context ‖ enc ‖ ciphertext
 * with its Ed25519 identity. The relay can drop or reorder envelopes but can neither read nor
 * alter them, nor move one to another session, round, sender or recipient.
 * A broadcast is one envelope per recipient.
 */
import { z } from 'zod';
import { ed25519PublicKey, hpkeSuite, transcript, verifyBytes } from './keys';
import type { HpkePublicKey, LocalIdentity, NodeCard } from './identity';
import type { KeyObject } from 'node:crypto';

const LABEL = 'vaultkeeper/mpc-envelope/v1';
const NODE_ID = /^[0-9a-f]{32}$/;
const B64 = /^[A-Za-z0-9+/=]*$/;
/** Protocol messages are at most a few hundred KB (ECDSA keygen); bound what we parse. */
export const MAX_ENVELOPE_CIPHERTEXT = 4 * 1024 * 1024;

export const wireEnvelope = z.strictObject({
  v: z.literal(1),
  sid: z.string().regex(/^[0-9a-f]{32,512}$/),
  protocol: z.string().regex(/^[a-z-]{1,32}$/),
  round: z.number().int().min(0).max(1_000_000),
  seq: z.number().int().min(0).max(1_000_000),
  from: z.string().regex(NODE_ID),
  to: z.string().regex(NODE_ID),
  enc: z.string().max(128).regex(B64),
  ct: z.string().max(Math.ceil((MAX_ENVELOPE_CIPHERTEXT * 4) / 3) + 4).regex(B64),
  sig: z.string().max(128).regex(B64),
});
export type WireEnvelope = z.infer<typeof wireEnvelope>;

export interface EnvelopeContext {
  sid: string;
  protocol: string;
  round: number;
  seq: number;
  from: string;
  to: string;
}

function contextBytes(c: EnvelopeContext): Buffer {
  return transcript(LABEL, c.sid, c.protocol, c.round, c.seq, c.from, c.to);
}

function signedBytes(c: EnvelopeContext, enc: string, ct: string): Buffer {
  return transcript(`${LABEL}/signature`, c.sid, c.protocol, c.round, c.seq, c.from, c.to, enc, ct);
}

export type EnvelopeErrorCode =
  | 'MALFORMED_ENVELOPE'
  | 'WRONG_RECIPIENT'
  | 'WRONG_SESSION'
  | 'UNKNOWN_SENDER'
  | 'BAD_SIGNATURE'
  | 'REPLAYED_ENVELOPE'
  | 'UNDECRYPTABLE';

/**
 * Why an envelope was refused. `attributable` says whether the sender's own signature covers
 * the fault (then the sender is to blame); otherwise the relay or a replay produced it and the
 * envelope is only dropped.
 */
export class EnvelopeError extends Error {
  constructor(
    readonly code: EnvelopeErrorCode,
    readonly sender: string,
    readonly attributable: boolean,
    detail: string,
  ) {
    super(`${code}: envelope from node ${sender || '(unknown)'} refused: ${detail}`);
    this.name = 'EnvelopeError';
  }
}

export interface Peer {
  card: NodeCard;
  signingKey: KeyObject;
  hpkeKey: HpkePublicKey;
}

export async function peerFromCard(card: NodeCard): Promise<Peer> {
  return {
    card,
    signingKey: ed25519PublicKey(Buffer.from(card.signingPublicKey, 'hex')),
    hpkeKey: await hpkeSuite.kem.deserializePublicKey(new Uint8Array(Buffer.from(card.hpkePublicKey, 'hex'))),
  };
}

export async function sealEnvelope(me: LocalIdentity, recipient: Peer, context: Omit<EnvelopeContext, 'from' | 'to'>, plaintext: Uint8Array): Promise<WireEnvelope> {
  const ctx: EnvelopeContext = { ...context, from: me.nodeId, to: recipient.card.nodeId };
  const bound = contextBytes(ctx);
  const { enc, ct } = await hpkeSuite.seal({ recipientPublicKey: recipient.hpkeKey, info: bound }, plaintext, bound);
  const encText = Buffer.from(enc).toString('base64');
  const ctText = Buffer.from(ct).toString('base64');
  return { v: 1, ...ctx, enc: encText, ct: ctText, sig: me.sign(signedBytes(ctx, encText, ctText)).toString('base64') };
}

/**
 * Opens the envelopes of one session for this node. Keeps the (sender, sequence) pairs it has
 * accepted, so a replayed envelope is refused even within the session.
 */
export class EnvelopeOpener {
  private readonly seen = new Set<string>();

  constructor(
    private readonly me: LocalIdentity,
    private readonly sid: string,
    private readonly protocol: string,
    /** The session's other participants, by node id. */
    private readonly peers: ReadonlyMap<string, Peer>,
  ) {}

  async open(raw: unknown): Promise<{ from: string; round: number; seq: number; plaintext: Buffer }> {
    const parsed = wireEnvelope.safeParse(raw);
    const claimed = typeof (raw as { from?: unknown })?.from === 'string' ? String((raw as { from: string }).from).slice(0, 32) : '';
    if (!parsed.success) throw new EnvelopeError('MALFORMED_ENVELOPE', claimed, false, 'it is not a well-formed envelope');
    const env = parsed.data;
    if (env.to !== this.me.nodeId) throw new EnvelopeError('WRONG_RECIPIENT', env.from, false, `it is addressed to node ${env.to}`);
    if (env.sid !== this.sid || env.protocol !== this.protocol) throw new EnvelopeError('WRONG_SESSION', env.from, false, `it belongs to session ${env.sid.slice(0, 16)}…, not this one`);
    const peer = this.peers.get(env.from);
    if (!peer) throw new EnvelopeError('UNKNOWN_SENDER', env.from, false, 'the sender is not a participant of this session');
    if (!verifyBytes(peer.signingKey, signedBytes(env, env.enc, env.ct), Buffer.from(env.sig, 'base64'))) {
      // Proves nothing about the claimed sender: anyone on the path can forge a "from".
      throw new EnvelopeError('BAD_SIGNATURE', env.from, false, 'its signature does not verify (altered in transit or forged)');
    }
    const key = `${env.from}/${env.seq}`;
    if (this.seen.has(key)) throw new EnvelopeError('REPLAYED_ENVELOPE', env.from, false, `sequence ${env.seq} was already received`);
    // Claimed before decrypting, so two copies opened concurrently cannot both pass.
    this.seen.add(key);
    const bound = contextBytes(env);
    let plaintext: ArrayBuffer;
    try {
      plaintext = await hpkeSuite.open({ recipientKey: this.me.hpkePrivateKey, enc: new Uint8Array(Buffer.from(env.enc, 'base64')), info: bound }, new Uint8Array(Buffer.from(env.ct, 'base64')), bound);
    } catch {
      // Signed by the sender yet not decryptable for us: the sender produced it.
      throw new EnvelopeError('UNDECRYPTABLE', env.from, true, 'its ciphertext does not decrypt for this node');
    }
    return { from: env.from, round: env.round, seq: env.seq, plaintext: Buffer.from(plaintext) };
  }
}
