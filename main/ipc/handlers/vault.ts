import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function vaultHandlers({ vault }: Services): HandlersFor<'vault.'> {
  return {
    'vault.status': () => vault.status(),
    'vault.create': (request) => vault.create(request.passphrase, request.confirmation),
    'vault.unlock': (request) => vault.unlock(request.passphrase),
    // Running jobs end on the lock itself (failed, "vault locked during …"), their peers told.
    'vault.lock': () => vault.lock('operator'),
    // The one request that counts as operator presence: the renderer sends it on input only.
    'vault.heartbeat': () => {
      vault.touch();
      return vault.status();
    },
  };
}
