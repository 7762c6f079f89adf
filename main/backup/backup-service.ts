/**
 * Share backups of this node: write one per keyset (encrypted, openable by any two guardians),
 * list them with their epoch and whether a refresh made them dead, and verify a file — publicly
 * (signature, format, public data against this node's keyset) or fully with two guardians
 * (decrypt, derive the public share, compare, wipe).
 */
import { createHash, randomUUID } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import type { BackupCheckView, BackupInspection, BackupsOverview, BackupStatus, BackupVerification, BackupView } from '../../preload/channels/backup';
import type { AuditLog } from '../audit/audit-log';
import { SHARE_RECORD, type ClusterService, type KeysetRecord } from '../cluster/cluster-service';
import { HPKE_KEY_RECORD } from '../cluster/identity';
import { shareEpoch } from '../cluster/share-epoch';
import { ed25519PublicKey, verifyBytes } from '../cluster/keys';
import { fail } from '../errors';
import type { GuardianService } from '../guardians/guardian-service';
import { nodeIdFromPublicKey } from '../identity/node-identity';
import type { MpcSigner } from '../mpc/index';
import { writeErrorCode, writeFileAtomically } from '../platform/atomic-file';
import type { Clock } from '../platform/clock';
import { isFolder, readRegularFile } from '../platform/safe-file';
import type { Db } from '../store/database';
import { NODE_IDENTITY_RECORD, type VaultService } from '../vault/vault-service';
import { BACKUP_FORMAT, BACKUP_VERSION, headerOf, MAX_BACKUP_BYTES, parseBackupFile, SHARE_VERSION, signedBytes, type BackupFile, type BackupHeader } from './backup-format';
import { sealBackupKey, type GuardianUnlock } from './backup-key';
import { openBackup, sealPayload, wipeSecrets } from './backup-payload';
import type { BackupSteps } from './backup-steps';

export interface BackupServiceOptions {
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
  guardians: GuardianService;
  cluster: ClusterService;
  signer: () => MpcSigner;
  /** scrypt cost of each guardian part (tests lower it; the console uses the vault's interactive cost). */
  partScrypt: { N: number; r: number; p: number };
}

/** A backup file read from disk, its signature checked: the bytes' hash and the parsed content. */
export interface ReadBackup {
  file: BackupFile;
  sha256: string;
}

type Row = Record<string, unknown>;

export class BackupService {
  constructor(private readonly o: BackupServiceOptions) {}

  private now(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  /** The epoch of the share this node holds now for the keyset, or null when it holds none. */
  currentEpoch(keysetId: string): string | null {
    const share = this.o.vault.records.get(SHARE_RECORD.type, keysetId)?.plaintext;
    if (!share) return null;
    try {
      return shareEpoch(this.o.signer().shareInfo(share).publicShare);
    } finally {
      share.fill(0);
    }
  }

  private statusOf(keysetId: string, epoch: string, current: Map<string, string | null>): BackupStatus {
    if (!current.has(keysetId)) current.set(keysetId, this.currentEpoch(keysetId));
    const now = current.get(keysetId);
    return now === null || now === undefined ? 'keyset-missing' : now === epoch ? 'current' : 'dead';
  }

  /** Writes an encrypted backup of this node's share of `keysetId` into `folder`. */
  async create(keysetId: string, folder: string, guardianPassphrases: GuardianUnlock[], steps?: BackupSteps): Promise<BackupView> {
    this.o.vault.keyRing();
    const keyset = this.o.cluster.keyset(keysetId);
    if (!keyset || keyset.status !== 'active' || !keyset.publicKey || !keyset.address) fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node to back up.`, { keysetId });
    requireFolder(folder);
    const me = await this.o.cluster.identity();
    const owners = this.o.guardians.registry().guardians.map((g) => ({ guardianId: g.id, name: g.name, address: g.address }));
    const backupId = randomUUID();
    steps?.phase('Sealing the backup key to the three guardians (one key derivation per guardian)');
    const { key, parts } = await sealBackupKey({ backupId, keysetId, nodeId: me.nodeId }, owners, guardianPassphrases, this.o.partScrypt);
    try {
      steps?.writing('the backup file is being written and recorded');
    } catch (error) {
      key.fill(0);
      throw error;
    }

    const share = this.o.vault.records.get(SHARE_RECORD.type, keysetId)?.plaintext;
    const identitySecret = this.o.vault.records.get(NODE_IDENTITY_RECORD.type, NODE_IDENTITY_RECORD.id)?.plaintext;
    const hpkeKeyPair = this.o.vault.records.get(HPKE_KEY_RECORD.type, HPKE_KEY_RECORD.id)?.plaintext;
    let detached: { publicPart: Buffer; privatePart: Buffer } | null = null;
    try {
      if (!share || !identitySecret || !hpkeKeyPair) fail('KEYSET_NOT_FOUND', `This node holds no share of keyset ${keysetId}.`, { keysetId });
      const info = this.o.signer().shareInfo(share);
      detached = this.o.signer().detachShare(share);
      const header: BackupHeader = {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        backupId,
        createdAt: this.now(),
        keyset: { keysetId, clusterId: keyset.clusterId, scheme: keyset.scheme, threshold: keyset.threshold, participants: keyset.participants.map((p) => ({ nodeId: p.nodeId, partyIndex: p.partyIndex })), publicKey: keyset.publicKey, address: keyset.address },
        node: { nodeId: me.nodeId, partyIndex: keyset.myPartyIndex, signingPublicKey: me.card.signingPublicKey },
        share: { version: SHARE_VERSION, epoch: shareEpoch(info.publicShare), publicShare: info.publicShare.toString('hex'), refreshEpoch: keyset.shareEpoch },
        guardians: parts,
      };
      const payload = sealPayload(key, header, { ...detached, identitySecret, hpkeKeyPair });
      const file: BackupFile = { ...header, payload, signature: me.sign(signedBytes(header, payload)).toString('hex') };
      const text = JSON.stringify(file, null, 1);
      const path = writeAtomically(folder, `vk-backup-${keysetId}-${header.share.epoch.slice(0, 8)}-${header.createdAt.slice(0, 10)}-${backupId.slice(0, 8)}.json`, text);
      const sha256 = createHash('sha256').update(text).digest('hex');
      const guardians = parts.map((p) => ({ name: p.name, address: p.address }));
      try {
        this.o.db.transaction(() => {
          this.o.db
            .prepare('INSERT INTO share_backups (backup_id, keyset_id, node_id, scheme, address, epoch, file_path, file_sha256, guardians, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .run(backupId, keysetId, me.nodeId, keyset.scheme, keyset.address, header.share.epoch, path, sha256, JSON.stringify(guardians), header.createdAt);
          this.o.audit.append({ type: 'SHARE_BACKUP_CREATED', actor: 'operator', subject: backupId, details: { keysetId, epoch: header.share.epoch, file: path, sha256, guardians: guardians.map((g) => g.name) } });
        })();
      } catch (error) {
        // No record, no file: a backup the console does not list must not exist.
        unlinkQuietly(path);
        throw error;
      }
      return { backupId, keysetId, scheme: keyset.scheme, address: keyset.address, epoch: header.share.epoch, createdAt: header.createdAt, filePath: path, status: 'current', guardians };
    } finally {
      key.fill(0);
      share?.fill(0);
      identitySecret?.fill(0);
      hpkeKeyPair?.fill(0);
      detached?.privatePart.fill(0);
    }
  }

  list(keysetId?: string): BackupView[] {
    this.o.vault.keyRing();
    const rows = (keysetId ? this.o.db.prepare('SELECT * FROM share_backups WHERE keyset_id = ? ORDER BY created_at DESC').all(keysetId) : this.o.db.prepare('SELECT * FROM share_backups ORDER BY keyset_id, created_at DESC').all()) as Row[];
    const current = new Map<string, string | null>();
    return rows.map((r) => ({
      backupId: String(r.backup_id),
      keysetId: String(r.keyset_id),
      scheme: r.scheme as BackupView['scheme'],
      address: String(r.address),
      epoch: String(r.epoch),
      createdAt: String(r.created_at),
      filePath: String(r.file_path),
      status: this.statusOf(String(r.keyset_id), String(r.epoch), current),
      guardians: JSON.parse(String(r.guardians)) as BackupView['guardians'],
    }));
  }

  overview(): BackupsOverview {
    const backups = this.list();
    const keysets = this.o.cluster
      .keysets()
      .filter((k) => k.status === 'active')
      .map((k) => {
        const epoch = this.currentEpoch(k.keysetId) ?? '';
        return { keysetId: k.keysetId, scheme: k.scheme, address: k.address, epoch, hasCurrentBackup: backups.some((b) => b.keysetId === k.keysetId && b.status === 'current') };
      });
    const guardians = this.o.guardians.registry().guardians.map((g) => ({ id: g.id, name: g.name, address: g.address }));
    return { backups, keysets, guardians };
  }

  /** Reads a backup file and checks its signature by the node it names; throws on anything wrong. */
  read(path: string): ReadBackup {
    const bytes = readRegularFile(path, { maxBytes: MAX_BACKUP_BYTES, what: 'share backup' });
    const file = parseBackupFile(bytes.toString('utf8'));
    const signingKey = Buffer.from(file.node.signingPublicKey, 'hex');
    if (nodeIdFromPublicKey(signingKey) !== file.node.nodeId) {
      fail('BACKUP_BAD_SIGNATURE', `The backup names node ${file.node.nodeId.slice(0, 8)}… but carries another node's signing key: it was altered. Use another copy of the backup.`, { backupId: file.backupId });
    }
    if (!verifyBytes(ed25519PublicKey(signingKey), signedBytes(headerOf(file), file.payload), Buffer.from(file.signature, 'hex'))) {
      fail('BACKUP_BAD_SIGNATURE', `The signature of node ${file.node.nodeId.slice(0, 8)}… over backup ${file.backupId} does not verify: the file was altered after it was written. Use another copy of the backup.`, { backupId: file.backupId });
    }
    return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  /**
   * Guardians may be named by the id the backup records or by their id on this vault (a restored
   * vault enrols the same people anew, under new ids): the part is the one with the same address.
   */
  resolveUnlocks(file: BackupFile, unlocks: GuardianUnlock[]): GuardianUnlock[] {
    const registry = this.o.vault.unlocked ? this.o.guardians.registry().guardians : [];
    return unlocks.map((u) => {
      if (file.guardians.some((g) => g.guardianId === u.guardianId)) return u;
      const here = registry.find((g) => g.id === u.guardianId);
      const part = here ? file.guardians.find((g) => g.address.toLowerCase() === here.address.toLowerCase()) : undefined;
      return part ? { ...u, guardianId: part.guardianId } : u;
    });
  }

  /** The public part of a backup file whose signature checked out; needs no vault. */
  inspect(path: string): BackupInspection {
    const { file } = this.read(path);
    return {
      backupId: file.backupId,
      createdAt: file.createdAt,
      keysetId: file.keyset.keysetId,
      scheme: file.keyset.scheme,
      address: file.keyset.address,
      nodeId: file.node.nodeId,
      epoch: file.share.epoch,
      guardians: file.guardians.map((g) => ({ guardianId: g.guardianId, name: g.name, address: g.address })),
    };
  }

  /** Checks the file's public data against what this node records about the keyset. */
  private publicChecks(file: BackupFile): { checks: BackupCheckView[]; status: BackupStatus } {
    const checks: BackupCheckView[] = [{ name: 'signature', ok: true, detail: `Signed by node ${file.node.nodeId.slice(0, 8)}…; format ${BACKUP_FORMAT} v${file.version}.` }];
    const keyset: KeysetRecord | null = this.o.cluster.keyset(file.keyset.keysetId);
    if (!keyset) {
      checks.push({ name: 'keyset', ok: false, detail: `This node has no keyset ${file.keyset.keysetId}; the public data can only be compared on a node that holds it.` });
      return { checks, status: 'keyset-missing' };
    }
    const same = keyset.publicKey === file.keyset.publicKey && keyset.address === file.keyset.address;
    checks.push({ name: 'keyset', ok: same, detail: same ? `Public key and address ${file.keyset.address} match keyset ${keyset.keysetId}.` : `The backup's public key or address differs from keyset ${keyset.keysetId} on this node.` });
    const participants = JSON.stringify(keyset.participants.map((p) => [p.nodeId, p.partyIndex])) === JSON.stringify(file.keyset.participants.map((p) => [p.nodeId, p.partyIndex]));
    checks.push({ name: 'participants', ok: participants, detail: participants ? 'The same three nodes at the same party indexes.' : 'The backup names other participants than this node records.' });
    const status = this.statusOf(keyset.keysetId, file.share.epoch, new Map());
    checks.push({ name: 'epoch', ok: status === 'current', detail: status === 'current' ? `Epoch ${file.share.epoch.slice(0, 8)}… is the share this node holds now.` : `Epoch ${file.share.epoch.slice(0, 8)}… is not the share this node holds now: a refresh made this backup dead.` });
    return { checks, status };
  }

  /** Verification without secrets: format, version, signature, public data, epoch. */
  verify(path: string): BackupVerification {
    this.o.vault.keyRing();
    const { file } = this.read(path);
    const { checks, status } = this.publicChecks(file);
    return { backupId: file.backupId, keysetId: file.keyset.keysetId, nodeId: file.node.nodeId, epoch: file.share.epoch, address: file.keyset.address, depth: 'public', ok: checks.every((c) => c.ok), status, checks };
  }

  /**
   * Full verification for drills: two guardians open the backup, the share is assembled and its
   * public share derived and compared with the file and this node's keyset, then everything is
   * wiped. The full key is never reassembled (one share is not the key).
   */
  async verifyFull(path: string, unlocks: GuardianUnlock[]): Promise<BackupVerification> {
    this.o.vault.keyRing();
    const { file } = this.read(path);
    const { checks, status } = this.publicChecks(file);
    try {
      const secrets = await openBackup(file, this.resolveUnlocks(file, unlocks), this.o.signer());
      wipeSecrets(secrets);
    } catch (error) {
      this.o.audit.append({ type: 'SHARE_BACKUP_VERIFY_FAILED', actor: 'operator', subject: file.backupId, details: { keysetId: file.keyset.keysetId, code: (error as { code?: string }).code ?? 'INTERNAL' } });
      throw error;
    }
    checks.push({ name: 'share', ok: true, detail: `Two guardians opened it; the share derives public share ${file.share.epoch.slice(0, 8)}…, the one the backup names. The share was wiped from memory.` });
    const ok = checks.every((c) => c.ok);
    this.o.audit.append({ type: ok ? 'SHARE_BACKUP_VERIFIED' : 'SHARE_BACKUP_VERIFY_FAILED', actor: 'operator', subject: file.backupId, details: { keysetId: file.keyset.keysetId, epoch: file.share.epoch, depth: 'full', guardians: unlocks.map((u) => u.guardianId), status } });
    return { backupId: file.backupId, keysetId: file.keyset.keysetId, nodeId: file.node.nodeId, epoch: file.share.epoch, address: file.keyset.address, depth: 'full', ok, status, checks };
  }
}

function requireFolder(folder: string): void {
  if (!isFolder(folder)) fail('BACKUP_WRITE_FAILED', `The folder ${folder} does not exist or is not a folder. Mount the backup medium and choose a folder on it.`, { folder });
}

/** Written atomically and owner-only: a reader never sees half a backup. */
function writeAtomically(folder: string, name: string, text: string): string {
  try {
    return writeFileAtomically(folder, name, text);
  } catch (error) {
    fail('BACKUP_WRITE_FAILED', `Cannot write the backup into ${folder} (${writeErrorCode(error)}). Check that the medium is writable and not full, then try again.`, { folder });
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
