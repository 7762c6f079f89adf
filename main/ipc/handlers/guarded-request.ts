import type { RequesterProof } from '../../guardians/guardian-service';
import type { GuardedOperationKind } from '../../guardians/guarded-operations';
import type { Services } from '../../services';

/** What every "ask the guardians" request from the screens carries. */
interface GuardedAsk {
  reason: string;
  requester: RequesterProof;
  ttlMinutes: number;
}

/**
 * Opens a guardian request for a guarded change, with the requester's proof and the reason the
 * guardians read. The change itself runs later, through the guard, on exactly these parameters.
 */
export function guardedRequest({ guardians, vault }: Pick<Services, 'guardians' | 'vault'>, operation: GuardedOperationKind, subject: string, parameters: () => Record<string, unknown>, ask: GuardedAsk) {
  // Locked first: the parameters are built from vault state only once it is open.
  vault.keyRing();
  return guardians.createRequest({ operation, subject, parameters: parameters(), context: { reason: ask.reason }, requester: ask.requester, ttlMinutes: ask.ttlMinutes });
}
