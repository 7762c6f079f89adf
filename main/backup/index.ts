/** Builds the backup domain: share backups, verification and guarded restore. */
import type { AuditLog } from '../audit/audit-log';
import type { ClusterService } from '../cluster/cluster-service';
import type { GuardianService } from '../guardians/guardian-service';
import { INTERACTIVE_SCRYPT } from '../crypto/kdf';
import { MpcSigner } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { BackupService } from './backup-service';
import { ShareRestore } from './restore';

export interface BackupDomain {
  backups: BackupService;
  restore: ShareRestore;
}

export function createBackupDomain(deps: { db: Db; audit: AuditLog; clock: Clock; vault: VaultService; guardians: GuardianService; cluster: ClusterService; signer?: MpcSigner; partScrypt?: { N: number; r: number; p: number } }): BackupDomain {
  let signer = deps.signer ?? null;
  // The addon loads on first use, as the cluster's does.
  const lazySigner = () => (signer ??= new MpcSigner());
  const backups = new BackupService({ ...deps, signer: lazySigner, partScrypt: deps.partScrypt ?? INTERACTIVE_SCRYPT });
  const restore = new ShareRestore({ ...deps, backups, signer: lazySigner });
  return { backups, restore };
}
