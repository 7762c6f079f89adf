/**
 * Append-only, hash-chained audit log.
 *
 * Each event is stored once, as canonical JSON (RFC 8785) of {at, type, actor, subject,
 * details}; row n stores hash_n = SHA-256(hash_{n-1} ‖ "<seq>\n" ‖ entry_n), so verification
 * re-hashes stored text without parsing it. Appends run inside the caller's transaction, so an
 * event is recorded if and only if the change it describes is committed; a failed append rolls
 * the change back (fail closed). Triggers refuse UPDATE and DELETE.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { AuditEntry, AuditPage, ChainVerification } from '../../preload/contract';
import { writeFileAtomically } from '../platform/atomic-file';
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

/** The hashed content of one event, without its position in the chain. */
export interface AuditContent {
  at: string;
  type: string;
  actor: string;
  subject: string;
  details: Record<string, unknown>;
}

/** Canonical JSON of an event: the exact text that is stored and hashed. */
export function canonicalEntry(content: AuditContent): string {
  const text = canonicalize({ at: content.at, type: content.type, actor: content.actor, subject: content.subject, details: content.details });
  if (text === undefined) throw new TypeError('audit details must be JSON-serializable');
  return text;
}

export function chainHash(prevHash: Uint8Array, seq: number, entry: string): Buffer {
  return createHash('sha256').update(prevHash).update(`${seq}\n${entry}`, 'utf8').digest();
}

function toEntry(seq: number, entry: string, hash: Buffer): AuditEntry {
  const content = JSON.parse(entry) as AuditContent;
  return { seq, at: content.at, type: content.type, actor: content.actor, subject: content.subject, details: content.details, hash: hash.toString('hex') };
}

type StoredRow = [seq: number, entry: string, hash: Buffer];

export class AuditLog {
  private readonly head;
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.head = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.insert = db.prepare('INSERT INTO audit_log (seq, entry, hash) VALUES (?, ?, ?)');
  }

  /** Appends one event. Call inside the transaction that makes the change it records. */
  append(event: AuditEvent): AuditEntry {
    const append = this.db.transaction((): AuditEntry => {
      const head = this.head.get() as { seq: number; hash: Buffer } | undefined;
      const seq = (head?.seq ?? 0) + 1;
      const entry = canonicalEntry({
        at: new Date(this.clock.now()).toISOString(),
        type: event.type,
        actor: event.actor,
        subject: event.subject ?? '',
        details: event.details ?? {},
      });
      const hash = chainHash(head?.hash ?? GENESIS_HASH, seq, entry);
      this.insert.run(seq, entry, hash);
      return toEntry(seq, entry, hash);
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
      where.push('instr(lower(entry), ?) > 0');
      params.push(filter.text.toLowerCase());
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM audit_log ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT seq, entry, hash FROM audit_log ${clause} ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .raw(true)
      .all(...params, filter.limit ?? 100, filter.offset ?? 0) as StoredRow[];
    return { entries: rows.map(([seq, entry, hash]) => toEntry(seq, entry, hash)), total };
  }

  private rows(): IterableIterator<StoredRow> {
    return this.db.prepare('SELECT seq, entry, hash FROM audit_log ORDER BY seq').raw(true).iterate() as IterableIterator<StoredRow>;
  }

  /** Re-hashes the whole chain; names the first row whose content or link does not match. */
  verify(): ChainVerification {
    const checkedAt = new Date(this.clock.now()).toISOString();
    let expectedPrev: Buffer = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    for (const [seq, entry, hash] of this.rows()) {
      rows += 1;
      let reason: string | null = null;
      if (seq !== expectedSeq) reason = `row ${expectedSeq} is missing (found ${seq} next)`;
      else if (!chainHash(expectedPrev, seq, entry).equals(hash)) {
        reason = seq === 1 ? 'row 1 was altered after it was written' : `row ${seq} was altered after it was written, or no longer follows row ${seq - 1}`;
      }
      if (reason !== null) return { intact: false, rows, firstBrokenSeq: seq, reason, checkedAt };
      expectedPrev = hash;
      expectedSeq += 1;
    }
    return { intact: true, rows, headHash: expectedPrev.toString('hex'), checkedAt };
  }

  /** Writes the chain as JSON Lines (one entry per line, with prev_hash), atomically. */
  exportJsonLines(path: string): { rows: number; headHash: string } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const lines: string[] = [];
    let headHash = GENESIS_HASH.toString('hex');
    for (const [seq, entry, hash] of this.rows()) {
      // prevHash is the previous line's hash as read, so the file re-verifies on its own.
      lines.push(JSON.stringify({ ...toEntry(seq, entry, hash), prevHash: headHash }));
      headHash = hash.toString('hex');
    }
    writeFileAtomically(dirname(path), basename(path), lines.length ? `${lines.join('\n')}\n` : '', { replace: true });
    return { rows: lines.length, headHash };
  }
}
