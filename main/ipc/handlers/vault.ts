import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function vaultHandlers({ vault, jobs }: Services): HandlersFor<'vault.'> {
  return {
    'vault.status': () => vault.status(),
    'vault.create': (request) => vault.create(request.passphrase, request.confirmation),
    'vault.unlock': (request) => vault.unlock(request.passphrase),
    // Running jobs end first (failed, "vault locked during …") and their peers are told.
    'vault.lock': async () => {
      await jobs.cancelForLock();
      return vault.lock('operator');
    },
    // The one request that counts as operator presence: the renderer sends it on input only.
    'vault.heartbeat': () => {
      vault.touch();
      return vault.status();
    },
  };
}
