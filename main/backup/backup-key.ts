/**
 * The backup key and who can rebuild it. Guardians sign with Ledger devices or Ethereum key files:
 * neither gives Vaultkeeper a key it may encrypt to (a Ledger never decrypts, and a signing key is
 * not to be reused for encryption). So each guardian protects one 2-of-3 Shamir part of the backup
 * key (`shamir-secret-sharing`) with a backup passphrase only that guardian knows: scrypt derives
 * a key from it, AES-256-GCM seals the part, and the associated data binds backup, keyset, node,
 * guardian and part index, so a part moved to another slot or another backup fails to open.
 * Any two guardians, each typing their own passphrase, rebuild the key; one alone learns nothing.
 */
import { randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { associatedData, EnvelopeOpenError, open, seal, type SealedBox } from '../crypto/envelope';
import { deriveKeyEncryptionKey, isUsableScryptParams, newScryptParams } from '../crypto/kdf';
import { fail } from '../errors';
import { judgePassphrase } from '../vault/passphrase-policy';
import type { GuardianPart, SealedHex } from './backup-format';

export interface PartOwner {
  guardianId: string;
  name: string;
  address: string;
}

export interface PartBinding {
  backupId: string;
  keysetId: string;
  nodeId: string;
}

export interface GuardianUnlock {
  guardianId: string;
  passphrase: string;
}

export const BACKUP_KEY_BYTES = 32;

function partAad(b: PartBinding, index: number, owner: Pick<PartOwner, 'guardianId' | 'address'>): Buffer {
  return associatedData('share-backup-part', b.backupId, b.keysetId, b.nodeId, index, owner.guardianId, owner.address.toLowerCase());
}

export function toHex(b: SealedBox): SealedHex {
  return { iv: b.iv.toString('hex'), tag: b.tag.toString('hex'), ciphertext: b.ciphertext.toString('hex') };
}

export function fromHex(b: SealedHex): SealedBox {
  return { iv: Buffer.from(b.iv, 'hex'), tag: Buffer.from(b.tag, 'hex'), ciphertext: Buffer.from(b.ciphertext, 'hex') };
}

/** A fresh backup key, split 2-of-3 and sealed to each guardian's backup passphrase (owners in slot order). */
export async function sealBackupKey(binding: PartBinding, owners: PartOwner[], passphrases: GuardianUnlock[], cost: { N: number; r: number; p: number }): Promise<{ key: Buffer; parts: GuardianPart[] }> {
  if (owners.length !== 3) fail('GUARDIAN_REGISTRY_INCOMPLETE', 'A backup needs all three guardians enrolled: any two of them will open it.');
  const seen = new Set<string>();
  for (const owner of owners) {
    const given = passphrases.find((p) => p.guardianId === owner.guardianId);
    if (!given) fail('BACKUP_PASSPHRASE_REFUSED', `Guardian ${owner.name} has not set a backup passphrase. Each of the three guardians types their own.`, { guardianId: owner.guardianId });
    const verdict = judgePassphrase(given.passphrase);
    if (!verdict.acceptable) fail('BACKUP_PASSPHRASE_REFUSED', `${owner.name}'s backup passphrase is too weak: ${verdict.reason}`, { guardianId: owner.guardianId });
    if (seen.has(given.passphrase)) fail('BACKUP_PASSPHRASE_REFUSED', `${owner.name} chose the same backup passphrase as another guardian. Each guardian needs their own, or one person could open the backup alone.`, { guardianId: owner.guardianId });
    seen.add(given.passphrase);
  }
  if (passphrases.length !== 3) fail('BACKUP_PASSPHRASE_REFUSED', 'Exactly the three enrolled guardians set backup passphrases.');

  const key = randomBytes(BACKUP_KEY_BYTES);
  // The library takes plain Uint8Arrays only; the copy is wiped once split.
  const copy = Uint8Array.from(key);
  const shares = await split(copy, 3, 2).finally(() => copy.fill(0));
  const parts: GuardianPart[] = [];
  try {
    for (const [i, owner] of owners.entries()) {
      const kdf = newScryptParams(cost);
      const kek = await deriveKeyEncryptionKey(passphrases.find((p) => p.guardianId === owner.guardianId)!.passphrase, kdf);
      try {
        parts.push({ index: i + 1, guardianId: owner.guardianId, name: owner.name, address: owner.address, kdf, sealed: toHex(seal(kek, shares[i]!, partAad(binding, i + 1, owner))) });
      } finally {
        kek.fill(0);
      }
    }
  } finally {
    for (const s of shares) s.fill(0);
  }
  return { key, parts };
}

/**
 * Rebuilds the backup key from two guardians' parts. A wrong passphrase names the guardian; the
 * rebuilt key is only known to be right once it opens the payload (the caller checks that).
 */
export async function openBackupKey(binding: PartBinding, parts: GuardianPart[], unlocks: GuardianUnlock[]): Promise<Buffer> {
  if (unlocks.length !== 2 || unlocks[0]!.guardianId === unlocks[1]!.guardianId) {
    fail('BACKUP_GUARDIAN_UNLOCK', 'Two different guardians open a backup, each with their own backup passphrase. One guardian alone cannot.');
  }
  const opened: Uint8Array[] = [];
  try {
    for (const unlock of unlocks) {
      const part = parts.find((p) => p.guardianId === unlock.guardianId);
      if (!part) fail('BACKUP_GUARDIAN_UNLOCK', `Guardian ${unlock.guardianId} holds no part of this backup. Pick two of the guardians the backup names: ${parts.map((p) => p.name).join(', ')}.`, { guardianId: unlock.guardianId });
      if (!isUsableScryptParams(part.kdf)) fail('BACKUP_MALFORMED', `The key-derivation settings of ${part.name}'s part are out of range: the backup was altered. Use another copy.`, { guardianId: part.guardianId });
      const kek = await deriveKeyEncryptionKey(unlock.passphrase, part.kdf);
      try {
        const share = open(kek, fromHex(part.sealed), partAad(binding, part.index, part));
        opened.push(Uint8Array.from(share));
        share.fill(0);
      } catch (error) {
        if (!(error instanceof EnvelopeOpenError)) throw error;
        fail('BACKUP_GUARDIAN_UNLOCK', `${part.name}'s backup passphrase does not open their part of this backup (wrong passphrase, or the part was altered). ${part.name} types it again; nothing was changed.`, { guardianId: part.guardianId });
      } finally {
        kek.fill(0);
      }
    }
    const combined = await combine(opened);
    const key = Buffer.from(combined);
    combined.fill(0);
    return key;
  } finally {
    for (const s of opened) s.fill(0);
  }
}
