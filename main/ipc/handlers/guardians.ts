import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function guardianHandlers({ guardians, vault }: Services): HandlersFor<'guardians.'> & HandlersFor<'approvals.'> {
  return {
    'guardians.list': () => guardians.registry(),
    'guardians.createSoftwareKey': (request) => guardians.createSoftwareKey(request.passphrase, request.confirmation, request.targetFolder),
    'guardians.enrol': (request) => guardians.enrol(request),
    'guardians.requestReplacement': (request) => guardians.requestReplacement(request.guardianId, request.replacement, request.requester, request.ttlMinutes),
    'guardians.executeReplacement': (request) => guardians.executeReplacement(request.requestId),
    'guardians.exportRegistryFile': () => guardians.exportRegistryFile(),
    'approvals.list': () => guardians.listRequests(),
    'approvals.requestPassphraseChange': (request) => {
      vault.keyRing();
      return guardians.createRequest({
        operation: 'vault.passphrase.change',
        subject: guardians.currentVaultId(),
        parameters: vault.passphraseChangeParameters(),
        context: { reason: request.reason },
        requester: request.requester,
        ttlMinutes: request.ttlMinutes,
      });
    },
    'approvals.signWithLedger': (request) => guardians.signWithLedger(request.requestId, request.guardianId, request.decision, request.shownMessageHash),
    'approvals.signWithKeyFile': (request) => guardians.signWithKeyFile(request.requestId, request.keyFile, request.passphrase, request.decision),
    'approvals.exportRequest': (request) => guardians.exportRequest(request.requestId),
    'approvals.importApproval': (request) => guardians.importApproval(request.fileText),
    'approvals.exportRequesterFile': (request) => guardians.exportRequesterFile(request.requestId),
    'approvals.importRequesterSignature': (request) => guardians.importRequesterSignature(request.fileText),
    'approvals.executePassphraseChange': (request) => vault.changePassphrase(request.requestId, request.currentPassphrase, request.newPassphrase, request.confirmation),
  };
}
