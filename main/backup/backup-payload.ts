/**
 * The sealed payload of a share backup and the checks that make an opened backup trustworthy.
 *
 * Plaintext (binary, so every secret is a Buffer that can be zeroized):
 *   u32 len ‖ share private part ‖ u32 len ‖ share public part ‖ node identity (32) ‖ HPKE key pair (64)
 * The node identity travels with the share: peers know this node by it, so a node restored onto a
 * fresh machine is the same cluster member, not a stranger holding someone's share.
 * Never in it: presignatures, the vault master key, anything of another keyset.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { associatedData, EnvelopeOpenError, open, seal } from '../crypto/envelope';
import { fail } from '../errors';
import type { MpcSigner } from '../mpc/index';
import { shareEpoch } from '../cluster/share-epoch';
import { headerDigest, type BackupFile, type BackupHeader, type SealedHex } from './backup-format';
import { fromHex, openBackupKey, toHex, type GuardianUnlock } from './backup-key';

const IDENTITY_BYTES = 32;
const HPKE_BYTES = 64;

export interface BackupSecrets {
  /** The full key share, attached again from its two parts. */
  share: Buffer;
  identitySecret: Buffer;
  hpkeKeyPair: Buffer;
}

export function wipeSecrets(s: BackupSecrets | null | undefined): void {
  s?.share.fill(0);
  s?.identitySecret.fill(0);
  s?.hpkeKeyPair.fill(0);
}

function payloadAad(h: BackupHeader): Buffer {
  return associatedData('share-backup-payload', h.version, h.backupId, h.keyset.keysetId, h.node.nodeId, h.share.version, h.share.epoch, headerDigest(h).toString('hex'));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function sealPayload(key: Buffer, h: BackupHeader, parts: { privatePart: Buffer; publicPart: Buffer; identitySecret: Buffer; hpkeKeyPair: Buffer }): SealedHex {
  if (parts.identitySecret.length !== IDENTITY_BYTES || parts.hpkeKeyPair.length !== HPKE_BYTES) throw new RangeError('node identity keys have unexpected sizes');
  const plain = Buffer.concat([u32(parts.privatePart.length), parts.privatePart, u32(parts.publicPart.length), parts.publicPart, parts.identitySecret, parts.hpkeKeyPair]);
  try {
    return toHex(seal(key, plain, payloadAad(h)));
  } finally {
    plain.fill(0);
  }
}

function decode(plain: Buffer): { privatePart: Buffer; publicPart: Buffer; identitySecret: Buffer; hpkeKeyPair: Buffer } {
  let at = 0;
  const take = (n: number): Buffer => {
    if (n < 0 || at + n > plain.length) throw new RangeError('short payload');
    const out = Buffer.from(plain.subarray(at, at + n));
    at += n;
    return out;
  };
  const privatePart = take(plain.readUInt32BE((at += 4) - 4));
  const publicPart = take(plain.readUInt32BE((at += 4) - 4));
  const identitySecret = take(IDENTITY_BYTES);
  const hpkeKeyPair = take(HPKE_BYTES);
  if (at !== plain.length) throw new RangeError('trailing bytes');
  return { privatePart, publicPart, identitySecret, hpkeKeyPair };
}

/**
 * Opens a backup with two guardians' passphrases and checks what comes out against the file's
 * public data before anyone uses it: the share's public share, key and address are the ones the
 * file names, and the identity is the node that signed the file. Throws (nothing kept) otherwise.
 */
export async function openBackup(file: BackupFile, unlocks: GuardianUnlock[], signer: MpcSigner): Promise<BackupSecrets> {
  const h = file;
  const key = await openBackupKey({ backupId: h.backupId, keysetId: h.keyset.keysetId, nodeId: h.node.nodeId }, h.guardians, unlocks);
  let plain: Buffer;
  try {
    plain = open(key, fromHex(file.payload), payloadAad(h));
  } catch (error) {
    if (!(error instanceof EnvelopeOpenError)) throw error;
    fail('BACKUP_DECRYPT_FAILED', 'The two guardians opened their parts, but the backup\'s content does not decrypt: the file was altered after it was written. Use another copy of the backup; nothing was changed.', { backupId: h.backupId });
  } finally {
    key.fill(0);
  }
  let parts: ReturnType<typeof decode>;
  try {
    parts = decode(plain);
  } catch {
    fail('BACKUP_MALFORMED', 'The backup decrypted but its content is not laid out as Vaultkeeper writes it. Use another copy of the backup.', { backupId: h.backupId });
  } finally {
    plain.fill(0);
  }
  let share: Buffer;
  try {
    share = signer.attachShare(parts.publicPart, parts.privatePart);
  } catch {
    wipeSecrets({ share: parts.privatePart, identitySecret: parts.identitySecret, hpkeKeyPair: parts.hpkeKeyPair });
    fail('BACKUP_SHARE_MISMATCH', 'The share in the backup does not assemble (its private part does not fit its public part). Use another copy of the backup.', { backupId: h.backupId });
  } finally {
    parts.privatePart.fill(0);
  }
  const secrets: BackupSecrets = { share, identitySecret: parts.identitySecret, hpkeKeyPair: parts.hpkeKeyPair };
  try {
    checkAgainstFile(file, secrets, signer);
  } catch (error) {
    wipeSecrets(secrets);
    throw error;
  }
  return secrets;
}

/** The derived public share, key, address and party must be the file's; the identity must be its signer. */
function checkAgainstFile(file: BackupFile, s: BackupSecrets, signer: MpcSigner): void {
  const info = signer.shareInfo(s.share);
  const mismatch = (what: string) =>
    fail('BACKUP_SHARE_MISMATCH', `The share in backup ${file.backupId} does not match the public data it claims (${what}). It is not the share of keyset ${file.keyset.keysetId} at party ${file.node.partyIndex}; it was refused.`, { backupId: file.backupId, what });
  if (!info.publicShare.equals(Buffer.from(file.share.publicShare, 'hex')) || shareEpoch(info.publicShare) !== file.share.epoch) mismatch('public share');
  if (!info.publicKey.equals(Buffer.from(file.keyset.publicKey, 'hex'))) mismatch('keyset public key');
  if (info.address !== file.keyset.address) mismatch('address');
  if (info.partyIndex !== file.node.partyIndex || info.threshold !== file.keyset.threshold) mismatch('party index or threshold');
  if (!Buffer.from(ed25519.getPublicKey(s.identitySecret)).equals(Buffer.from(file.node.signingPublicKey, 'hex'))) mismatch('node identity');
}
