/**
 * Taking permit bundles into the queue: from a file, from every bundle in a folder, or from a
 * pasted (or scanned) payload. A bundle that is not a valid bundle (malformed, oversize, duplicate
 * ids inside it, unknown version) is refused whole; in a valid bundle each permit is checked by
 * the authorizer's own verification and only the good ones enter the queue, each refused one
 * listed with its reason. One bundle is one transaction and one audit row. The stateless checks
 * (issuer signatures, tx hashes) of a large bundle run on worker threads beside this one.
 */
import { basename } from 'node:path';
import type { PermitCheckView, QueueImportReport, QueueRefusal } from '../../../preload/contract';
import type { AuditLog } from '../../audit/audit-log';
import { isAppFailure } from '../../errors';
import { listRegularFiles, readRegularTextFile } from '../../platform/safe-file';
import type { Db } from '../../store/database';
import { MAX_BUNDLE_BYTES, parseBundle } from '../permit-bundle';
import { IMPORT_BLOCKING } from '../permit-inspection';
import type { SignedPermit } from '../permit-format';
import { verifyChunk, type VerificationSnapshot, type VerifyItem, type VerifyOutcome } from './parallel-verification';
import type { PermitChecker } from './permit-checker';
import type { QueueStore } from './queue-store';
import { describeState } from './queue-store';
import type { VerifyPool } from './verify-pool';

export type ImportSource = { from: 'file'; path: string } | { from: 'folder'; path: string } | { from: 'paste'; text: string } | { from: 'qr'; text: string };

/** Refusal reasons are listed for the operator; the audit row keeps at most this many. */
const AUDITED_REFUSALS = 100;

interface BundleText {
  source: string;
  text: string;
}

function refusal(source: string, permitId: string | null, error: unknown): QueueRefusal {
  if (isAppFailure(error)) return { source, permitId, code: error.code, message: error.message };
  return { source, permitId, code: 'INTERNAL', message: `${source} could not be read.` };
}

function readSources(input: ImportSource, refused: QueueRefusal[]): BundleText[] {
  if (input.from === 'paste') return [{ source: 'pasted payload', text: input.text }];
  if (input.from === 'qr') return [{ source: 'animated QR', text: input.text }];
  const paths = input.from === 'file' ? [input.path] : listRegularFiles(input.path, { what: 'permit folder', accept: (name) => name.endsWith('.json') });
  const texts: BundleText[] = [];
  for (const path of paths) {
    try {
      texts.push({ source: basename(path), text: readRegularTextFile(path, { maxBytes: MAX_BUNDLE_BYTES, what: 'permit bundle' }) });
    } catch (error) {
      refused.push(refusal(basename(path), null, error));
    }
  }
  return texts;
}

export interface ImportDeps {
  db: Db;
  audit: AuditLog;
  store: QueueStore;
  checker: PermitChecker;
  now: () => number;
  /** Import workers for a bundle of `permits`, or null to verify it on this thread alone. */
  pool: (permits: number) => VerifyPool | null;
}

/** Permits per chunk handed to a worker: large enough to amortize a message, small enough to balance. */
const CHUNK = 250;

function chunked<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The stateless checks of every item, on the workers and this thread, in the items' order. */
function verifyAll(deps: ImportDeps, items: VerifyItem[], now: number): VerifyOutcome[] {
  const context = deps.checker.verificationContext();
  const snapshot: VerificationSnapshot = { now, issuers: deps.checker.issuerRecords(), ttlSeconds: {} };
  for (const { keyset } of items) snapshot.ttlSeconds[keyset.keysetId] ??= context.permitTtlSeconds(keyset.keysetId);
  const local = (chunk: VerifyItem[]) => verifyChunk(chunk, snapshot, context);
  const pool = deps.pool(items.length);
  if (!pool) return local(items);
  return pool.run(chunked(items, CHUNK), snapshot, local).flat();
}

/** One bundle into the queue, in one transaction; returns what was imported and what refused. */
function importBundle(deps: ImportDeps, source: string, permits: SignedPermit[]): { imported: string[]; refused: QueueRefusal[] } {
  const refused: QueueRefusal[] = [];
  const imported: string[] = [];
  deps.db.transaction(() => {
    const now = deps.now();
    // Duplicates of what is queued already: two queries for the whole bundle.
    const queuedStates = deps.store.statesOf(permits.map((s) => s.permit.permitId));
    const queuedTx = deps.store.permitsOfTxHashes(permits.map((s) => s.permit.txHash));
    const verdicts: Array<{ refusal: QueueRefusal } | { item: VerifyItem; index: number }> = [];
    const items: VerifyItem[] = [];
    for (const signed of permits) {
      const permit = signed.permit;
      const state = queuedStates.get(permit.permitId);
      if (state) {
        verdicts.push({ refusal: { source, permitId: permit.permitId, code: 'QUEUE_DUPLICATE', message: `Permit ${permit.permitId} is already in the queue (${describeState(state)}); it was not imported again.` } });
        continue;
      }
      const sameTx = queuedTx.get(permit.txHash);
      if (sameTx) {
        verdicts.push({ refusal: { source, permitId: permit.permitId, code: 'QUEUE_DUPLICATE', message: `Transaction ${permit.txHash} is already in the queue under permit ${sameTx}; a transaction is signed once only.` } });
        continue;
      }
      const { keyset, refusal } = deps.checker.keysetFor(signed);
      if (!keyset) {
        verdicts.push({ refusal: blockingRefusal(source, permit.permitId, refusal.checks)! });
        continue;
      }
      verdicts.push({ item: { signed, keyset }, index: items.length });
      items.push({ signed, keyset });
    }
    const outcomes = verifyAll(deps, items, now);
    for (const verdict of verdicts) {
      if ('refusal' in verdict) {
        refused.push(verdict.refusal);
        continue;
      }
      const { signed, keyset } = verdict.item;
      const permit = signed.permit;
      // Within one bundle the first permit of a transaction that passes is the one queued.
      const sameTx = queuedTx.get(permit.txHash);
      if (sameTx) {
        refused.push({ source, permitId: permit.permitId, code: 'QUEUE_DUPLICATE', message: `Transaction ${permit.txHash} is already in the queue under permit ${sameTx}; a transaction is signed once only.` });
        continue;
      }
      const outcome = outcomes[verdict.index]!;
      // A worker's unexpected error: this permit is checked again here, as without workers.
      const inspection = 'internal' in outcome ? deps.checker.inspect(signed, 'import') : deps.checker.inspectVerified(signed, keyset, outcome, 'import');
      const blocking = blockingRefusal(source, permit.permitId, inspection.checks);
      if (blocking) {
        refused.push(blocking);
        continue;
      }
      deps.store.insert(signed, source, now);
      queuedTx.set(permit.txHash, permit.permitId);
      imported.push(permit.permitId);
    }
    deps.audit.append({
      type: 'PERMIT_QUEUE_IMPORTED',
      actor: 'operator',
      subject: source,
      details: {
        imported: imported.length,
        refused: refused.length,
        refusals: refused.slice(0, AUDITED_REFUSALS).map((r) => ({ permitId: r.permitId, code: r.code })),
      },
    });
  })();
  return { imported, refused };
}

function blockingRefusal(source: string, permitId: string, checks: PermitCheckView[]): QueueRefusal | null {
  const blocking = checks.find((c) => c.status === 'fail' && IMPORT_BLOCKING.has(c.id));
  return blocking ? { source, permitId, code: blocking.code ?? 'QUEUE_PERMIT_REFUSED', message: blocking.detail } : null;
}

export function importBundles(deps: ImportDeps, input: ImportSource): QueueImportReport {
  const refusedBundles: QueueRefusal[] = [];
  const refusedPermits: QueueRefusal[] = [];
  const importedIds: string[] = [];
  for (const { source, text } of readSources(input, refusedBundles)) {
    let bundle;
    try {
      bundle = parseBundle(text);
    } catch (error) {
      refusedBundles.push(refusal(source, null, error));
      continue;
    }
    const { imported, refused } = importBundle(deps, source, bundle.permits);
    importedIds.push(...imported);
    refusedPermits.push(...refused);
  }
  if (refusedBundles.length > 0) {
    deps.audit.append({ type: 'PERMIT_QUEUE_IMPORTED', actor: 'operator', subject: input.from === 'paste' ? 'pasted payload' : input.from === 'qr' ? 'animated QR' : input.path, details: { imported: 0, refusedBundles: refusedBundles.map((r) => ({ source: r.source, code: r.code })) } });
  }
  return { imported: importedIds.length, importedIds, refusedBundles, refusedPermits };
}
