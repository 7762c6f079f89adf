import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function ceremonyHandlers({ ceremony, vault }: Services): HandlersFor<'ceremony.'> {
  const { ceremonies, recovery, cold, reveal, certificates } = ceremony;
  const unlocked = () => vault.keyRing();
  return {
    'ceremony.list': () => (unlocked(), ceremonies.list()),
    'ceremony.requestStart': (r) => ceremonies.requestStart(r),
    'ceremony.start': (r) => ceremonies.start(r.requestId),
    'ceremony.showWords': (r) => (unlocked(), ceremonies.showWords(r.ceremonyId, r.revealToken)),
    'ceremony.transcriptionChallenge': (r) => (unlocked(), ceremonies.transcriptionChallenge(r.ceremonyId)),
    'ceremony.checkTranscription': (r) => (unlocked(), ceremonies.checkTranscription(r.ceremonyId, r.answers)),
    'ceremony.issueShares': (r) => (unlocked(), ceremonies.issueShares(r.ceremonyId)),
    'ceremony.verifyLedger': (r) => (unlocked(), ceremonies.verifyLedger(r.ceremonyId)),
    'ceremony.showOnDevice': (r) => (unlocked(), ceremonies.showOnDevice(r.ceremonyId, r.index, r.chain)),
    'ceremony.ledgerSolana': (r) => (unlocked(), ceremonies.ledgerSolana(r.ceremonyId)),
    'ceremony.finish': (r) => ceremonies.finish(r.ceremonyId, r.ttlMinutes),
    'ceremony.certify': (r) => ceremonies.certify(r.ceremonyId),
    'ceremony.certificate': (r) => ceremonies.certificate(r.ceremonyId),
    'ceremony.saveCertificatePdf': (r) => (unlocked(), certificates.savePdf(r.ceremonyId)),
    'ceremony.abort': (r) => (unlocked(), ceremonies.abort(r.ceremonyId)),
    'ceremony.confirmReveal': (r) => reveal.confirm(r.passphrase),
    'ceremony.recoveryStart': (r) => recovery.start(r.ceremonyId, r.mode),
    'ceremony.recoveryShare': (r) => (unlocked(), recovery.submitShare(r.recoveryId, r.words)),
    'ceremony.recoveryReset': (r) => (unlocked(), recovery.reset(r.recoveryId)),
    'ceremony.recoveryVerifyLedger': (r) => (unlocked(), recovery.verifyLedger(r.recoveryId, r.app)),
    'ceremony.recoveryReveal': (r) => (unlocked(), recovery.reveal(r.recoveryId, r.revealToken)),
    'ceremony.recoveryClose': (r) => recovery.close(r.recoveryId),
    'ceremony.coldRequest': (r) => cold.request(r),
    'ceremony.coldPreview': (r) => (unlocked(), cold.preview(r.requestId)),
    'ceremony.coldSign': (r) => cold.sign(r.requestId),
  };
}
