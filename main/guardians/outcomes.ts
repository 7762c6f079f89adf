/**
 * The record of how a guardian request closed: the guardian set in force, every decision with
 * whether it counted, and the quorum, written in the same transaction that closes the request.
 *
 * History is read from this record, never recomputed from today's registry: after a guardian is
 * replaced, a request that ran on their approval still shows it counting, and "2 / 2". Each record
 * carries an HMAC under a vault subkey, so a record edited in the database file is refused instead
 * of shown.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ApprovalDecision, ApprovalVia, GuardianSetView } from '../../preload/contract';
import { fail } from '../errors';
import { iso, type GuardianContext } from './context';
import type { GuardianRow } from './registry';
import type { ApprovalRow, RequestRow } from './requests';

const OUTCOME_MAC_PURPOSE = 'guardians/request-outcome-mac';

export interface RecordedDecision {
  guardianId: string;
  guardianName: string;
  address: string;
  decision: ApprovalDecision;
  via: ApprovalVia;
  at: string;
  counts: boolean;
}

export interface RequestOutcome {
  status: 'executed' | 'rejected';
  closedAt: number;
  guardianSet: GuardianSetView;
  approvals: RecordedDecision[];
  approvalsCounted: number;
  quorum: number;
}

interface OutcomeRow {
  request_id: string;
  status: 'executed' | 'rejected';
  closed_at: number;
  registry_epoch: number;
  guardians: string;
  approvals: string;
  approvals_counted: number;
  quorum: number;
  mac: string;
}

export class RequestOutcomes {
  constructor(private readonly ctx: GuardianContext) {}

  private mac(row: Omit<OutcomeRow, 'mac'>): string {
    const text = canonicalize({ kind: 'vaultkeeper.request-outcome', version: 1, vaultId: this.ctx.vaultId(), ...row }) ?? '';
    return createHmac('sha256', this.ctx.subkey(OUTCOME_MAC_PURPOSE)).update(text).digest('hex');
  }

  /**
   * Records how `request` closed. Call inside the transaction that closes it, with the registry
   * as it is at that moment and the guardian ids whose approvals counted.
   */
  record(request: RequestRow, status: 'executed' | 'rejected', closedAt: number, approvals: ApprovalRow[], guardians: GuardianRow[], registryEpoch: number, counted: string[], quorum: number): void {
    const names = new Map(guardians.map((g) => [g.id, g.name]));
    const active = guardians.filter((g) => g.status === 'active').sort((a, b) => a.slot - b.slot);
    const decisions: RecordedDecision[] = approvals.map((a) => ({
      guardianId: a.guardian_id,
      guardianName: names.get(a.guardian_id) ?? a.address,
      address: a.address,
      decision: a.decision,
      via: a.via,
      at: iso(a.received_at),
      counts: a.decision === 'approve' && counted.includes(a.guardian_id),
    }));
    const base: Omit<OutcomeRow, 'mac'> = {
      request_id: request.id,
      status,
      closed_at: closedAt,
      registry_epoch: registryEpoch,
      guardians: canonicalize(active.map((g) => ({ id: g.id, slot: g.slot, name: g.name, address: g.address }))) ?? '[]',
      approvals: canonicalize(decisions) ?? '[]',
      approvals_counted: counted.length,
      quorum,
    };
    this.ctx.db
      .prepare(`INSERT INTO approval_request_outcomes (request_id, status, closed_at, registry_epoch, guardians, approvals, approvals_counted, quorum, mac)
                VALUES (@request_id, @status, @closed_at, @registry_epoch, @guardians, @approvals, @approvals_counted, @quorum, @mac)`)
      .run({ ...base, mac: this.mac(base) });
  }

  /** The recorded outcome, or null for a request closed before outcomes were recorded. */
  read(requestId: string): RequestOutcome | null {
    const row = this.ctx.db.prepare('SELECT * FROM approval_request_outcomes WHERE request_id = ?').get(requestId) as OutcomeRow | undefined;
    if (!row) return null;
    const { mac, ...base } = row;
    const expected = Buffer.from(this.mac(base), 'hex');
    const stored = Buffer.from(mac, 'hex');
    if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) {
      fail(
        'GUARDIAN_HISTORY_TAMPERED',
        `The record of how request ${requestId.slice(0, 8)} closed (who approved, which guardians were in force) was changed outside Vaultkeeper. Do not rely on it; compare with the audit log entry GUARDED_OPERATION_EXECUTED for this request and restore the data folder from a backup taken before the change.`,
        { requestId },
      );
    }
    const guardians = JSON.parse(row.guardians) as GuardianSetView['guardians'];
    return {
      status: row.status,
      closedAt: row.closed_at,
      guardianSet: { epoch: row.registry_epoch, guardians, recordedAt: iso(row.closed_at) },
      approvals: JSON.parse(row.approvals) as RecordedDecision[],
      approvalsCounted: row.approvals_counted,
      quorum: row.quorum,
    };
  }
}
