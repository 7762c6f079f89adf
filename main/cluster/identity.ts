/**
 * This node's identity as the transport uses it: the Ed25519 identity the vault created at
 * set-up, plus an X25519 key pair for HPKE made on first use and sealed in the vault the same
 * way. A NodeCard is what peers exchange (out of band) and confirm by fingerprint words.
 */
import type { KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fingerprintWords, nodeIdFromPublicKey } from '../identity/node-identity';
import { NODE_IDENTITY_RECORD, type VaultService } from '../vault/vault-service';
import { ed25519PrivateKey, ed25519PublicKey, generateHpkeKeyPair, hpkeSuite, signBytes, transcript, verifyBytes } from './keys';

export type HpkePrivateKey = Awaited<ReturnType<typeof hpkeSuite.kem.deserializePrivateKey>>;
export type HpkePublicKey = Awaited<ReturnType<typeof hpkeSuite.kem.deserializePublicKey>>;

export const HPKE_KEY_RECORD = { type: 'node-hpke-key', id: 'self', schemaVersion: 1 } as const;

/** Public facts about a node; safe to show, send and store in the clear. */
export interface NodeCard {
  nodeId: string;
  name: string;
  /** Ed25519 public key, hex. */
  signingPublicKey: string;
  /** X25519 public key for HPKE, hex. */
  hpkePublicKey: string;
  /** Ed25519 signature by the identity over the HPKE key, hex: binds the two keys together. */
  hpkeKeySignature: string;
}

function hpkeBinding(nodeId: string, hpkePublicKey: string): Buffer {
  return transcript('vaultkeeper/node-hpke-key/v1', nodeId, hpkePublicKey);
}

/** Checks a card's internal consistency: node id from its key, HPKE key signed by it. */
export function verifyCard(card: NodeCard): boolean {
  const signing = Buffer.from(card.signingPublicKey, 'hex');
  if (signing.length !== 32 || Buffer.from(card.hpkePublicKey, 'hex').length !== 32) return false;
  if (nodeIdFromPublicKey(signing) !== card.nodeId) return false;
  return verifyBytes(ed25519PublicKey(signing), hpkeBinding(card.nodeId, card.hpkePublicKey), Buffer.from(card.hpkeKeySignature, 'hex'));
}

export function cardFingerprint(card: Pick<NodeCard, 'signingPublicKey'>): string {
  return fingerprintWords(Buffer.from(card.signingPublicKey, 'hex'));
}

export class LocalIdentity {
  private constructor(
    readonly nodeId: string,
    readonly card: NodeCard,
    private readonly signingKey: KeyObject,
    readonly hpkePrivateKey: HpkePrivateKey,
  ) {}

  /** Loads (and on first use creates) the node's keys; needs the vault unlocked. */
  static async load(vault: VaultService, name: string): Promise<LocalIdentity> {
    const identity = vault.records.get(NODE_IDENTITY_RECORD.type, NODE_IDENTITY_RECORD.id);
    if (!identity) throw new Error('the vault has no node identity');
    const secret = identity.plaintext;
    const publicKey = ed25519.getPublicKey(secret);
    const signingKey = ed25519PrivateKey(secret);
    secret.fill(0);
    const nodeId = nodeIdFromPublicKey(publicKey);

    let stored = vault.records.get(HPKE_KEY_RECORD.type, HPKE_KEY_RECORD.id)?.plaintext;
    if (!stored) {
      const pair = await generateHpkeKeyPair();
      stored = Buffer.concat([pair.publicKey, pair.privateKey]);
      pair.privateKey.fill(0);
      vault.records.put(HPKE_KEY_RECORD.type, HPKE_KEY_RECORD.id, HPKE_KEY_RECORD.schemaVersion, stored);
    }
    const hpkePublicKey = Buffer.from(stored.subarray(0, 32)).toString('hex');
    const hpkePrivateKey = await hpkeSuite.kem.deserializePrivateKey(new Uint8Array(stored.subarray(32, 64)));
    stored.fill(0);
    const card: NodeCard = {
      nodeId,
      name,
      signingPublicKey: Buffer.from(publicKey).toString('hex'),
      hpkePublicKey,
      hpkeKeySignature: signBytes(signingKey, hpkeBinding(nodeId, hpkePublicKey)).toString('hex'),
    };
    return new LocalIdentity(nodeId, card, signingKey, hpkePrivateKey);
  }

  sign(data: Uint8Array): Buffer {
    return signBytes(this.signingKey, data);
  }

  get fingerprint(): string {
    return cardFingerprint(this.card);
  }
}
