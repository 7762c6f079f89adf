/** A console with three guardians and helpers that make two of them approve a request. */
import type { ApprovalRequestView } from '../../preload/contract';
import { enrolThree, guardianFixture, type GuardianFixture } from './guardians';
import { GOOD_PASSPHRASE } from './services';

export type CeremonyFixture = GuardianFixture & Awaited<ReturnType<typeof enrolThree>> & { approve(request: ApprovalRequestView | string): Promise<void> };

export async function ceremonyFixture(): Promise<CeremonyFixture> {
  const f = await guardianFixture();
  const three = await enrolThree(f);
  const approve = async (request: ApprovalRequestView | string) => {
    const id = typeof request === 'string' ? request : request.id;
    await f.services.guardians.signWithKeyFile(id, three.sam.keyFile, three.sam.passphrase, 'approve');
    await f.services.guardians.signWithKeyFile(id, three.sofia.keyFile, three.sofia.passphrase, 'approve');
  };
  return Object.assign(f, three, { approve });
}

/** The whole console-generated ceremony, from the guarded start to the certificate. */
export async function runConsoleCeremony(f: CeremonyFixture, label = 'Vault master seed 2026') {
  const { ceremonies } = f.services.ceremony;
  const request = await ceremonies.requestStart({ mode: 'console', label, userWallets: 2, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
  await f.approve(request);
  const started = await ceremonies.start(request.id);
  const words = started.words!;
  const id = started.ceremony.id;
  const challenge = ceremonies.transcriptionChallenge(id);
  ceremonies.checkTranscription(id, Object.fromEntries(challenge.checkPositions.map((p) => [String(p), words[p - 1]!])));
  const { sheets } = await ceremonies.issueShares(id);
  f.device.useMnemonic(words.join(' '));
  await ceremonies.verifyLedger(id);
  f.device.app = 'solana';
  await ceremonies.ledgerSolana(id);
  f.device.app = 'ethereum';
  const finished = ceremonies.finish(id, 60);
  await f.approve(finished.certifyRequestId!);
  const certified = ceremonies.certify(id);
  return { id, words, sheets, certified };
}
