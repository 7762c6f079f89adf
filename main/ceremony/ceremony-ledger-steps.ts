/**
 * The Ledger steps of a master-seed ceremony: the restored words checked on the device (Ethereum
 * app: addresses and xpub; Solana app: accounts), the Solana accounts of a seed made on the
 * device read from it, and one recorded address shown on the device for a person to compare.
 * A mismatch is recorded and audited, then refused.
 */
import type { CeremonyView, LedgerCheckView } from '../../preload/contract';
import { fail } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Db } from '../store/database';
import type { CeremonyRecords } from './ceremony-records';
import type { ConsoleSession } from './ceremony-view';
import type { PublicMaterial } from './derivation-plan';
import { compareSolanaWithDevice, isSolanaCheck, readDeviceSolana, solanaAccountsMissing } from './ledger-solana';
import { compareWithDevice, devicePath, refuseMismatch } from './ledger-verification';

/** What the Ledger steps use of the ceremony service. */
export interface LedgerStepsContext {
  db: Db;
  ledger: LedgerDevice;
  records: CeremonyRecords;
  /** The in-memory session of a ceremony in progress (throws when there is none). */
  session(id: string): ConsoleSession;
  /** The in-memory session, if any, without checks. */
  liveSession(id: string): ConsoleSession | undefined;
  record(id: string, step: string, detail: string, event?: { type: string; details: Record<string, unknown> }): void;
  view(id: string): CeremonyView;
}

export class CeremonyLedgerSteps {
  constructor(private readonly c: LedgerStepsContext) {}

  /** Checks on the Ledger that the restored words derive the ceremony's addresses and xpub. */
  async verifyLedger(id: string): Promise<CeremonyView> {
    const s = this.c.session(id);
    if (!s.shares) fail('CEREMONY_STEP_OUT_OF_ORDER', 'Issue the guardian shares before verifying the Ledger.');
    const checks = await compareWithDevice(this.c.ledger, s.material);
    this.saveChecks(id, [...checks, ...this.c.records.find(id).ledgerChecks.filter(isSolanaCheck)]);
    try {
      refuseMismatch(checks);
    } catch (error) {
      this.c.record(id, 'ledger-mismatch', `${checks.filter((c) => !c.matches).length} of ${checks.length} checks differ`, { type: 'CEREMONY_LEDGER_MISMATCH', details: { mismatches: checks.filter((c) => !c.matches).map((c) => ({ path: c.path, found: c.found })) } });
      throw error;
    }
    s.ledgerVerified = true;
    this.c.record(id, 'ledger-verified', `${checks.length} of ${checks.length} addresses and xpub match on the Ledger`, { type: 'CEREMONY_LEDGER_VERIFIED', details: { checks: checks.length } });
    return this.c.view(id);
  }

  private saveChecks(id: string, checks: LedgerCheckView[]): void {
    this.c.db.prepare('UPDATE ceremonies SET ledger_checks = ? WHERE id = ?').run(JSON.stringify(checks), id);
  }

  /**
   * The Solana step, with the Solana app open on the Ledger: reads the accounts of a seed made on
   * the device, or checks that the restored seed derives the recorded accounts.
   */
  async ledgerSolana(id: string): Promise<CeremonyView> {
    const record = this.c.records.find(id);
    const { row } = record;
    if (row.status !== 'in-progress') fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${id.slice(0, 8)} is ${row.status}; the Solana step belongs to a ceremony in progress.`);
    if (row.mode === 'ledger') {
      if (solanaAccountsMissing(record.plan, record.material) === 0) fail('CEREMONY_STEP_OUT_OF_ORDER', 'The Solana accounts of this Ledger are already recorded.');
      const accounts = await readDeviceSolana(this.c.ledger, record.plan);
      const material: PublicMaterial = { ...record.material!, addresses: [...record.material!.addresses.filter((a) => a.chain !== 'solana'), ...accounts] };
      this.c.db.prepare("UPDATE ceremonies SET public_material = ? WHERE id = ? AND status = 'in-progress'").run(JSON.stringify(material), id);
      this.c.record(id, 'ledger-solana-read', `${accounts.length} Solana account${accounts.length === 1 ? '' : 's'} read from the Ledger's Solana app`, { type: 'CEREMONY_LEDGER_SOLANA_READ', details: { accounts: accounts.map((a) => ({ path: a.path, address: a.address })) } });
      return this.c.view(id);
    }
    const s = this.c.session(id);
    if (!s.ledgerVerified) fail('CEREMONY_STEP_OUT_OF_ORDER', 'Verify the Ethereum addresses on the Ledger first, then open the Solana app.');
    const checks = await compareSolanaWithDevice(this.c.ledger, s.material);
    this.saveChecks(id, [...record.ledgerChecks.filter((c) => !isSolanaCheck(c)), ...checks]);
    try {
      refuseMismatch(checks);
    } catch (error) {
      this.c.record(id, 'ledger-solana-mismatch', `${checks.filter((c) => !c.matches).length} of ${checks.length} Solana accounts differ`, { type: 'CEREMONY_LEDGER_MISMATCH', details: { app: 'solana', mismatches: checks.filter((c) => !c.matches).map((c) => ({ path: c.path, found: c.found })) } });
      throw error;
    }
    s.solanaVerified = true;
    this.c.record(id, 'ledger-solana-verified', `${checks.length} of ${checks.length} Solana accounts match on the Ledger's Solana app`, { type: 'CEREMONY_LEDGER_VERIFIED', details: { app: 'solana', checks: checks.length } });
    return this.c.view(id);
  }

  /** Shows one recorded address on the Ledger (Ethereum or Solana app) for the person to compare, and checks it. */
  async showOnDevice(id: string, index: number, chain: 'evm' | 'solana' = 'evm'): Promise<{ address: string; path: string }> {
    const record = this.c.records.find(id);
    const material = record.material ?? this.c.liveSession(id)?.material;
    const planned = material?.addresses.find((a) => a.chain === chain && a.index === index);
    if (!planned) fail('CEREMONY_NOT_FOUND', `Ceremony ${id.slice(0, 8)} recorded no ${chain === 'evm' ? 'EVM address' : 'Solana account'} at index ${index}.`);
    const shown = chain === 'evm' ? (await this.c.ledger.getPublicKey(devicePath(planned.path), { display: true })).address : await this.c.ledger.getSolanaAddress(devicePath(planned.path), { display: true });
    refuseMismatch([{ path: planned.path, expected: planned.address, found: shown, matches: shown === planned.address }]);
    return { address: shown, path: planned.path };
  }
}
