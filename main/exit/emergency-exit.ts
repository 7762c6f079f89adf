/**
 * Emergency exit: leave the MPC scheme with a keyset's full private key, offline, as an encrypted
 * keystore. The last resort when the cluster cannot be kept running; from then on the keyset is a
 * single point of failure, and it is marked "exported" everywhere.
 *
 * What it takes: the guardian quorum (a `keyset.exit` request for exactly these two backup files,
 * approved by two guardians), two CURRENT backups of two different nodes of the keyset (each
 * opened by two guardians with their backup passphrases), and a fresh passphrase typed twice for
 * the output. The key is rebuilt by the addon (frost-core `keys::reconstruct`), which refuses to
 * return it unless its public key is the keyset's group key.
 *
 * Why not "two live nodes": it would mean sending a share over the network to one machine, a
 * protocol of its own whose only purpose is to concentrate the secret. The backups already are
 * the offline, guardian-held copies made for this; the exit runs entirely on this machine.
 *
 * Order of checks: everything that needs no secret first (files, keyset, epochs, passphrase,
 * approval) — a refusal there writes nothing. Then the rate limit (3 per hour), and the attempt is
 * recorded before any backup is opened, so guessing guardian passphrases is limited too. The
 * output file is written, then one transaction consumes the approval, marks the keyset exported
 * and audits (without the key); if that fails the file is removed.
 */
import { randomUUID } from 'node:crypto';
import type { ApprovalRequestView } from '../../preload/channels/guardians';
import type { ExitOutcome, ExitPrecheck } from '../../preload/channels/exit';
import type { AuditLog } from '../audit/audit-log';
import { shareEpoch } from '../cluster/share-epoch';
import type { GuardianUnlock } from '../backup/backup-key';
import { openBackup, wipeSecrets, type BackupSecrets } from '../backup/backup-payload';
import type { BackupService, ReadBackup } from '../backup/backup-service';
import { SHARE_RECORD, type ClusterService, type KeysetRecord } from '../cluster/cluster-service';
import { AppFailure, fail } from '../errors';
import type { GuardianService, RequesterProof } from '../guardians/guardian-service';
import type { MpcSigner } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import { judgePassphrase } from '../vault/passphrase-policy';
import type { VaultService } from '../vault/vault-service';
import { EXIT_LIMIT, EXIT_WINDOW_MS, ExitRecords } from './exit-record';
import { ethereumKeystore, KEYSTORE_SCRYPT, solanaKeystore, type KeystoreScrypt } from './keystore';
import { removeQuietly, requireFolder, writeNewFile } from './output-file';

export interface EmergencyExitOptions {
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
  guardians: GuardianService;
  cluster: ClusterService;
  backups: BackupService;
  signer: () => MpcSigner;
  /** scrypt cost of the keystore (tests lower it; the console writes ethers' default). */
  keystoreScrypt?: KeystoreScrypt;
}

export interface ExitBackup {
  file: string;
  guardians: GuardianUnlock[];
}

export interface ExitRequest {
  keysetId: string;
  backups: ExitBackup[];
  passphrase: string;
  confirmation: string;
  folder: string;
  requestId: string;
}

export const EXIT_WARNING_BEFORE =
  'After an emergency exit the full private key of this keyset exists in one file. Whoever has the file and its passphrase controls the funds alone: no guardian, no other node and no policy stands in the way. Move the funds to a new keyset as soon as you can.';
export const EXIT_WARNING_AFTER =
  'The keyset is now a single point of failure: its full private key is in the file written. It is marked "exported" everywhere. Keep the file offline, move the funds to a new keyset, and stop using this one.';

/** What the guardians approve: this keyset and exactly these two backup files (by hash). */
function exitParameters(keyset: KeysetRecord, reads: ReadBackup[]): Record<string, unknown> {
  const backups = reads
    .map((r) => ({ backupId: r.file.backupId, fileSha256: r.sha256, nodeId: r.file.node.nodeId, partyIndex: r.file.node.partyIndex, epoch: r.file.share.epoch }))
    .sort((a, b) => a.partyIndex - b.partyIndex);
  return { keysetId: keyset.keysetId, address: keyset.address, publicKey: keyset.publicKey, backups };
}

export class EmergencyExit {
  readonly records: ExitRecords;

  constructor(private readonly o: EmergencyExitOptions) {
    this.records = new ExitRecords(o.db);
  }

  /** Checks that need no secret: the files, the keyset, two different nodes, both backups current. */
  private precheck(keysetId: string, files: string[]): { keyset: KeysetRecord; reads: ReadBackup[] } {
    this.o.vault.keyRing();
    const keyset = this.o.cluster.keyset(keysetId);
    if (!keyset || keyset.status !== 'active' || !keyset.publicKey || !keyset.address) fail('KEYSET_NOT_FOUND', `This node holds no active keyset ${keysetId}; an emergency exit is run on a node of the keyset.`, { keysetId });
    if (files.length !== 2) fail('EXIT_BACKUPS_REQUIRED', 'An emergency exit takes exactly two backups, of two different nodes of the keyset.');
    const reads = files.map((f) => this.o.backups.read(f));
    for (const { file } of reads) {
      if (file.keyset.keysetId !== keysetId) {
        fail('BACKUP_WRONG_KEYSET', `Backup ${file.backupId} holds a share of keyset ${file.keyset.keysetId}, not of ${keysetId}. Choose two backups of keyset ${keysetId}; nothing was written.`, { backupKeyset: file.keyset.keysetId, keysetId });
      }
    }
    const [first, second] = reads as [ReadBackup, ReadBackup];
    // By party index: the file's node id is only a label, the share at that index is what counts.
    if (first.file.node.partyIndex === second.file.node.partyIndex) {
      fail('EXIT_SAME_NODE', `Both backups are of node ${first.file.node.nodeId.slice(0, 8)}…: one node's share twice is still one share. Choose backups of two different nodes; nothing was written.`, { nodeId: first.file.node.nodeId });
    }
    // Current means: the public share the backup holds is that party's public share now. This also
    // refuses a backup of another key under this keyset's id (its public share is not this key's).
    const current = this.currentPublicShares(keysetId);
    for (const { file } of reads) {
      const now = current[file.node.partyIndex];
      if (!now || shareEpoch(now) !== file.share.epoch) {
        fail('BACKUP_DEAD', `Backup ${file.backupId} (node ${file.node.nodeId.slice(0, 8)}…, epoch ${file.share.epoch.slice(0, 8)}…) is from before a refresh of keyset ${keysetId}: that share no longer belongs to the keyset. Use a backup made after the last refresh; nothing was written.`, { backupId: file.backupId, epoch: file.share.epoch });
      }
    }
    return { keyset, reads };
  }

  /** Each party's public share now, from this node's current share of the keyset. */
  private currentPublicShares(keysetId: string): Buffer[] {
    const share = this.o.vault.records.get(SHARE_RECORD.type, keysetId)?.plaintext;
    if (!share) fail('KEYSET_NOT_FOUND', `This node holds no share of keyset ${keysetId}.`, { keysetId });
    try {
      return this.o.signer().groupPublicShares(share);
    } finally {
      share.fill(0);
    }
  }

  /** The public checks and the approval parameters, for the screen before anything is asked of the guardians. */
  check(keysetId: string, files: string[]): ExitPrecheck {
    const { keyset, reads } = this.precheck(keysetId, files);
    return {
      keysetId,
      scheme: keyset.scheme,
      address: keyset.address!,
      backups: reads.map((r) => ({ file: r.file.backupId, nodeId: r.file.node.nodeId, partyIndex: r.file.node.partyIndex, epoch: r.file.share.epoch, createdAt: r.file.createdAt })),
      output: keyset.scheme === 'ecdsa' ? 'ethereum-keystore' : 'solana-keystore',
      warning: EXIT_WARNING_BEFORE,
      attemptsLeft: Math.max(0, EXIT_LIMIT - this.records.attemptsSince(this.o.clock.now()).count),
    };
  }

  async requestExit(keysetId: string, files: string[], reason: string, requester: RequesterProof, ttlMinutes: number): Promise<ApprovalRequestView> {
    const { keyset, reads } = this.precheck(keysetId, files);
    return this.o.guardians.createRequest({ operation: 'keyset.exit', subject: keysetId, parameters: exitParameters(keyset, reads), context: { reason }, requester, ttlMinutes });
  }

  private requireRateLimit(now: number): void {
    const { count, oldest } = this.records.attemptsSince(now);
    if (count >= EXIT_LIMIT) {
      const minutes = Math.max(1, Math.ceil(((oldest ?? now) + EXIT_WINDOW_MS - now) / 60_000));
      fail('EXIT_RATE_LIMITED', `${count} emergency exits were attempted in the last hour; at most ${EXIT_LIMIT} per hour are allowed. Try again in ${minutes} min; nothing was written.`, { attempts: count, retryInMinutes: minutes });
    }
  }

  async exportKey(r: ExitRequest): Promise<ExitOutcome> {
    const { keyset, reads } = this.precheck(r.keysetId, r.backups.map((b) => b.file));
    if (r.passphrase !== r.confirmation) fail('EXIT_PASSPHRASE_MISMATCH', 'The two entries of the keystore passphrase differ. Type the same passphrase twice; nothing was written.');
    const verdict = judgePassphrase(r.passphrase, [keyset.address!, r.keysetId]);
    if (!verdict.acceptable) fail('EXIT_PASSPHRASE_REFUSED', `The keystore passphrase is refused: ${verdict.reason} Nothing was written.`);
    requireFolder(r.folder);
    const parameters = exitParameters(keyset, reads);
    // Fail fast (one guardian, expired, other files) before the rate limit and the slow work.
    this.o.guardians.checkApproval('keyset.exit', r.keysetId, parameters, r.requestId);
    const now = this.o.clock.now();
    this.requireRateLimit(now);
    this.o.db.transaction(() => this.records.recordAttempt(r.keysetId, now))();

    const opened: BackupSecrets[] = [];
    let secretKey: Buffer | null = null;
    let path: string | null = null;
    try {
      for (const [i, read] of reads.entries()) {
        opened.push(await openBackup(read.file, this.o.backups.resolveUnlocks(read.file, r.backups[i]!.guardians), this.o.signer()));
      }
      // The addon returns the key only if its public key is the group key of these (current) shares.
      const key = this.o.signer().reconstructSecretKey(opened.map((s) => s.share));
      secretKey = key.secretKey;
      const cost = this.o.keystoreScrypt ?? KEYSTORE_SCRYPT;
      const text = keyset.scheme === 'ecdsa' ? await ethereumKeystore(secretKey, keyset.address!, r.passphrase, cost) : await solanaKeystore(secretKey, key.publicKey, keyset.address!, r.passphrase, cost);
      const exportedAt = new Date(now).toISOString();
      const name = `vk-exit-${keyset.scheme === 'ecdsa' ? 'ethereum' : 'solana'}-${keyset.address}-${exportedAt.slice(0, 10)}.json`;
      path = writeNewFile(r.folder, name, text);
      const exportId = randomUUID();
      this.o.db.transaction(() => {
        const { approvers } = this.o.guardians.requireApproval('keyset.exit', r.keysetId, parameters, r.requestId);
        this.records.recordExport({ exportId, keysetId: r.keysetId, address: keyset.address!, fileName: name, requestId: r.requestId, exportedAt });
        this.o.audit.append({ type: 'KEYSET_EXPORTED', actor: 'operator', subject: r.keysetId, details: { exportId, address: keyset.address, scheme: keyset.scheme, file: path, backups: reads.map((b) => b.file.backupId), requestId: r.requestId, approvers, warning: 'single point of failure from now on' } });
      })();
      return { keysetId: r.keysetId, address: keyset.address!, scheme: keyset.scheme, filePath: path, format: keyset.scheme === 'ecdsa' ? 'ethereum-keystore' : 'solana-keystore', exportedAt, warning: EXIT_WARNING_AFTER };
    } catch (error) {
      if (path) removeQuietly(path);
      this.o.audit.append({ type: 'KEYSET_EXPORT_FAILED', actor: 'operator', subject: r.keysetId, details: { code: error instanceof AppFailure ? error.code : 'INTERNAL', backups: reads.map((b) => b.file.backupId) } });
      throw error;
    } finally {
      secretKey?.fill(0);
      for (const s of opened) wipeSecrets(s);
    }
  }
}
