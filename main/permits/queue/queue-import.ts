/**
 * Taking permit bundles into the queue: from a file, from every bundle in a folder, or from a
 * pasted (or scanned) payload. A bundle that is not a valid bundle (malformed, oversize, duplicate
 * ids inside it, unknown version) is refused whole; in a valid bundle each permit is checked by
 * the authorizer's own verification and only the good ones enter the queue, each refused one
 * listed with its reason. One bundle is one transaction and one audit row.
 */
import { basename } from 'node:path';
import type { QueueImportReport, QueueRefusal } from '../../../preload/contract';
import type { AuditLog } from '../../audit/audit-log';
import { isAppFailure } from '../../errors';
import { listRegularFiles, readRegularTextFile } from '../../platform/safe-file';
import type { Db } from '../../store/database';
import { MAX_BUNDLE_BYTES, parseBundle } from '../permit-bundle';
import { IMPORT_BLOCKING } from '../permit-inspection';
import type { PermitChecker } from './permit-checker';
import type { QueueStore } from './queue-store';
import { describeState } from './queue-store';

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
    const refusedHere: QueueRefusal[] = [];
    const importedHere: string[] = [];
    deps.db.transaction(() => {
      const now = deps.now();
      for (const signed of bundle.permits) {
        const permit = signed.permit;
        const existing = deps.store.get(permit.permitId);
        if (existing) {
          refusedHere.push({ source, permitId: permit.permitId, code: 'QUEUE_DUPLICATE', message: `Permit ${permit.permitId} is already in the queue (${describeState(existing.state)}); it was not imported again.` });
          continue;
        }
        const sameTx = deps.store.hasTxHash(permit.txHash);
        if (sameTx) {
          refusedHere.push({ source, permitId: permit.permitId, code: 'QUEUE_DUPLICATE', message: `Transaction ${permit.txHash} is already in the queue under permit ${sameTx}; a transaction is signed once only.` });
          continue;
        }
        const outcome = deps.checker.inspect(signed, 'import');
        const blocking = outcome.checks.find((c) => c.status === 'fail' && IMPORT_BLOCKING.has(c.id));
        if (blocking) {
          refusedHere.push({ source, permitId: permit.permitId, code: blocking.code ?? 'QUEUE_PERMIT_REFUSED', message: blocking.detail });
          continue;
        }
        deps.store.insert(signed, source, now);
        importedHere.push(permit.permitId);
      }
      deps.audit.append({
        type: 'PERMIT_QUEUE_IMPORTED',
        actor: 'operator',
        subject: source,
        details: {
          imported: importedHere.length,
          refused: refusedHere.length,
          refusals: refusedHere.slice(0, AUDITED_REFUSALS).map((r) => ({ permitId: r.permitId, code: r.code })),
        },
      });
    })();
    importedIds.push(...importedHere);
    refusedPermits.push(...refusedHere);
  }
  if (refusedBundles.length > 0) {
    deps.audit.append({ type: 'PERMIT_QUEUE_IMPORTED', actor: 'operator', subject: input.from === 'paste' ? 'pasted payload' : input.from === 'qr' ? 'animated QR' : input.path, details: { imported: 0, refusedBundles: refusedBundles.map((r) => ({ source: r.source, code: r.code })) } });
  }
  return { imported: importedIds.length, importedIds, refusedBundles, refusedPermits };
}
