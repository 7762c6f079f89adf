/**
 * What every part of the guardian domain shares: the store, the audit log, the clock, the vault
 * (whose key ring holds the registry MAC keys), and the wording helpers for times and hashes.
 */
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';

export const GUARDIAN_COUNT = 3;
export const QUORUM = 2;

export interface GuardianServiceOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  vault: VaultService;
  dataDir: string;
  ledger: LedgerDevice;
  /** scrypt cost of key files the console creates; tests lower it. */
  keyFileScryptN?: number;
}

export class GuardianContext {
  constructor(readonly options: GuardianServiceOptions) {}

  get db(): Db {
    return this.options.db;
  }

  get audit(): AuditLog {
    return this.options.audit;
  }

  now(): number {
    return this.options.clock.now();
  }

  vaultId(): string {
    const row = this.db.prepare('SELECT vault_id FROM vault_meta WHERE id = 1').get() as { vault_id: string } | undefined;
    if (!row) fail('VAULT_NOT_CREATED', 'No vault exists on this machine yet. Create one first.');
    return row.vault_id;
  }

  /** Every guardian operation needs the unlocked vault (the registry MAC keys live there). */
  requireUnlocked(): void {
    this.options.vault.keyRing();
  }

  subkey(purpose: string): Buffer {
    return this.options.vault.keyRing().subkey(purpose);
  }
}

export const short = (hex: string) => `${hex.slice(0, 10)}…`;
export const iso = (ms: number) => new Date(ms).toISOString();
export const utcWords = (ms: number) => `${iso(ms).slice(0, 16).replace('T', ' ')} UTC`;
export const kindWords = (kind: string) => (kind === 'ledger' ? 'Ledger' : 'software key');
