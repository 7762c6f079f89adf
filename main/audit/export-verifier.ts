/**
 * Verifies an exported audit file (JSON Lines from AuditLog.exportJsonLines) without the
 * database, so an auditor can check a copy on any machine. Each line's hash is recomputed from
 * its own fields and the previous line's hash, exactly as the live verifier does.
 */
import type { ChainVerification } from '../../preload/contract';
import { canonicalEntry, chainHash, GENESIS_HASH } from './audit-log';

export function verifyExportedChain(jsonLines: string, checkedAt = new Date().toISOString()): ChainVerification {
  let expectedPrev: Buffer = GENESIS_HASH;
  let rows = 0;
  const lines = jsonLines.split('\n').filter((line) => line.trim() !== '');
  for (const [index, line] of lines.entries()) {
    rows += 1;
    const lineNumber = index + 1;
    const broken = (seq: number, reason: string): ChainVerification => ({ intact: false, rows, firstBrokenSeq: seq, reason, checkedAt });
    let entry: { seq?: unknown; at?: unknown; type?: unknown; actor?: unknown; subject?: unknown; details?: unknown; hash?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return broken(lineNumber, `line ${lineNumber} is not JSON`);
    }
    const { seq, at, type, actor, subject, details, hash } = entry;
    if (typeof seq !== 'number' || typeof at !== 'string' || typeof type !== 'string' || typeof actor !== 'string' || typeof subject !== 'string' || typeof hash !== 'string' || typeof details !== 'object' || details === null) {
      return broken(lineNumber, `line ${lineNumber} lacks a field of an audit entry`);
    }
    if (seq !== lineNumber) return broken(seq, `row ${lineNumber} is missing (found ${seq} next)`);
    let entryText: string;
    try {
      entryText = canonicalEntry({ at, type, actor, subject, details: details as Record<string, unknown> });
    } catch {
      return broken(seq, `row ${seq} has details that are not JSON`);
    }
    const recomputed = chainHash(expectedPrev, seq, entryText);
    if (recomputed.toString('hex') !== hash) {
      return broken(seq, seq === 1 ? 'row 1 was altered after it was written' : `row ${seq} was altered after it was written, or no longer follows row ${seq - 1}`);
    }
    expectedPrev = recomputed;
  }
  return { intact: true, rows, headHash: expectedPrev.toString('hex'), checkedAt };
}
