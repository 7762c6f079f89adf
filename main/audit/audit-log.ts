/**
 * Append-only, hash-chained audit log.
 *
 * Row n stores hash_n = SHA-256(hash_{n-1} ‖ preimage_n), where the preimage is the JSON array
 * [seq, at, type, actor, subject, details] with details already in canonical JSON (RFC 8785),
 * so verification re-hashes stored text without parsing it. Appends run inside the caller's
 * transaction, so an event is recorded if and only if the change it describes is committed; a
 * failed append rolls the change back (fail closed). Triggers refuse UPDATE and DELETE.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEntry, AuditPage, ChainVerification } from '../../preload/contract';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';

export const GENESIS_HASH = Buffer.alloc(32, 0);

export interface AuditEvent {
  type: string;
  /** Who caused it: "operator", "system", a node id, a guardian address. */
  actor: string;
  subject?: string;
  /** Facts about the event. Never secret material. */
  details?: Record<string, unknown>;
}

export interface AuditFilter {
  type?: string;
  text?: string;
  offset?: number;
  limit?: number;
}

interface AuditRow {
  seq: number;
  at: string;
  type: string;
  actor: string;
  subject: string;
  details: string;
  prev_hash: Buffer;
  hash: Buffer;
}

export function chainHash(prevHash: Uint8Array, row: Pick<AuditRow, 'seq' | 'at' | 'type' | 'actor' | 'subject' | 'details'>): Buffer {
  const preimage = JSON.stringify([row.seq, row.at, row.type, row.actor, row.subject, row.details]);
  return createHash('sha256').update(prevHash).update(preimage, 'utf8').digest();
}

function canonicalDetails(details: Record<string, unknown> | undefined): string {
  const text = canonicalize(details ?? {});
  if (text === undefined) throw new TypeError('audit details must be JSON-serializable');
  return text;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    type: row.type,
    actor: row.actor,
    subject: row.subject,
    details: JSON.parse(row.details) as Record<string, unknown>,
    hash: row.hash.toString('hex'),
  };
}

export class AuditLog {
  private readonly head;
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.head = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.insert = db.prepare(
      'INSERT INTO audit_log (seq, at, type, actor, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** Appends one event. Call inside the transaction that makes the change it records. */
  append(event: AuditEvent): AuditEntry {
    const append = this.db.transaction((): AuditEntry => {
      const head = this.head.get() as { seq: number; hash: Buffer } | undefined;
      const row = {
        seq: (head?.seq ?? 0) + 1,
        at: new Date(this.clock.now()).toISOString(),
        type: event.type,
        actor: event.actor,
        subject: event.subject ?? '',
        details: canonicalDetails(event.details),
      };
      const prevHash = head?.hash ?? GENESIS_HASH;
      const hash = chainHash(prevHash, row);
      this.insert.run(row.seq, row.at, row.type, row.actor, row.subject, row.details, prevHash, hash);
      return { ...row, details: JSON.parse(row.details) as Record<string, unknown>, hash: hash.toString('hex') };
    });
    return append();
  }

  list(filter: AuditFilter = {}): AuditPage {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.type) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.text) {
      where.push("(instr(lower(actor), ?) > 0 OR instr(lower(subject), ?) > 0 OR instr(lower(details), ?) > 0)");
      const needle = filter.text.toLowerCase();
      params.push(needle, needle, needle);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM audit_log ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM audit_log ${clause} ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(...params, filter.limit ?? 100, filter.offset ?? 0) as AuditRow[];
    return { entries: rows.map(toEntry), total };
  }

  /** Re-hashes the whole chain; names the first row whose link or content does not match. */
  verify(): ChainVerification {
    const checkedAt = new Date(this.clock.now()).toISOString();
    let expectedPrev: Buffer = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    // Raw arrays, and no prev_hash column: verification of a long chain is dominated by row
    // decoding, and each row's hash already commits to the previous row's hash.
    const iterate = this.db
      .prepare('SELECT seq, at, type, actor, subject, details, hash FROM audit_log ORDER BY seq')
      .raw(true)
      .iterate() as IterableIterator<[number, string, string, string, string, string, Buffer]>;
    for (const [seq, at, type, actor, subject, details, hash] of iterate) {
      rows += 1;
      const broken = (reason: string): ChainVerification => ({ intact: false, rows, firstBrokenSeq: seq, reason, checkedAt });
      if (seq !== expectedSeq) return broken(`row ${expectedSeq} is missing (found ${seq} next)`);
      if (!chainHash(expectedPrev, { seq, at, type, actor, subject, details }).equals(hash)) {
        return broken(seq === 1 ? 'row 1 was altered after it was written' : `row ${seq} was altered after it was written, or no longer follows row ${seq - 1}`);
      }
      expectedPrev = hash;
      expectedSeq += 1;
    }
    return { intact: true, rows, headHash: expectedPrev.toString('hex'), checkedAt };
  }

  /** Writes the chain as JSON Lines (one entry per line, with prev_hash), atomically. */
  exportJsonLines(path: string): { rows: number; headHash: string } {
    mkdirSync(dirname(path), { recursive: true });
    const lines: string[] = [];
    let headHash = GENESIS_HASH.toString('hex');
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      // prevHash is the previous line's hash as read, so the file re-verifies on its own.
      lines.push(JSON.stringify({ ...toEntry(row), prevHash: headHash }));
      headHash = row.hash.toString('hex');
    }
    const temporary = `${path}.partial`;
    writeFileSync(temporary, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
    renameSync(temporary, path);
    return { rows: lines.length, headHash };
  }
}
