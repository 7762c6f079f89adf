/**
 * A guardian proves possession of their key by signing a fresh challenge (EIP-712, the console's
 * approval domain, its own primary type so it can never be mistaken for an approval). A challenge
 * is issued to one guardian's registered address, lives 15 minutes and is answered once; an answer
 * that is not that key's signature over that exact challenge is refused and proves nothing about
 * the guardian (it is not recorded against them).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { getAddress, hexlify, type TypedDataField } from 'ethers';
import type { GuardianChallengeView } from '../../preload/channels/keychecks';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import { APPROVAL_DOMAIN, recoverSigner } from '../guardians/typed-data';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';

export const CHALLENGE_TTL_MS = 15 * 60 * 1000;

export const GUARDIAN_KEY_CHECK_TYPES: Record<string, TypedDataField[]> = {
  GuardianKeyCheck: [
    { name: 'vaultId', type: 'string' },
    { name: 'guardian', type: 'address' },
    { name: 'challenge', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
  ],
};

export interface GuardianKeyCheckMessage {
  vaultId: string;
  guardian: string;
  challenge: string;
  /** Unix seconds. */
  expiry: number;
}

interface ChallengeRow {
  challenge_id: string;
  guardian_id: string;
  guardian_address: string;
  challenge: string;
  issued_at: number;
  expires_at: number;
  answered_at: number | null;
}

const minutesWords = (ms: number) => `${Math.max(1, Math.round(ms / 60_000))} min`;

export class GuardianChallenges {
  constructor(private readonly o: { db: Db; audit: AuditLog; clock: Clock; vaultId: () => string }) {}

  issue(guardian: { id: string; name: string; address: string }): GuardianChallengeView {
    const now = this.o.clock.now();
    const challengeId = randomUUID();
    const challenge = hexlify(randomBytes(32));
    const expiresAt = now + CHALLENGE_TTL_MS;
    this.o.db.transaction(() => {
      this.o.db.prepare('INSERT INTO guardian_key_challenges (challenge_id, guardian_id, guardian_address, challenge, issued_at, expires_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, NULL)').run(challengeId, guardian.id, getAddress(guardian.address), challenge, now, expiresAt);
      this.o.audit.append({ type: 'GUARDIAN_CHALLENGE_ISSUED', actor: 'operator', subject: guardian.id, details: { challengeId, guardian: guardian.name, expiresAt: new Date(expiresAt).toISOString() } });
    })();
    return this.view(this.row(challengeId), guardian.name);
  }

  private row(challengeId: string): ChallengeRow {
    const row = this.o.db.prepare('SELECT * FROM guardian_key_challenges WHERE challenge_id = ?').get(challengeId) as ChallengeRow | undefined;
    if (!row) fail('GUARDIAN_CHALLENGE_NOT_FOUND', 'There is no such key-check challenge on this console. Start the guardian key check again.', { challengeId });
    return row;
  }

  message(row: ChallengeRow): GuardianKeyCheckMessage {
    return { vaultId: this.o.vaultId(), guardian: row.guardian_address, challenge: row.challenge, expiry: Math.floor(row.expires_at / 1000) };
  }

  view(row: ChallengeRow, guardianName: string): GuardianChallengeView {
    return {
      challengeId: row.challenge_id,
      guardianId: row.guardian_id,
      guardianName,
      guardianAddress: row.guardian_address,
      expiresAt: new Date(row.expires_at).toISOString(),
      typedData: {
        domain: { ...APPROVAL_DOMAIN },
        types: { EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }], ...GUARDIAN_KEY_CHECK_TYPES },
        primaryType: 'GuardianKeyCheck',
        message: { ...this.message(row) },
      },
    };
  }

  /** The open challenge (exists, unanswered, not expired) with the message its signature must cover. */
  open(challengeId: string): { row: ChallengeRow; message: GuardianKeyCheckMessage } {
    const row = this.row(challengeId);
    if (row.answered_at !== null) fail('GUARDIAN_CHALLENGE_USED', `This challenge was already answered at ${new Date(row.answered_at).toISOString().slice(0, 16).replace('T', ' ')} UTC; a challenge counts once. Start a new guardian key check.`, { challengeId });
    const now = this.o.clock.now();
    if (now >= row.expires_at) fail('GUARDIAN_CHALLENGE_EXPIRED', `This challenge expired ${minutesWords(now - row.expires_at)} ago. Start a new guardian key check and sign it within 15 minutes.`, { challengeId });
    return { row, message: this.message(row) };
  }

  /**
   * Accepts `signature` only from the guardian's registered address over the open challenge. A
   * bad answer is audited as refused; the challenge stays open until it expires.
   */
  verify(challengeId: string, signature: string, registeredAddress: string): ChallengeRow {
    const { row, message } = this.open(challengeId);
    const signer = recoverSigner(GUARDIAN_KEY_CHECK_TYPES, message, signature);
    if (!signer || signer !== getAddress(registeredAddress) || signer !== getAddress(row.guardian_address)) {
      this.o.audit.append({ type: 'GUARDIAN_CHALLENGE_REFUSED', actor: 'system', subject: row.guardian_id, details: { challengeId, reason: signer ? 'signed by another key' : 'not a valid signature' } });
      fail('GUARDIAN_CHALLENGE_BAD_SIGNATURE', signer
        ? `The answer was signed by ${signer}, not by this guardian's registered key ${getAddress(registeredAddress)}, or over another challenge. It proves nothing; sign this challenge with the guardian's own key.`
        : 'The answer is not a valid signature over this challenge. It proves nothing; sign this challenge with the guardian\'s own key.', { challengeId });
    }
    return row;
  }

  /** Marks the challenge answered (in the caller's transaction, with the check's result). */
  consume(challengeId: string): void {
    const used = this.o.db.prepare('UPDATE guardian_key_challenges SET answered_at = ? WHERE challenge_id = ? AND answered_at IS NULL').run(this.o.clock.now(), challengeId).changes;
    if (used !== 1) fail('GUARDIAN_CHALLENGE_USED', 'This challenge was answered meanwhile; a challenge counts once.', { challengeId });
  }
}
