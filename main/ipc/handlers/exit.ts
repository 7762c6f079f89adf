import { EXIT_WARNING_BEFORE } from '../../exit/emergency-exit';
import { EXIT_LIMIT } from '../../exit/exit-record';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Emergency exit: every request needs the unlocked vault (the services check it). */
export function exitHandlers({ vault, exit, clock }: Services): HandlersFor<'exit.'> {
  return {
    'exit.overview': () => {
      vault.keyRing();
      const exports = exit.records.exports().map(({ exportId, keysetId, address, fileName, exportedAt }) => ({ exportId, keysetId, address, fileName, exportedAt }));
      return { exports, attemptsLeft: Math.max(0, EXIT_LIMIT - exit.records.attemptsSince(clock.now()).count), warning: EXIT_WARNING_BEFORE };
    },
    'exit.check': (request) => exit.check(request.keysetId, request.files),
    'exit.request': (request) => exit.requestExit(request.keysetId, request.files, request.reason, request.requester, request.ttlMinutes),
    'exit.export': (request) => exit.exportKey({ keysetId: request.keysetId, backups: request.backups, passphrase: request.passphrase, confirmation: request.confirmation, folder: request.folder, requestId: request.requestId }),
  };
}
