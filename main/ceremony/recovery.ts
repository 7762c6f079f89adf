/**
 * The recovery ceremony (HashiCorp Vault's unseal, for the master seed): guardians enter their
 * shares one at a time, with progress and a reset. Each share is checked on entry (word
 * checksum, then its fingerprint against the shares this ceremony issued); at two shares the
 * entropy is rebuilt and proven against the recorded seed fingerprint and addresses before
 * anything else. Verify-only mode wipes it at once (drills); recover mode keeps it in memory for
 * a limited time to verify or load a replacement Ledger or to show the words under the reveal rules.
 */
import { randomUUID } from 'node:crypto';
import type { LedgerCheckView, RecoveryMode, RecoveryState, RecoveryView, RevealedWords } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail, isAppFailure } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { CeremonyRecords } from './ceremony-records';
import { derivePublicMaterial } from './derivation-plan';
import { compareSolanaWithDevice, isSolanaCheck } from './ledger-solana';
import { compareWithDevice, refuseMismatch } from './ledger-verification';
import { WORDS_CLEAR_AFTER_SECONDS, type RevealRules } from './reveal-rules';
import { entropyToSeed, entropyToWords, wipe } from './seed';
import { isUrText, shareFromUr } from '../qr/share-ur';
import { recoverEntropy, SHARE_BYTES, shareFingerprint, shareIndex, SHARE_THRESHOLD, wordsToShare } from './shamir-backup';

export const RECOVERY_TTL_MS = 15 * 60_000;

interface RecoverySession {
  id: string;
  ceremonyId: string;
  mode: RecoveryMode;
  state: RecoveryState;
  shares: Uint8Array[];
  entropy: Buffer | null;
  ledgerChecks: LedgerCheckView[];
  expiresAt: number;
}

export interface RecoveryOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  ledger: LedgerDevice;
  reveal: RevealRules;
  records: CeremonyRecords;
}

export class RecoveryCeremonies {
  private readonly sessions = new Map<string, RecoverySession>();

  constructor(private readonly options: RecoveryOptions) {}

  private audit(type: string, subject: string, details: Record<string, unknown>): void {
    this.options.db.transaction(() => this.options.audit.append({ type, actor: 'operator', subject, details }))();
  }

  private toView(s: RecoverySession): RecoveryView {
    return {
      id: s.id,
      ceremonyId: s.ceremonyId,
      mode: s.mode,
      state: s.state,
      received: s.shares.length,
      required: SHARE_THRESHOLD,
      receivedIndices: s.shares.map(shareIndex),
      ledgerChecks: s.ledgerChecks,
      expiresAt: new Date(s.expiresAt).toISOString(),
    };
  }

  private session(id: string): RecoverySession {
    const s = this.sessions.get(id);
    if (!s) fail('RECOVERY_NOT_FOUND', 'This recovery is not open (it was closed, timed out, or the console was locked). Start a new recovery.');
    if (this.options.clock.now() > s.expiresAt) {
      this.close(id);
      fail('RECOVERY_EXPIRED', 'This recovery was open longer than 15 minutes and was closed; the entered shares were wiped. Start again.');
    }
    return s;
  }

  start(ceremonyId: string, mode: RecoveryMode): RecoveryView {
    const record = this.options.records.sealed(ceremonyId);
    if (record.row.mode !== 'console' || !record.row.seed_fingerprint) {
      fail('CEREMONY_STEP_OUT_OF_ORDER', 'This seed was generated on a Ledger and never left it: there are no guardian shares to recover it from.');
    }
    const s: RecoverySession = { id: randomUUID(), ceremonyId, mode, state: 'collecting', shares: [], entropy: null, ledgerChecks: [], expiresAt: this.options.clock.now() + RECOVERY_TTL_MS };
    this.sessions.set(s.id, s);
    this.audit('RECOVERY_STARTED', ceremonyId, { recoveryId: s.id, mode });
    return this.toView(s);
  }

  private refuse(s: RecoverySession, error: unknown): never {
    if (isAppFailure(error)) this.audit('RECOVERY_REFUSED', s.ceremonyId, { recoveryId: s.id, code: error.code, received: s.shares.length });
    throw error;
  }

  async submitShare(id: string, words: string): Promise<RecoveryView> {
    const s = this.session(id);
    if (s.state !== 'collecting') fail('CEREMONY_STEP_OUT_OF_ORDER', 'This recovery already has its shares. Close it, or start a new one.');
    const record = this.options.records.sealed(s.ceremonyId);
    let share: Uint8Array;
    try {
      // A scanned share UR gives the bytes directly; typed or scanned words go through their checksum.
      share = isUrText(words) ? shareFromUr(words, SHARE_BYTES) : wordsToShare(words);
    } catch (error) {
      return this.refuse(s, error);
    }
    const fingerprint = shareFingerprint(share);
    const known = record.shareFingerprints.find((f) => f.fingerprint === fingerprint);
    if (!known) {
      wipe(share);
      this.refuse(s, new AppFailure('SHARE_UNKNOWN', 'This is not one of the shares issued at this ceremony (its fingerprint is not on record). It may belong to another ceremony, or a word was misread. Nothing was revealed; the shares entered so far are kept.', { received: s.shares.length }));
    }
    if (s.shares.some((x) => shareIndex(x) === shareIndex(share))) {
      wipe(share);
      this.refuse(s, new AppFailure('SHARE_DUPLICATE', `Share ${known.index} (${known.guardianName}) was already entered. The next guardian enters their own share.`, { received: s.shares.length }));
    }
    s.shares.push(share);
    this.audit('RECOVERY_SHARE_ACCEPTED', s.ceremonyId, { recoveryId: s.id, shareIndex: known.index, guardian: known.guardianName, received: s.shares.length, required: SHARE_THRESHOLD });
    if (s.shares.length >= SHARE_THRESHOLD) await this.rebuild(s, record.row.seed_fingerprint!, record.material!, record.plan);
    return this.toView(s);
  }

  private async rebuild(s: RecoverySession, fingerprint: string, material: ReturnType<CeremonyRecords['sealed']>['material'], plan: ReturnType<CeremonyRecords['sealed']>['plan']): Promise<void> {
    let entropy: Buffer | null = null;
    try {
      entropy = await recoverEntropy(s.shares, fingerprint);
      // Second proof, independent of the fingerprint: the rebuilt seed derives the recorded addresses.
      const seed = entropyToSeed(entropy);
      const derived = derivePublicMaterial(seed, plan);
      wipe(seed);
      if (derived.evmAccountXpub !== material.evmAccountXpub || derived.addresses.some((a, i) => a.address !== material.addresses[i]?.address)) {
        fail('SEED_FINGERPRINT_MISMATCH', 'The rebuilt seed does not derive the recorded addresses. Nothing was revealed; compare the certificate with this console\'s records.');
      }
    } catch (error) {
      wipe(entropy, ...s.shares);
      s.shares = [];
      this.refuse(s, error);
    }
    wipe(...s.shares);
    s.shares = [];
    if (s.mode === 'verify') {
      wipe(entropy);
      s.state = 'verified';
      this.audit('RECOVERY_VERIFIED', s.ceremonyId, { recoveryId: s.id, result: 'two shares rebuild the recorded seed fingerprint' });
    } else {
      s.entropy = entropy;
      s.state = 'recovered';
      this.audit('RECOVERY_COMPLETED', s.ceremonyId, { recoveryId: s.id, result: 'seed rebuilt and proven; held in memory' });
    }
  }

  reset(id: string): RecoveryView {
    const s = this.session(id);
    if (s.state !== 'collecting') fail('CEREMONY_STEP_OUT_OF_ORDER', 'This recovery is complete; close it instead.');
    wipe(...s.shares);
    s.shares = [];
    return this.toView(s);
  }

  /** Checks a Ledger (for instance a replacement loaded with the words) against the recorded addresses. */
  /** Checks a replacement Ledger: the Ethereum app's addresses and xpub, or the Solana app's accounts. */
  async verifyLedger(id: string, app: 'ethereum' | 'solana' = 'ethereum'): Promise<RecoveryView> {
    const s = this.session(id);
    if (s.state !== 'recovered') fail('CEREMONY_STEP_OUT_OF_ORDER', 'Rebuild the seed from two shares first (recover mode).');
    const record = this.options.records.sealed(s.ceremonyId);
    const checks = app === 'solana' ? await compareSolanaWithDevice(this.options.ledger, record.material) : await compareWithDevice(this.options.ledger, record.material);
    s.ledgerChecks = [...s.ledgerChecks.filter((c) => isSolanaCheck(c) !== (app === 'solana')), ...checks];
    refuseMismatch(checks);
    this.audit('CEREMONY_LEDGER_VERIFIED', s.ceremonyId, { recoveryId: s.id, app, checks: checks.length });
    return this.toView(s);
  }

  reveal(id: string, revealToken: string): RevealedWords {
    const s = this.session(id);
    if (s.state !== 'recovered' || !s.entropy) fail('CEREMONY_STEP_OUT_OF_ORDER', 'Only a recovered seed (recover mode, two proven shares) can be shown.');
    const left = this.options.reveal.consume(revealToken, s.ceremonyId, 'recovery');
    return { words: entropyToWords(s.entropy), clearAfterSeconds: WORDS_CLEAR_AFTER_SECONDS, revealsLeftThisHour: left };
  }

  close(id: string): RecoveryView {
    const s = this.sessions.get(id);
    if (!s) fail('RECOVERY_NOT_FOUND', 'This recovery is not open.');
    wipe(s.entropy, ...s.shares);
    s.entropy = null;
    s.shares = [];
    s.state = 'closed';
    this.sessions.delete(id);
    return this.toView(s);
  }

  wipeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }
}
