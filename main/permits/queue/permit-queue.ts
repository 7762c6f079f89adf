/**
 * The permit queue as the console uses it: import, the queue and review screens, approve
 * (one or in bulk), reject with a reason, guardian approval of large withdrawals, signing through
 * the cluster, and export of the signed results. Expired permits leave the waiting states by
 * themselves whenever the queue is read or acted on.
 */
import type {
  BulkSummaryView, PermitReviewView, QueueExportView, QueueItemView, QueueOverviewView, QueueState, SignedResultView,
} from '../../../preload/contract';
import { QUEUE_STATES } from '../../../preload/channels/permit-queue';
import type { AuditLog } from '../../audit/audit-log';
import { reviewTransaction } from '../../chains/review';
import { fail } from '../../errors';
import type { Clock } from '../../platform/clock';
import { describeDuration } from '../../platform/duration';
import type { PolicyStore } from '../../policy/policy-store';
import type { Db } from '../../store/database';
import type { PermitApprovals } from '../permit-approvals';
import { IMPORT_BLOCKING } from '../permit-inspection';
import type { PermitService } from '../permit-service';
import type { SpentPermits } from '../spent-permits';
import type { TrustedIssuers } from '../trusted-issuers';
import type { PermitChecker } from './permit-checker';
import { importBundles, type ImportSource } from './queue-import';
import { QueueSigner, type QueueCluster } from './queue-signing';
import { recordExternalSignature, type ExternalSignature } from './queue-external-signature';
import { QueueStore, type QueueRow } from './queue-store';
import { defaultWorkerCount, VerifyPool } from './verify-pool';
import { headroomAfter, itemView, signedPermitOf, totalsOf } from './queue-views';
import { resultEntry, resultQr, writeResultFile } from './result-file';

export interface PermitQueueOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  checker: PermitChecker;
  permits: PermitService;
  approvals: PermitApprovals;
  policy: PolicyStore;
  issuers: TrustedIssuers;
  /** This node's single-use ledger: a permit signed by QR is entered there too. */
  spent: SpentPermits;
  cluster: () => QueueCluster;
  /** Bundles of at least `minimumPermits` are verified on `workers` worker threads too (default: one per further core). */
  importWorkers?: { minimumPermits: number; workers: number };
}

/** Below this many permits a bundle is verified faster on one thread than workers can be briefed. */
const PARALLEL_IMPORT_MINIMUM = 1_000;
/** How long an import waits for freshly started workers before it verifies without them. */
const WORKER_START_TIMEOUT_MS = 30_000;

export class PermitQueue {
  readonly store: QueueStore;
  private readonly signer: QueueSigner;
  private pool: VerifyPool | null = null;

  constructor(private readonly o: PermitQueueOptions) {
    this.store = new QueueStore(o.db);
    this.signer = new QueueSigner({ db: o.db, audit: o.audit, store: this.store, checker: o.checker, cluster: o.cluster, now: () => o.clock.now() });
  }

  private now(): number {
    return this.o.clock.now();
  }

  /** Settles permits a previous run left mid-signature. Call once at start, before any signing. */
  recover(): { recovered: string[]; failed: string[] } {
    return this.signer.recover();
  }

  /** A signature read back by QR for an approved permit: recorded as a console signature is (see queue-external-signature). */
  recordExternalSignature(permitId: string, signature: ExternalSignature): QueueRow {
    this.expireDue();
    return recordExternalSignature({ db: this.o.db, audit: this.o.audit, store: this.store, spent: this.o.spent, now: () => this.now() }, permitId, signature);
  }

  /** Pending and approved permits past their expiry become 'expired', with when. */
  expireDue(): void {
    const now = this.now();
    this.o.db.transaction(() => {
      const moved = this.store.expireDue(now, (row) => `Expired ${describeDuration(now - row.expires_at)} ago, before it was signed; ask the issuer for a new permit.`);
      for (const row of moved) this.o.audit.append({ type: 'PERMIT_QUEUE_EXPIRED', actor: 'system', subject: row.permit_id, details: { expiresAt: new Date(row.expires_at).toISOString(), wasState: row.state } });
    })();
  }

  private view(row: QueueRow): QueueItemView {
    return itemView(row, { policy: this.o.policy, approvals: this.o.approvals, progress: (id) => this.signer.progressOf(id) });
  }

  importFrom(input: ImportSource) {
    this.expireDue();
    return importBundles({ db: this.o.db, audit: this.o.audit, store: this.store, checker: this.o.checker, now: () => this.now(), pool: (permits) => this.importPool(permits) }, input);
  }

  private importPool(permits: number): VerifyPool | null {
    const { minimumPermits, workers } = this.o.importWorkers ?? { minimumPermits: PARALLEL_IMPORT_MINIMUM, workers: defaultWorkerCount() };
    if (permits < minimumPermits || workers === 0) return null;
    this.warmImportWorkers();
    return this.pool;
  }

  /**
   * Starts the import workers (once) and waits until they are ready; returns how many are. Large
   * imports call it themselves; calling it ahead keeps the start-up out of the operator's wait.
   */
  warmImportWorkers(): number {
    const workers = this.o.importWorkers?.workers ?? defaultWorkerCount();
    if (workers === 0) return 0;
    this.pool ??= new VerifyPool(workers);
    return this.pool.waitReady(WORKER_START_TIMEOUT_MS);
  }

  /** Stops the import workers (they never keep the process alive, but tests and shutdown end them). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }

  overview(): QueueOverviewView {
    this.expireDue();
    const rows = this.store.list();
    const counts = Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>;
    for (const r of rows) counts[r.state] += 1;
    const waiting = rows.filter((r) => r.state === 'pending' || r.state === 'approved');
    return { items: rows.map((r) => this.view(r)), counts, totals: totalsOf(waiting, this.o.policy).perAsset };
  }

  item(permitId: string): QueueItemView {
    return this.view(this.store.require(permitId));
  }

  review(permitId: string): PermitReviewView {
    this.expireDue();
    const row = this.store.require(permitId);
    const signed = signedPermitOf(row);
    const { permit } = signed;
    const keyset = this.o.checker.keyset(row.keyset_id);
    const inspection = this.o.checker.inspect(signed);
    const issuer = this.o.issuers.byPublicKey(signed.issuerKey);
    return {
      item: this.view(row),
      transaction: reviewTransaction(permit.chain, permit.payload, { keysetId: row.keyset_id, keysetAddress: keyset?.address ?? null, policy: this.o.policy.policyFor(row.keyset_id) }),
      checks: inspection.checks,
      issuer: issuer ? { name: issuer.name, fingerprint: issuer.fingerprint } : null,
      upstream: { kyt: permit.controls.kyt, policy: permit.controls.policy, approvedBy: permit.controls.approvals.who, count: permit.controls.approvals.count, required: permit.controls.approvals.required, txRequestId: permit.txRequestId, walletId: permit.walletId },
      headroom: inspection.verified ? headroomAfter(inspection.verified.tx, row.keyset_id, this.o.policy, this.now()) : [],
    };
  }

  /** Why `row` cannot be approved now, or null. Approval needs every check but the approval itself. */
  private approvalBlocker(row: QueueRow): string | null {
    if (row.state !== 'pending') return `it is ${row.state}, not pending`;
    const inspection = this.o.checker.inspect(signedPermitOf(row));
    const failed = inspection.checks.find((c) => c.status === 'fail' && (IMPORT_BLOCKING.has(c.id) || c.id === 'kill-switch'));
    return failed ? failed.detail : null;
  }

  /** The person at this console approves a permit they reviewed. */
  approve(permitId: string, approvedBy = 'operator'): QueueItemView {
    this.expireDue();
    const row = this.store.require(permitId);
    const blocker = this.approvalBlocker(row);
    if (blocker) fail(row.state === 'pending' ? 'QUEUE_PERMIT_REFUSED' : 'QUEUE_WRONG_STATE', `Permit ${permitId} cannot be approved: ${blocker}`, { permitId });
    this.o.db.transaction(() => {
      this.o.permits.approvePermit(permitId, approvedBy);
      this.store.transition(permitId, ['pending'], 'approved', this.now(), { approved_by: approvedBy, approved_at: this.now() });
    })();
    return this.item(permitId);
  }

  reject(permitId: string, reason: string, by = 'operator'): QueueItemView {
    this.o.db.transaction(() => {
      this.store.transition(permitId, ['pending', 'approved'], 'rejected', this.now(), { reason: `Rejected by ${by}: ${reason}` });
      // An earlier approval must not let another requester get this node's share for it.
      this.o.approvals.withdrawHere(permitId, by, reason);
      this.o.audit.append({ type: 'PERMIT_QUEUE_REJECTED', actor: by, subject: permitId, details: { reason } });
    })();
    return this.item(permitId);
  }

  /** What a bulk approval of `permitIds` would approve: count and totals per asset and destination. */
  bulkSummary(permitIds: string[]): BulkSummaryView {
    this.expireDue();
    const unique = [...new Set(permitIds)];
    const clean: QueueRow[] = [];
    const excluded: BulkSummaryView['excluded'] = [];
    for (const id of unique) {
      const row = this.store.get(id);
      if (!row) {
        excluded.push({ permitId: id, reason: 'not in the queue' });
        continue;
      }
      const blocker = this.approvalBlocker(row);
      if (blocker) excluded.push({ permitId: id, reason: blocker });
      else clean.push(row);
    }
    const totals = totalsOf(clean, this.o.policy);
    return { count: clean.length, permitIds: clean.map((r) => r.permit_id), perAsset: totals.perAsset.map(({ count: _count, ...a }) => a), perDestination: totals.perDestination, excluded };
  }

  /** Approves the clean permits of the selection in one transaction; the others are listed with why. */
  bulkApprove(permitIds: string[], approvedBy = 'operator'): BulkSummaryView {
    const summary = this.bulkSummary(permitIds);
    this.o.db.transaction(() => {
      for (const id of summary.permitIds) {
        this.o.permits.approvePermit(id, approvedBy);
        this.store.transition(id, ['pending'], 'approved', this.now(), { approved_by: approvedBy, approved_at: this.now() });
      }
    })();
    return summary;
  }

  guardianParameters(permitId: string): Record<string, string> {
    const row = this.store.require(permitId);
    return this.o.permits.guardianApprovalParameters({ permitId, txHash: row.tx_hash, keysetId: row.keyset_id });
  }

  recordGuardianApproval(permitId: string, requestId: string): QueueItemView {
    const row = this.store.require(permitId);
    if (row.state !== 'pending' && row.state !== 'approved') fail('QUEUE_WRONG_STATE', `Permit ${permitId} is ${row.state}; guardian approval is recorded only for permits waiting to be signed.`, { permitId });
    this.o.permits.recordGuardianApproval({ permitId, txHash: row.tx_hash, keysetId: row.keyset_id }, requestId);
    return this.item(permitId);
  }

  /** The selection as a signing takes it: de-duplicated, in order, every one approved (else refused before anything starts). */
  signable(permitIds: string[]): string[] {
    this.expireDue();
    const unique = [...new Set(permitIds)];
    for (const id of unique) {
      const row = this.store.require(id);
      if (row.state !== 'approved') fail('QUEUE_WRONG_STATE', `Permit ${id} is ${row.state}; only approved permits are signed.`, { permitId: id });
    }
    return unique;
  }

  /** Starts signing the approved permits (one after another); answers at once, progress shows on the queue. */
  startSigning(permitIds: string[]): { items: QueueItemView[]; done: Promise<void> } {
    const unique = this.signable(permitIds);
    const done = this.signer.enqueue(unique);
    done.catch(() => undefined);
    return { items: unique.map((id) => this.item(id)), done };
  }

  /** Shows `permitIds` as queued for signing (bulk signing, before its first permit). */
  markQueued(permitIds: string[]): void {
    this.signer.markQueued(permitIds);
  }

  /** Permits a stopped bulk signing never started: shown as approved again. */
  unqueue(permitIds: string[]): void {
    this.signer.unqueue(permitIds);
  }

  /** Signs one permit (after any signing already under way); resolves with its row once it is settled. */
  async signOne(permitId: string): Promise<QueueItemView> {
    this.expireDue();
    await this.signer.enqueue([permitId]);
    return this.item(permitId);
  }

  signedResult(permitId: string): SignedResultView {
    const row = this.store.require(permitId);
    if (row.state !== 'signed' && row.state !== 'exported') fail('QUEUE_WRONG_STATE', `Permit ${permitId} is ${row.state}; it has no signed transaction.`, { permitId });
    const entry = resultEntry(row);
    return {
      permitId,
      chain: entry.network,
      encoding: entry.encoding,
      signedTx: entry.signedTransaction,
      signedTxHash: entry.transactionHash,
      signedAt: entry.signedAt,
      exportedAt: row.exported_at === null ? null : new Date(row.exported_at).toISOString(),
      exportFile: row.export_file,
      qr: resultQr(entry),
    };
  }

  /** Writes the signed results (one file per permit, or one for the batch) and marks them exported. */
  export(permitIds: string[], folder: string, perPermit: boolean): QueueExportView {
    const rows = [...new Set(permitIds)].map((id) => this.store.require(id));
    for (const row of rows) {
      if (row.state !== 'signed' && row.state !== 'exported') fail('QUEUE_WRONG_STATE', `Permit ${row.permit_id} is ${row.state}; only signed permits are exported.`, { permitId: row.permit_id });
    }
    const now = this.now();
    const groups = perPermit ? rows.map((r) => [r]) : [rows];
    const files: string[] = [];
    for (const group of groups) {
      // The file exists on the medium before any row says exported.
      const file = writeResultFile(folder, group.map(resultEntry), now);
      files.push(file);
      this.o.db.transaction(() => {
        for (const row of group) {
          this.store.transition(row.permit_id, ['signed', 'exported'], 'exported', now, { exported_at: now, export_file: file });
          this.o.audit.append({ type: 'PERMIT_QUEUE_EXPORTED', actor: 'operator', subject: row.permit_id, details: { file, transactionHash: row.signed_tx_hash } });
        }
      })();
    }
    return { files, items: rows.map((r) => this.item(r.permit_id)) };
  }
}
