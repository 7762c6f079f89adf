/**
 * Writing a share backup and restoring a share from one, as jobs. Either can be cancelled (or
 * ended by locking the vault) until its first write; from then on it is not: a restore writes the
 * share and proves it with the other nodes, and takes it out again by itself if the proof fails.
 */
import { keysetJobGroup } from '../../preload/channels/jobs';
import type { GuardianUnlock } from '../backup/backup-key';
import type { BackupService } from '../backup/backup-service';
import type { BackupSteps } from '../backup/backup-steps';
import type { ShareRestore } from '../backup/restore';
import { fail } from '../errors';
import type { JobControl, JobSpec } from './job-service';

/** Steps that report to the job, and refuse to start writing once a stop was asked for. */
function stepsFor(control: JobControl, stop: { reason: string | null }, activity: string): BackupSteps {
  return {
    phase: (words) => control.progress(words),
    writing: (why) => {
      if (stop.reason) fail('JOB_CANCELLED', `The ${activity} stopped before writing anything: ${stop.reason}.`);
      control.cannotCancel(why);
    },
  };
}

export function backupJob(backups: BackupService, keysetId: string, folder: string, guardianPassphrases: GuardianUnlock[]): JobSpec {
  const stop = { reason: null as string | null };
  return {
    kind: 'backup',
    label: `Backup of this node's share of ${keysetId}`,
    activity: 'share backup',
    // A backup taken while the keyset's shares change (refresh, repair, restore) would be dead at once.
    group: keysetJobGroup(keysetId),
    run: async (control) => {
      const made = await backups.create(keysetId, folder, guardianPassphrases, stepsFor(control, stop, 'share backup'));
      return { summary: `Backup written to ${made.filePath} (share epoch ${made.epoch.slice(0, 12)}…); verify it, then store the medium away from this machine`, keysetId };
    },
    cancel: (reason) => {
      stop.reason = reason;
    },
  };
}

export function restoreJob(restore: ShareRestore, file: string, keysetId: string, unlocks: GuardianUnlock[], requestId: string): JobSpec {
  const stop = { reason: null as string | null };
  return {
    kind: 'restore',
    label: `Restore of this node's share of ${keysetId} from a backup`,
    activity: 'share restore',
    group: keysetJobGroup(keysetId),
    run: async (control) => {
      const out = await restore.restore(file, keysetId, unlocks, requestId, stepsFor(control, stop, 'share restore'));
      return { summary: `Restored keyset ${out.keysetId} (${out.address}); the key check signed with ${out.proofParties.length} nodes; ${out.presignaturesDiscarded} presignatures discarded`, keysetId };
    },
    cancel: (reason) => {
      stop.reason = reason;
    },
  };
}
