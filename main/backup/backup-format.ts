/**
 * The share backup file: self-describing JSON with every public fact a restore or a verification
 * needs (format and version, keyset, node, epoch, public share, keyset public key and address,
 * the guardians who can open it), the sealed guardian parts of the backup key, the sealed payload,
 * and an Ed25519 signature by the node identity over all of it.
 *
 * The signature lets anyone check integrity without a secret (the node id is the hash of the
 * signing key, so a file re-signed by someone else names another node). The payload's associated
 * data is the hash of everything but the payload and the signature, so a part, a participant or
 * an epoch changed in the file also makes the payload fail to open.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fail } from '../errors';

export const BACKUP_FORMAT = 'vaultkeeper.share-backup';
export const BACKUP_VERSION = 1;
/** The share record's schema version the payload holds (bound into the associated data). */
export const SHARE_VERSION = 1;
/** Far above any real backup (an ECDSA share with its Paillier key is tens of KiB). */
export const MAX_BACKUP_BYTES = 1024 * 1024;

const hex = (min: number, max: number) => z.string().regex(/^[0-9a-f]*$/, 'lowercase hex').min(min).max(max);
const box = z.strictObject({ iv: hex(24, 24), tag: hex(32, 32), ciphertext: hex(2, 2 * MAX_BACKUP_BYTES) });
const scrypt = z.strictObject({ algorithm: z.literal('scrypt'), N: z.number().int(), r: z.number().int(), p: z.number().int(), saltHex: hex(32, 128) });

const guardianPart = z.strictObject({
  index: z.number().int().min(1).max(3),
  guardianId: z.string().min(1).max(128),
  name: z.string().min(1).max(100),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  kdf: scrypt,
  sealed: box,
});

const header = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int(),
  backupId: z.string().uuid(),
  createdAt: z.string().datetime(),
  keyset: z.strictObject({
    keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/),
    clusterId: z.string().min(1).max(128),
    scheme: z.enum(['ecdsa', 'eddsa']),
    threshold: z.number().int().min(1).max(16),
    participants: z.array(z.strictObject({ nodeId: z.string().regex(/^[0-9a-f]{32}$/), partyIndex: z.number().int().min(0).max(15) })).min(2).max(16),
    publicKey: hex(64, 66),
    address: z.string().min(32).max(64),
  }),
  node: z.strictObject({ nodeId: z.string().regex(/^[0-9a-f]{32}$/), partyIndex: z.number().int().min(0).max(15), signingPublicKey: hex(64, 64) }),
  /** refreshEpoch: refreshes the keyset's shares went through when the backup was made (absent in older files: 0). */
  share: z.strictObject({ version: z.number().int(), epoch: hex(32, 32), publicShare: hex(64, 66), refreshEpoch: z.number().int().min(0).max(1_000_000).optional() }),
  guardians: z.array(guardianPart).length(3),
});

export const backupFileSchema = header.extend({ payload: box, signature: hex(128, 128) });

export type BackupHeader = z.infer<typeof header>;
export type BackupFile = z.infer<typeof backupFileSchema>;
export type GuardianPart = z.infer<typeof guardianPart>;
export type SealedHex = z.infer<typeof box>;

/**
 * Canonical bytes of the header: fields in a fixed order written out here, never the order the
 * file happens to use, so the hash is the same for every reader.
 */
export function headerDigest(h: BackupHeader): Buffer {
  const canonical = [
    h.format,
    h.version,
    h.backupId,
    h.createdAt,
    [h.keyset.keysetId, h.keyset.clusterId, h.keyset.scheme, h.keyset.threshold, h.keyset.participants.map((p) => [p.nodeId, p.partyIndex]), h.keyset.publicKey, h.keyset.address],
    [h.node.nodeId, h.node.partyIndex, h.node.signingPublicKey],
    [h.share.version, h.share.epoch, h.share.publicShare, ...(h.share.refreshEpoch !== undefined ? [h.share.refreshEpoch] : [])],
    h.guardians.map((g) => [g.index, g.guardianId, g.name, g.address, [g.kdf.algorithm, g.kdf.N, g.kdf.r, g.kdf.p, g.kdf.saltHex], [g.sealed.iv, g.sealed.tag, g.sealed.ciphertext]]),
  ];
  return createHash('sha256').update('vaultkeeper/share-backup/header/v1\0').update(JSON.stringify(canonical)).digest();
}

/** What the node identity signs: the header digest and the sealed payload. */
export function signedBytes(h: BackupHeader, payload: SealedHex): Buffer {
  return createHash('sha256')
    .update('vaultkeeper/share-backup/signed/v1\0')
    .update(headerDigest(h))
    .update(JSON.stringify([payload.iv, payload.tag, payload.ciphertext]))
    .digest();
}

export function headerOf(file: BackupFile): BackupHeader {
  const { payload: _payload, signature: _signature, ...rest } = file;
  void _payload;
  void _signature;
  return rest;
}

/** Parses a backup file's text; a refusal names what is wrong (never echoes the content). */
export function parseBackupFile(text: string): BackupFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail('BACKUP_MALFORMED', 'This is not a Vaultkeeper share backup: the file is not valid JSON. Check that the right file was copied completely.');
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== BACKUP_FORMAT) fail('BACKUP_MALFORMED', 'This is not a Vaultkeeper share backup (its format field is missing or different). Choose a file named vk-backup-….json.');
  const version = (json as { version?: unknown }).version;
  if (version !== BACKUP_VERSION) fail('BACKUP_UNSUPPORTED_VERSION', `This share backup has format version ${String(version)}; this Vaultkeeper reads version ${BACKUP_VERSION}. Use the Vaultkeeper version that wrote it.`);
  const parsed = backupFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail('BACKUP_MALFORMED', `The share backup is damaged or altered: field ${issue.path.join('.') || '(root)'} ${issue.message.toLowerCase()}. Use another copy of the backup.`, { field: issue.path.join('.') });
  }
  const file = parsed.data;
  const indexes = file.guardians.map((g) => g.index).sort().join(',');
  const addresses = new Set(file.guardians.map((g) => g.address.toLowerCase()));
  if (indexes !== '1,2,3' || addresses.size !== 3) fail('BACKUP_MALFORMED', 'The share backup is damaged or altered: it must name three different guardians, parts 1, 2 and 3. Use another copy of the backup.');
  if (!file.keyset.participants.some((p) => p.nodeId === file.node.nodeId && p.partyIndex === file.node.partyIndex)) {
    fail('BACKUP_MALFORMED', 'The share backup is damaged or altered: its node is not a participant of its keyset at the party index it names. Use another copy of the backup.');
  }
  return file;
}
