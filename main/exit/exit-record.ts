/**
 * What the store keeps about emergency exits: attempts (for the rate limit, counted from the
 * database so a restart does not reset it) and keysets whose key was exported. No key, ever.
 */
import type { Db } from '../store/database';

export const EXIT_LIMIT = 3;
export const EXIT_WINDOW_MS = 60 * 60 * 1000;

export interface KeysetExport {
  exportId: string;
  keysetId: string;
  address: string;
  fileName: string;
  requestId: string;
  exportedAt: string;
}

type Row = Record<string, unknown>;

export class ExitRecords {
  constructor(private readonly db: Db) {}

  /**
   * Attempts within the hour before `now`. Attempts stamped later than `now` count too: a clock
   * set back must not reopen the limit.
   */
  attemptsSince(now: number): { count: number; oldest: number | null } {
    const row = this.db.prepare('SELECT count(*) AS n, min(attempted_at) AS oldest FROM emergency_exit_attempts WHERE attempted_at > ?').get(now - EXIT_WINDOW_MS) as Row;
    return { count: Number(row.n), oldest: row.oldest === null ? null : Number(row.oldest) };
  }

  recordAttempt(keysetId: string, now: number): void {
    this.db.prepare('INSERT INTO emergency_exit_attempts (keyset_id, attempted_at) VALUES (?, ?)').run(keysetId, now);
  }

  recordExport(e: KeysetExport): void {
    this.db.prepare('INSERT INTO keyset_exports (export_id, keyset_id, address, file_name, request_id, exported_at) VALUES (?, ?, ?, ?, ?, ?)').run(e.exportId, e.keysetId, e.address, e.fileName, e.requestId, e.exportedAt);
  }

  /** Every export, newest first. */
  exports(): KeysetExport[] {
    return (this.db.prepare('SELECT * FROM keyset_exports ORDER BY exported_at DESC').all() as Row[]).map((r) => ({
      exportId: String(r.export_id),
      keysetId: String(r.keyset_id),
      address: String(r.address),
      fileName: String(r.file_name),
      requestId: String(r.request_id),
      exportedAt: String(r.exported_at),
    }));
  }

  /** keyset id → when its key was first exported. */
  exportedKeysets(): Map<string, string> {
    const rows = this.db.prepare('SELECT keyset_id, min(exported_at) AS at FROM keyset_exports GROUP BY keyset_id').all() as Row[];
    return new Map(rows.map((r) => [String(r.keyset_id), String(r.at)]));
  }
}
