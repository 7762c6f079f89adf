/**
 * Restoring this node from a share backup, onto a fresh machine or a fresh vault.
 *
 * 1. createVaultFromBackup — on a machine with no vault: two guardians open the backup; once the
 *    share checks out against the file's public data, a new vault is made with the backed-up node
 *    identity (peers know this node by it). The share itself is not installed yet.
 * 2. The operator enrols the guardians (the same three the backup names) and the peers
 *    (fingerprints compared as always), and connects to the coordinator.
 * 3. requestRestore → two guardians approve 'share.restore' for exactly this file and keyset.
 * 4. restore — every check before anything is written: the file's signature, the keyset asked
 *    for, this vault's node, no share of the keyset here already, the guardians are the backup's,
 *    the approval; two guardians open the backup and the share must derive the public share the
 *    file names. Then, in one transaction, the approval is checked again and the keyset and share
 *    are installed; every presignature is discarded; and the share proves itself with a key-check
 *    signature with the other nodes. Only a proved share consumes the approval (in the transaction
 *    that records the proof). A failed proof (a backup from before a refresh, peers offline) takes
 *    the keyset and share out again and leaves the approval unused: it names this exact file,
 *    keyset, node and epoch, so a retry with it can only restore what the guardians approved, and
 *    peers that were offline should not cost the guardians a second signature. Its expiry still
 *    bounds it.
 */
import type { RestoreOutcome } from '../../preload/channels/backup';
import type { ApprovalRequestView } from '../../preload/channels/guardians';
import type { AuditLog } from '../audit/audit-log';
import type { ClusterService } from '../cluster/cluster-service';
import { HPKE_KEY_RECORD } from '../cluster/identity';
import { installRestoredKeyset, removeRestoredKeyset } from '../cluster/keyset-install';
import { AppFailure, fail } from '../errors';
import type { GuardianService, RequesterProof } from '../guardians/guardian-service';
import type { MpcSigner } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import type { BackupFile } from './backup-format';
import type { GuardianUnlock } from './backup-key';
import type { BackupSteps } from './backup-steps';
import { openBackup, wipeSecrets, type BackupSecrets } from './backup-payload';
import type { BackupService, ReadBackup } from './backup-service';

export interface RestoreOptions {
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
  guardians: GuardianService;
  cluster: ClusterService;
  backups: BackupService;
  signer: () => MpcSigner;
}

/** What the guardians approve: this exact file (by hash), keyset, node and epoch. */
export function restoreParameters(read: ReadBackup): Record<string, unknown> {
  const f = read.file;
  return { backupId: f.backupId, fileSha256: read.sha256, keysetId: f.keyset.keysetId, nodeId: f.node.nodeId, epoch: f.share.epoch, address: f.keyset.address };
}

export class ShareRestore {
  constructor(private readonly o: RestoreOptions) {}

  private now(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  /** Step 1: a new vault that takes the backup's node identity. Only on a machine with no vault. */
  async createVaultFromBackup(path: string, unlocks: GuardianUnlock[], passphrase: string, confirmation: string): Promise<{ nodeId: string; keysetId: string }> {
    if (this.o.vault.status().state !== 'uninitialized') fail('VAULT_ALREADY_EXISTS', 'A vault already exists on this machine: a node is restored onto a fresh machine or a fresh data folder, so nothing on this one is overwritten.');
    // Every check first (the file's signature, two guardians opening it, the share against the
    // file's public data): nothing is written before all of them passed.
    const read = this.o.backups.read(path);
    const secrets = await openBackup(read.file, unlocks, this.o.signer());
    try {
      // One transaction: the identity never exists here without its HPKE key and audit entry.
      await this.o.vault.create(passphrase, confirmation, {
        identitySecret: secrets.identitySecret,
        records: [{ ...HPKE_KEY_RECORD, plaintext: secrets.hpkeKeyPair }],
        audit: { type: 'SHARE_RESTORE_IDENTITY', actor: 'operator', subject: read.file.node.nodeId, details: { backupId: read.file.backupId, keysetId: read.file.keyset.keysetId, guardians: unlocks.map((u) => u.guardianId) } },
      });
    } finally {
      wipeSecrets(secrets);
    }
    return { nodeId: read.file.node.nodeId, keysetId: read.file.keyset.keysetId };
  }

  /** Checks that need no secret and no approval: run before the request and again before the restore. */
  private precheck(path: string, keysetId: string): ReadBackup {
    this.o.vault.keyRing();
    const read = this.o.backups.read(path);
    const f = read.file;
    if (f.keyset.keysetId !== keysetId) {
      fail('BACKUP_WRONG_KEYSET', `This backup holds a share of keyset ${f.keyset.keysetId}, not of ${keysetId}. Choose the backup of keyset ${keysetId}; nothing was changed.`, { backupKeyset: f.keyset.keysetId, keysetId });
    }
    const nodeId = this.o.vault.nodeId();
    if (f.node.nodeId !== nodeId) {
      fail('BACKUP_WRONG_NODE', `This backup is of node ${f.node.nodeId.slice(0, 8)}…, and this vault is node ${nodeId.slice(0, 8)}…. Restore it onto a vault created from this backup ("Create a vault from a backup"); nothing was changed.`, { backupNode: f.node.nodeId, nodeId });
    }
    if (this.o.cluster.keyset(keysetId) || this.o.backups.currentEpoch(keysetId) !== null) {
      fail('BACKUP_KEYSET_EXISTS', `This node already holds keyset ${keysetId}. A restore never overwrites a share; restore onto a fresh vault.`, { keysetId });
    }
    this.requireBackupGuardians(f);
    return read;
  }

  /** The guardians approving on this vault must be the backup's own three (by address). */
  private requireBackupGuardians(f: BackupFile): void {
    const here = this.o.guardians.registry().guardians.map((g) => g.address.toLowerCase()).sort();
    const named = f.guardians.map((g) => g.address.toLowerCase()).sort();
    if (here.length !== 3 || here.join() !== named.join()) {
      fail('BACKUP_GUARDIANS_DIFFER', `The guardians enrolled on this vault are not the three this backup names (${f.guardians.map((g) => g.name).join(', ')}). Enrol exactly those guardians with their own keys, then ask them again.`, { backupId: f.backupId });
    }
  }

  async requestRestore(path: string, keysetId: string, reason: string, requester: RequesterProof, ttlMinutes: number): Promise<ApprovalRequestView> {
    const read = this.precheck(path, keysetId);
    return this.o.guardians.createRequest({ operation: 'share.restore', subject: keysetId, parameters: restoreParameters(read), context: { reason }, requester, ttlMinutes });
  }

  /**
   * At start: a restored share whose proof never ended (the console stopped during it) is taken
   * out again, as a failed proof would take it out; its approval was never spent. A keyset
   * restored from a backup is unproven when its last SHARE_RESTORED row (written in the same
   * transaction as the install) is the 'installed, proving' one.
   */
  recoverUnproven(): string[] {
    const restored = this.o.db.prepare(`SELECT keyset_id, session_id FROM mpc_keysets WHERE session_id LIKE 'restore:%'`).all() as Array<{ keyset_id: string; session_id: string }>;
    const lastStage = this.o.db.prepare(`SELECT json_extract(entry, '$.details.stage') AS stage, json_extract(entry, '$.details.requestId') AS requestId FROM audit_log WHERE type = 'SHARE_RESTORED' AND subject = ? ORDER BY seq DESC LIMIT 1`);
    const removed: string[] = [];
    for (const k of restored) {
      const last = lastStage.get(k.keyset_id) as { stage: string | null; requestId: string | null } | undefined;
      if (last?.stage !== 'installed, proving') continue;
      removeRestoredKeyset(this.o.db, k.keyset_id);
      this.o.audit.append({ type: 'SHARE_RESTORE_FAILED', actor: 'system', subject: k.keyset_id, details: { backupId: k.session_id.slice('restore:'.length), code: 'JOB_INTERRUPTED', stage: 'interrupted', requestId: last.requestId, approval: 'unused', reason: 'the console stopped while the restored share was proving itself; it was taken out again' } });
      removed.push(k.keyset_id);
    }
    return removed;
  }

  async restore(path: string, keysetId: string, unlocks: GuardianUnlock[], requestId: string, steps?: BackupSteps): Promise<RestoreOutcome> {
    steps?.phase("Checking the backup file, this vault and the guardians' approval");
    const read = this.precheck(path, keysetId);
    const f = read.file;
    const parameters = restoreParameters(read);
    // Fail fast (single guardian, expired, other file) before the slow key derivation.
    this.o.guardians.checkApproval('share.restore', keysetId, parameters, requestId);
    let secrets: BackupSecrets | null = null;
    try {
      steps?.phase("Opening the backup with two guardians' passphrases and checking the share against the file's public share");
      secrets = await openBackup(f, this.o.backups.resolveUnlocks(f, unlocks), this.o.signer());
      const share = secrets.share;
      steps?.writing('the restore is writing the share and then proves it with the other nodes; if the proof fails it takes the share out again by itself');
      this.o.db.transaction(() => {
        // Checked, not consumed: the approval is spent only by a share that proved itself.
        this.o.guardians.checkApproval('share.restore', keysetId, parameters, requestId);
        installRestoredKeyset(this.o.db, this.o.vault, { keysetId, clusterId: f.keyset.clusterId, scheme: f.keyset.scheme, threshold: f.keyset.threshold, participants: f.keyset.participants, myPartyIndex: f.node.partyIndex, publicKey: f.keyset.publicKey, address: f.keyset.address, source: `restore:${f.backupId}`, shareEpoch: f.share.refreshEpoch ?? 0 }, share, this.now());
        this.o.audit.append({ type: 'SHARE_RESTORED', actor: 'operator', subject: keysetId, details: { backupId: f.backupId, epoch: f.share.epoch, stage: 'installed, proving', requestId } });
      })();
    } catch (error) {
      this.o.audit.append({ type: 'SHARE_RESTORE_FAILED', actor: 'operator', subject: keysetId, details: { backupId: f.backupId, code: error instanceof AppFailure ? error.code : 'INTERNAL', stage: 'checks' } });
      throw error;
    } finally {
      wipeSecrets(secrets);
    }

    // Nothing made before the restore may be used with the restored share.
    const discarded = this.o.cluster.pool.discardAll('share restored from backup');
    let proof: Awaited<ReturnType<ClusterService['keyCheck']>>;
    steps?.phase('Proving the restored share with a key-check signature with the other nodes');
    try {
      proof = await this.o.cluster.keyCheck(keysetId, 'restore-proof');
    } catch (error) {
      removeRestoredKeyset(this.o.db, keysetId);
      const why = error instanceof AppFailure ? error.message : 'the key-check session failed';
      // The other nodes hold a later share epoch: this backup predates a refresh.
      if (error instanceof AppFailure && error.details?.code === 'SHARE_EPOCH_MISMATCH') {
        this.o.audit.append({ type: 'SHARE_RESTORE_FAILED', actor: 'operator', subject: keysetId, details: { backupId: f.backupId, code: 'BACKUP_BEFORE_REFRESH', stage: 'proof', requestId, approval: 'unused' } });
        const when = /since the refresh of ([0-9-]+ [0-9:]+ UTC)/.exec(error.message)?.[1] ?? 'its shares (date not reported)';
        fail('BACKUP_BEFORE_REFRESH', `This backup was made before the refresh of ${when}; it no longer matches the keyset — use a backup made after it. The restored share was taken out again; nothing else was changed.`, { keysetId, backupId: f.backupId, backupEpoch: f.share.refreshEpoch ?? 0 });
      }
      this.o.audit.append({ type: 'SHARE_RESTORE_FAILED', actor: 'operator', subject: keysetId, details: { backupId: f.backupId, code: error instanceof AppFailure ? error.code : 'INTERNAL', stage: 'proof', requestId, approval: 'unused' } });
      fail('BACKUP_RESTORE_PROOF_FAILED', `The restored share did not produce a key-check signature with the other nodes, so it was taken out again (${why}). If the keyset was refreshed after this backup was made, the backup is dead: restore from a backup made after the refresh. Otherwise check that the peers are enrolled and online, then retry: the guardians' approval was not used and still holds until it expires.`, { keysetId, backupId: f.backupId, requestId });
    }
    try {
      this.o.db.transaction(() => {
        const { approvers } = this.o.guardians.requireApproval('share.restore', keysetId, parameters, requestId);
        this.o.audit.append({ type: 'SHARE_RESTORED', actor: 'operator', subject: keysetId, details: { backupId: f.backupId, epoch: f.share.epoch, stage: 'proved', proofSession: proof.sessionId, parties: proof.parties, requestId, approvers } });
      })();
    } catch (error) {
      // The approval expired or was used during the proof: the share does not stay without it.
      removeRestoredKeyset(this.o.db, keysetId);
      this.o.audit.append({ type: 'SHARE_RESTORE_FAILED', actor: 'operator', subject: keysetId, details: { backupId: f.backupId, code: error instanceof AppFailure ? error.code : 'INTERNAL', stage: 'approval' } });
      throw error;
    }
    return { keysetId, address: f.keyset.address, epoch: f.share.epoch, proofSessionId: proof.sessionId, proofParties: proof.parties, presignaturesDiscarded: discarded };
  }
}
