/**
 * Ceremony rows: reading, writing and the integrity MAC over the public record (fingerprints,
 * addresses, xpub, transcript hash) under a vault subkey. A recovery or a cold signature trusts
 * a recorded fingerprint or address only after the MAC verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { CeremonyMode, CeremonyStatus, CeremonyStepRecord, LedgerCheckView, ShareFingerprintView } from '../../preload/contract';
import { fail } from '../errors';
import type { Db } from '../store/database';
import type { PlanSize, PublicMaterial } from './derivation-plan';

export interface CeremonyRow {
  id: string;
  mode: CeremonyMode;
  label: string;
  status: CeremonyStatus;
  start_request_id: string;
  started_at: string;
  finished_at: string | null;
  certified_at: string | null;
  plan: string;
  steps: string;
  public_material: string | null;
  seed_fingerprint: string | null;
  share_fingerprints: string;
  ledger_checks: string;
  transcript: string | null;
  transcript_hash: string | null;
  certify_request_id: string | null;
  signatures: string | null;
  mac: string | null;
}

export interface CeremonyRecord {
  row: CeremonyRow;
  plan: PlanSize;
  steps: CeremonyStepRecord[];
  material: PublicMaterial | null;
  shareFingerprints: ShareFingerprintView[];
  ledgerChecks: LedgerCheckView[];
}

export class CeremonyRecords {
  constructor(
    private readonly db: Db,
    private readonly macKey: () => Buffer,
  ) {}

  find(id: string): CeremonyRecord {
    const row = this.db.prepare('SELECT * FROM ceremonies WHERE id = ?').get(id) as CeremonyRow | undefined;
    if (!row) fail('CEREMONY_NOT_FOUND', `There is no ceremony ${id.slice(0, 8)} on this console.`, { ceremonyId: id });
    return this.decode(row);
  }

  all(): CeremonyRecord[] {
    return (this.db.prepare('SELECT * FROM ceremonies ORDER BY started_at DESC LIMIT 100').all() as CeremonyRow[]).map((r) => this.decode(r));
  }

  private decode(row: CeremonyRow): CeremonyRecord {
    return {
      row,
      plan: JSON.parse(row.plan) as PlanSize,
      steps: JSON.parse(row.steps) as CeremonyStepRecord[],
      material: row.public_material ? (JSON.parse(row.public_material) as PublicMaterial) : null,
      shareFingerprints: JSON.parse(row.share_fingerprints) as ShareFingerprintView[],
      ledgerChecks: JSON.parse(row.ledger_checks) as LedgerCheckView[],
    };
  }

  mac(row: Pick<CeremonyRow, 'id' | 'mode' | 'public_material' | 'seed_fingerprint' | 'share_fingerprints' | 'transcript_hash'>): string {
    const text = canonicalize({ id: row.id, mode: row.mode, material: row.public_material, seed: row.seed_fingerprint, shares: row.share_fingerprints, transcript: row.transcript_hash }) ?? '';
    return createHmac('sha256', this.macKey()).update(text).digest('hex');
  }

  /** The record with its public outputs, refused if they were changed outside the console. */
  sealed(id: string): CeremonyRecord & { material: PublicMaterial } {
    const record = this.find(id);
    const { row } = record;
    if (!record.material || !row.mac) {
      fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${id.slice(0, 8)} has not finished: it has no recorded public material yet.`, { ceremonyId: id });
    }
    const expected = Buffer.from(this.mac(row), 'hex');
    const stored = Buffer.from(row.mac, 'hex');
    if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) {
      fail('CEREMONY_RECORD_TAMPERED', `The recorded fingerprints or addresses of ceremony ${id.slice(0, 8)} were changed outside Vaultkeeper. Nothing was done. Compare them with the printed certificate and restore the data folder from a copy taken before the change.`, { ceremonyId: id });
    }
    return record as CeremonyRecord & { material: PublicMaterial };
  }

  appendStep(id: string, steps: CeremonyStepRecord[], step: CeremonyStepRecord): CeremonyStepRecord[] {
    const next = [...steps, step];
    this.db.prepare('UPDATE ceremonies SET steps = ? WHERE id = ?').run(JSON.stringify(next), id);
    return next;
  }
}
