/** What every part of the cluster service shares: the store, the vault, the audit log and the clock. */
import type { AuditLog } from '../audit/audit-log';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';

export interface ClusterDeps {
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
}

export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
