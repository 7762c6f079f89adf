/**
 * Seed 002's rules for showing secret words again: a fresh vault-passphrase confirmation,
 * valid 2 minutes and usable once, at most 3 reveals in any hour, every reveal audited without
 * the words, and the screen clears them after 60 seconds.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RevealConfirmation } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import type { Clock } from '../platform/clock';
import { describeDuration } from '../platform/duration';
import type { Db } from '../store/database';

export const CONFIRMATION_TTL_MS = 2 * 60_000;
export const MAX_REVEALS_PER_HOUR = 3;
export const WORDS_CLEAR_AFTER_SECONDS = 60;
const HOUR_MS = 60 * 60_000;

interface Confirmation {
  token: Buffer;
  expiresAt: number;
  usedAt: number | null;
}

export interface RevealRulesOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  /** Checks the vault passphrase (under the unlock throttle); throws when it is wrong. */
  confirmPassphrase(passphrase: string): Promise<void>;
}

export class RevealRules {
  private readonly confirmations: Confirmation[] = [];

  constructor(private readonly options: RevealRulesOptions) {}

  async confirm(passphrase: string): Promise<RevealConfirmation> {
    await this.options.confirmPassphrase(passphrase);
    const now = this.options.clock.now();
    // Expired confirmations are forgotten; used ones stay until expiry so a replay is named as such.
    for (let i = this.confirmations.length - 1; i >= 0; i -= 1) if (this.confirmations[i]!.expiresAt < now) this.confirmations.splice(i, 1);
    const token = randomBytes(32);
    this.confirmations.push({ token, expiresAt: now + CONFIRMATION_TTL_MS, usedAt: null });
    return { token: token.toString('hex'), expiresAt: new Date(now + CONFIRMATION_TTL_MS).toISOString() };
  }

  revealsInLastHour(): { count: number; oldest: number | null } {
    const since = this.options.clock.now() - HOUR_MS;
    const row = this.options.db.prepare('SELECT count(*) AS n, min(revealed_at) AS oldest FROM ceremony_reveals WHERE revealed_at > ?').get(since) as { n: number; oldest: number | null };
    return { count: row.n, oldest: row.oldest };
  }

  /**
   * Consumes a confirmation and records the reveal (count and audit) in one transaction, before
   * the caller shows anything. Returns how many reveals are left this hour.
   */
  consume(tokenHex: string, ceremonyId: string, purpose: string): number {
    const now = this.options.clock.now();
    const given = Buffer.from(tokenHex, 'hex');
    const found = this.confirmations.find((c) => c.token.length === given.length && timingSafeEqual(c.token, given));
    const refuse = (code: 'REVEAL_CONFIRMATION_INVALID' | 'REVEAL_CONFIRMATION_EXPIRED' | 'REVEAL_CONFIRMATION_USED' | 'REVEAL_RATE_LIMITED', message: string, details?: Record<string, string | number>): never => {
      this.options.db.transaction(() => {
        this.options.audit.append({ type: 'CEREMONY_REVEAL_REFUSED', actor: 'operator', subject: ceremonyId, details: { code, purpose } });
      })();
      return fail(code, message, details);
    };
    if (!found) refuse('REVEAL_CONFIRMATION_INVALID', 'Confirm the vault passphrase first: showing secret words needs a fresh confirmation.');
    if (found!.usedAt !== null) refuse('REVEAL_CONFIRMATION_USED', 'This confirmation was already used for a reveal. Each reveal needs its own passphrase confirmation.');
    if (now > found!.expiresAt) {
      refuse('REVEAL_CONFIRMATION_EXPIRED', `The passphrase confirmation expired ${describeDuration(now - found!.expiresAt)} ago (it is valid for 2 minutes). Confirm the passphrase again.`);
    }
    const { count, oldest } = this.revealsInLastHour();
    if (count >= MAX_REVEALS_PER_HOUR) {
      const wait = (oldest ?? now) + HOUR_MS - now;
      refuse('REVEAL_RATE_LIMITED', `Words were already shown ${count} times in the last hour (the limit is ${MAX_REVEALS_PER_HOUR}). The next reveal is possible in ${describeDuration(wait)}.`, { retryInMs: wait });
    }
    found!.usedAt = now;
    this.options.db.transaction(() => {
      this.options.db.prepare('INSERT INTO ceremony_reveals (ceremony_id, purpose, revealed_at) VALUES (?, ?, ?)').run(ceremonyId, purpose, now);
      this.options.audit.append({ type: 'CEREMONY_WORDS_REVEALED', actor: 'operator', subject: ceremonyId, details: { purpose, revealNumberThisHour: count + 1, limit: MAX_REVEALS_PER_HOUR } });
    })();
    return MAX_REVEALS_PER_HOUR - count - 1;
  }
}
