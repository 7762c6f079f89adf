/**
 * Which sealed records may leave this node (backup, export, a copy for another machine). Single-use
 * and anti-rollback state must not: a restored presignature could sign twice and reveal the key,
 * and a restored rollback counter would hide the restore. Every backup or export of sealed records
 * goes through `assertRecordExportable` / `exportableRecords`.
 */
import { fail } from '../errors';

/** A sealed record kind that declares whether it may be backed up. */
export interface RecordKind {
  readonly type: string;
  readonly backup?: boolean;
}

/** Record types that never leave this node, whatever their declaration elsewhere says. */
const NEVER_EXPORTED: ReadonlySet<string> = new Set(['mpc-presignature', 'rollback-counter']);

export function isRecordExportable(recordType: string): boolean {
  return !NEVER_EXPORTED.has(recordType);
}

/** Throws RECORD_NOT_EXPORTABLE for a record type that must stay on this node. */
export function assertRecordExportable(recordType: string): void {
  if (!isRecordExportable(recordType)) {
    fail('RECORD_NOT_EXPORTABLE', `Records of type "${recordType}" never leave this node (single-use or anti-rollback state); leave them out of the backup or export.`, { recordType });
  }
}

/** Keeps only the rows a backup or export may carry. */
export function exportableRecords<T extends { recordType: string }>(rows: readonly T[]): T[] {
  return rows.filter((r) => isRecordExportable(r.recordType));
}

/** Checks a record kind's own declaration agrees with this policy (used by tests of each kind). */
export function declaredNonExportable(kind: RecordKind): boolean {
  return kind.backup === false && !isRecordExportable(kind.type);
}
