/** Builds the drills domain: key checks and their schedule, runbooks run as drills, drill history. */
import type { AuditLog } from '../audit/audit-log';
import type { BackupDomain } from '../backup';
import type { ClusterService } from '../cluster/cluster-service';
import type { LabCluster } from '../cluster/lab';
import type { GuardianService } from '../guardians/guardian-service';
import type { Clock } from '../platform/clock';
import type { RefreshService } from '../refresh/refresh-service';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { DrillHistory } from './drill-history';
import { DrillRunner } from './drill-runner';
import { KeyCheckSchedule } from './key-check-schedule';
import { KeyCheckService } from './key-checks';
import { DrillSettingsStore } from './settings';

export interface DrillsDomain {
  settings: DrillSettingsStore;
  keyChecks: KeyCheckService;
  /** Share and backup checks that run by themselves when due. */
  schedule: KeyCheckSchedule;
  runner: DrillRunner;
  history: DrillHistory;
}

export function createDrillsDomain(d: { db: Db; audit: AuditLog; clock: Clock; vault: VaultService; cluster: ClusterService; lab: LabCluster; guardians: GuardianService; backup: BackupDomain; refresh: RefreshService; scheduleTickMs?: number }): DrillsDomain {
  const settings = new DrillSettingsStore(d);
  const keyChecks = new KeyCheckService({ ...d, backups: d.backup.backups, settings });
  const schedule = new KeyCheckSchedule({ keyChecks, cluster: d.cluster, vault: d.vault });
  schedule.start(d.scheduleTickMs);
  const runner = new DrillRunner({ ...d, keyChecks });
  const history = new DrillHistory({ db: d.db, clock: d.clock, settings, runbooks: runner.runbooks });
  return { settings, keyChecks, schedule, runner, history };
}
