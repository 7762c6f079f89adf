/**
 * An operator's no to a session request carried across the air gap, on both sides of the gap.
 *
 * Refusing node: the refusal is kept (migration 019), so the request stays refused after a
 * restart, and a signed refusal bundle goes back on the medium to the requester. The record is
 * committed first and the bundle written second (atomically): a crash or a failed write between
 * the two leaves a request refused here whose reply is missing, never a reply the requester reads
 * while the request still waits for review here. The reply is rebuilt from the record at the next
 * import of the medium, byte for byte (Ed25519 signs deterministically, and the record keeps the
 * refusal's time).
 *
 * Requesting node: a refusal ends its session only when a party of that very session signed it
 * (checked by verifyBundle against the session's own parties). One that does not verify is
 * dropped and recorded once, never in its claimed sender's name.
 */
import { basename, join } from 'node:path';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail } from '../errors';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import { readRegularTextFile } from '../platform/safe-file';
import { bundleFileName, MAX_BUNDLE_BYTES, MAX_REFUSAL_REASON_CHARS, sealBundle, writeBundle, type Bundle } from './airgap';
import { isoNow } from './deps';
import { ClusterError } from './errors';
import type { LocalIdentity } from './identity';

/** A request this node's operator refused, as kept in airgap_refusals. */
export interface RefusalRecord {
  sessionId: string;
  requester: string;
  keysetId: string | null;
  protocol: string;
  reason: string;
  refusedAt: string;
  /** Name of the refusal bundle written for the requester. */
  replyFile: string;
}

/** What is refused: a request that checked out (sender's signature, keyset held here). */
export interface RefusedRequest {
  sessionId: string;
  requester: string;
  keysetId: string | null;
  clusterId: string;
  protocol: string;
}

/** Forged refusals recorded per console run: enough for any real medium, bounded against a flood. */
const MAX_DROPPED_REMEMBERED = 256;

/** The operator's reason as typed: required, plain text, short enough for the requester's screen. */
export function operatorReason(text: string): string {
  const reason = text.trim();
  if (reason.length === 0) fail('AIRGAP_REFUSAL_REASON_INVALID', 'Give a reason for the refusal: the requester reads it on their screen.');
  if (reason.length > MAX_REFUSAL_REASON_CHARS) {
    fail('AIRGAP_REFUSAL_REASON_INVALID', `The reason is ${reason.length} characters; shorten it to at most ${MAX_REFUSAL_REASON_CHARS}.`, { length: reason.length, limit: MAX_REFUSAL_REASON_CHARS });
  }
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(reason)) fail('AIRGAP_REFUSAL_REASON_INVALID', 'The reason holds control characters; type it as plain text.');
  return reason;
}

type Row = { session_id: string; requester: string; keyset_id: string | null; protocol: string; reason: string; refused_at: string; reply_file: string };

export class AirgapRefusals {
  private readonly dropped = new Set<string>();

  constructor(private readonly d: { db: Db; audit: AuditLog; clock: Clock }) {}

  /** The refusal of `sessionId` by this node's operator, or null when it was never refused here. */
  earlier(sessionId: string): RefusalRecord | null {
    const r = this.d.db.prepare('SELECT * FROM airgap_refusals WHERE session_id = ?').get(sessionId) as Row | undefined;
    if (!r) return null;
    return { sessionId: r.session_id, requester: r.requester, keysetId: r.keyset_id, protocol: r.protocol, reason: r.reason, refusedAt: r.refused_at, replyFile: r.reply_file };
  }

  /**
   * Records the refusal and its audit row in one transaction, then writes the signed refusal for
   * the requester into `outDir`. When the write fails the refusal stands (the operator said no)
   * and the failure says how to get the reply onto the medium: import it again.
   */
  refuse(me: LocalIdentity, request: RefusedRequest, typedReason: string, outDir: string): RefusalRecord {
    const reason = operatorReason(typedReason);
    const refusedAt = isoNow(this.d.clock);
    const bundle = refusalBundle(me, request.clusterId, { sessionId: request.sessionId, requester: request.requester, protocol: request.protocol, reason, refusedAt });
    const record: RefusalRecord = { sessionId: request.sessionId, requester: request.requester, keysetId: request.keysetId, protocol: request.protocol, reason, refusedAt, replyFile: bundleFileName(bundle.header) };
    this.d.db.transaction(() => {
      this.d.db
        .prepare('INSERT INTO airgap_refusals (session_id, requester, keyset_id, protocol, reason, refused_at, reply_file) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(record.sessionId, record.requester, record.keysetId, record.protocol, record.reason, record.refusedAt, record.replyFile);
      this.d.audit.append({ type: 'MPC_SESSION_REFUSED', actor: 'operator', subject: request.sessionId, details: { code: 'OPERATOR_REFUSED', reason, transport: 'airgap', requester: request.requester, replyFile: record.replyFile } });
    })();
    writeReply(bundle, outDir);
    return record;
  }

  /**
   * Writes the reply of an earlier refusal into `outDir` again when the medium lacks it (a crash
   * or a failed write after the record): the same bytes as the first time. Returns the file's
   * name when it was written, null when the medium already holds it.
   */
  writeReplyAgain(me: LocalIdentity, record: RefusalRecord, clusterId: string, outDir: string): string | null {
    const bundle = refusalBundle(me, clusterId, record);
    const text = JSON.stringify(bundle);
    try {
      if (readRegularTextFile(join(outDir, record.replyFile), { maxBytes: MAX_BUNDLE_BYTES, what: 'refusal bundle' }) === text) return null;
    } catch {
      // Missing or unreadable: written below.
    }
    return basename(writeReply(bundle, outDir));
  }

  /** A refusal bundle that did not verify: recorded once per bundle, naming the claim, blaming nobody. */
  drop(bundle: Bundle, file: string, failure: AppFailure): void {
    const key = `${bundle.header.sid}:${bundle.signature}`;
    if (this.dropped.has(key)) return;
    if (this.dropped.size >= MAX_DROPPED_REMEMBERED) this.dropped.delete(this.dropped.values().next().value!);
    this.dropped.add(key);
    this.d.audit.append({ type: 'AIRGAP_REFUSAL_DROPPED', actor: 'system', subject: bundle.header.sid, details: { file: basename(file), claimedSender: bundle.header.from, code: failure.code, reason: failure.message } });
  }
}

/** The signed refusal of one request, as the requester receives it. */
function refusalBundle(me: LocalIdentity, clusterId: string, r: Pick<RefusalRecord, 'sessionId' | 'requester' | 'protocol' | 'reason' | 'refusedAt'>): Bundle {
  return sealBundle(
    me,
    { kind: 'refusal', clusterId, sid: r.sessionId, protocol: r.protocol, round: 0, to: [r.requester], createdAt: r.refusedAt },
    { envelopes: [], refusal: { sessionId: r.sessionId, node: me.nodeId, reason: r.reason, refusedAt: r.refusedAt } },
  );
}

/** Writes a refusal reply atomically; a failure leaves no partial file and says the refusal stands. */
function writeReply(bundle: Bundle, outDir: string): string {
  try {
    return writeBundle(outDir, bundle);
  } catch (error) {
    if (!(error instanceof ClusterError)) throw error;
    fail(
      'BUNDLE_WRITE_FAILED',
      `The refusal is recorded on this node, but its reply for the requester could not be written: ${error.reason.replace(/ then run the session again\.$/, '')} Then import the medium again: the reply is written then.`,
      { sessionId: bundle.header.sid },
    );
  }
}

/** "when and why" of an earlier refusal, for the import report. */
export function refusedEarlierSentence(r: RefusalRecord): string {
  return `This node's operator refused session request ${r.sessionId.slice(0, 16)}… at ${r.refusedAt}: ${r.reason}`;
}

/** The failure that ends the requester's session once a party's refusal verified. */
export function refusalFailure(bundle: Bundle, nodeName: string | null): ClusterError {
  const refusal = bundle.body.refusal!;
  return new ClusterError({ errorClass: 'permanent', code: 'OPERATOR_REFUSED', reason: `Node ${nodeName ?? refusal.node}'s operator refused: ${refusal.reason}` });
}
