import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Key checks: every request needs the unlocked vault (the services check it). */
export function keyCheckHandlers({ drills }: Services): HandlersFor<'keyChecks.'> {
  const k = drills.keyChecks;
  return {
    'keyChecks.overview': () => k.overview(),
    'keyChecks.checkShare': (request) => k.checkShare(request.keysetId),
    'keyChecks.checkBackup': (request) => k.checkBackup(request.backupId),
    'keyChecks.guardianChallenge': (request) => k.guardianChallenge(request.guardianId),
    'keyChecks.guardianSign': (request) => k.guardianSign(request.challengeId, request.signer),
    'keyChecks.guardianAnswer': (request) => k.guardianAnswer(request.challengeId, request.signature),
  };
}
