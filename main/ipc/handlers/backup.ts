import { backupJob, restoreJob } from '../../jobs/backup-jobs';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Share backups: every request needs the unlocked vault except making a vault from a backup. */
export function backupHandlers({ vault, backup, jobs }: Services): HandlersFor<'backup.'> {
  return {
    'backup.overview': () => {
      vault.keyRing();
      return backup.backups.overview();
    },
    'backup.inspect': (request) => backup.backups.inspect(request.file),
    'backup.createVaultFromBackup': (request) => backup.restore.createVaultFromBackup(request.file, request.guardians, request.passphrase, request.confirmation),
    'backup.create': (request) => jobs.start(backupJob(backup.backups, request.keysetId, request.folder, request.guardianPassphrases)),
    'backup.verify': (request) => backup.backups.verify(request.file),
    'backup.verifyFull': (request) => backup.backups.verifyFull(request.file, request.guardians),
    'backup.requestRestore': (request) => backup.restore.requestRestore(request.file, request.keysetId, request.reason, request.requester, request.ttlMinutes),
    'backup.restore': (request) => jobs.start(restoreJob(backup.restore, request.file, request.keysetId, request.guardians, request.requestId)),
  };
}
