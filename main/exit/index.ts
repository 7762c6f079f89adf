/** Builds the emergency-exit domain on top of the backup domain (it reads the same backup files). */
import type { AuditLog } from '../audit/audit-log';
import type { BackupDomain } from '../backup';
import type { ClusterService } from '../cluster/cluster-service';
import type { GuardianService } from '../guardians/guardian-service';
import { MpcSigner } from '../mpc/index';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { EmergencyExit } from './emergency-exit';
import type { KeystoreScrypt } from './keystore';

export function createExitDomain(deps: { db: Db; audit: AuditLog; clock: Clock; vault: VaultService; guardians: GuardianService; cluster: ClusterService; backup: BackupDomain; signer?: MpcSigner; keystoreScrypt?: KeystoreScrypt }): EmergencyExit {
  let signer = deps.signer ?? null;
  const lazySigner = () => (signer ??= new MpcSigner());
  return new EmergencyExit({ ...deps, backups: deps.backup.backups, signer: lazySigner });
}
