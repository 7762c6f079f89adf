/**
 * Approvals: verifying one signed decision, counting the approvals that count, and the guard that
 * guarded operations call.
 *
 * Quorum rule: two approvals, from two distinct guardians that are registered now, neither of
 * them the requester (by guardian id or by the key that signed the request), each a valid
 * signature over the request as it stands (payload hash, operation, expiry), each with a nonce
 * this console issued for that request and never used before, all before the request expires.
 * A request is closed as rejected as soon as the rejections leave too few guardians to reach the
 * quorum. The guard re-counts inside the transaction of the operation it guards.
 */
import { isHexString } from 'ethers';
import type { ApprovalRequestView, ApprovalVia } from '../../preload/contract';
import { fail } from '../errors';
import { describeDuration } from '../platform/duration';
import { GUARDIAN_COUNT, QUORUM, short, utcWords, type GuardianContext } from './context';
import type { OperationGuard } from './guard';
import { isGuardedOperation, operationLabel, type GuardedOperationKind } from './guarded-operations';
import type { GuardianRegistryStore, GuardianRow } from './registry';
import type { ApprovalRequests, ApprovalRow, RequestRow } from './requests';
import { APPROVAL_TYPES, payloadHash, recoverSigner, type ApprovalMessage } from './typed-data';

/** Who asked for a request: the guardian id and the key that signed it (none for the operator). */
export interface RequesterIdentity {
  guardianId: string | null;
  addresses: Set<string>;
}

/** The requester as the row and its context (which the payload hash commits to) record it. */
export function requesterOf(row: RequestRow): RequesterIdentity {
  const addresses = new Set<string>();
  if (row.requester_address) addresses.add(row.requester_address.toLowerCase());
  try {
    const context = JSON.parse(row.context) as { requesterAddress?: unknown };
    if (typeof context.requesterAddress === 'string') addresses.add(context.requesterAddress.toLowerCase());
  } catch {
    // An unreadable context fails the payload-hash check wherever it matters.
  }
  return { guardianId: row.requester_guardian_id, addresses };
}

export function isRequester(requester: RequesterIdentity, who: { id?: string; address: string }): boolean {
  return (who.id !== undefined && who.id === requester.guardianId) || requester.addresses.has(who.address.toLowerCase());
}

/** Guardian ids whose approvals count now: current, not the requester, signature re-verified. */
export function countedApprovals(row: RequestRow, approvals: ApprovalRow[], guardians: GuardianRow[]): string[] {
  const active = new Map(guardians.filter((g) => g.status === 'active').map((g) => [g.id, g]));
  const requester = requesterOf(row);
  const counted = new Set<string>();
  for (const a of approvals) {
    if (a.decision !== 'approve') continue;
    // The requester never approves their own request, however the row got here.
    if (isRequester(requester, { id: a.guardian_id, address: a.address })) continue;
    const guardian = active.get(a.guardian_id);
    if (!guardian || guardian.address !== a.address) continue;
    const message: ApprovalMessage = {
      requestId: row.id, payloadHash: row.payload_hash, operation: row.operation, nonce: a.nonce, expiry: Math.floor(row.expires_at / 1000), decision: 'approve',
    };
    // Re-verified here so an approval row written into the database by hand counts for nothing.
    if (recoverSigner(APPROVAL_TYPES, message, a.signature) === guardian.address) counted.add(guardian.id);
  }
  return [...counted];
}

export function isApprovalMessage(value: unknown): value is ApprovalMessage {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  const hex32 = (v: unknown) => typeof v === 'string' && isHexString(v, 32);
  return (
    typeof m.requestId === 'string' && m.requestId.length <= 64 &&
    hex32(m.payloadHash) && hex32(m.nonce) &&
    typeof m.operation === 'string' && m.operation.length <= 64 &&
    (typeof m.expiry === 'number' || typeof m.expiry === 'string') && Number.isSafeInteger(Number(m.expiry)) &&
    (m.decision === 'approve' || m.decision === 'reject')
  );
}

export class ApprovalBook implements OperationGuard {
  constructor(
    private readonly ctx: GuardianContext,
    private readonly registry: GuardianRegistryStore,
    private readonly requests: ApprovalRequests,
  ) {}

  private refuse(code: Parameters<typeof fail>[0], reason: string, facts: { requestId: string; signer: string | null; via: ApprovalVia }, details?: Record<string, string | number | boolean | null>): never {
    this.ctx.db.transaction(() => {
      this.ctx.audit.append({ type: 'APPROVAL_REFUSED', actor: facts.signer ?? 'unknown', subject: facts.requestId, details: { code, reason, via: facts.via } });
    })();
    fail(code, reason, { requestId: facts.requestId, ...details });
  }

  /** Verifies one signed decision and records it, or records and throws the precise refusal. */
  submit(message: ApprovalMessage, signature: string, via: ApprovalVia): ApprovalRequestView {
    this.ctx.requireUnlocked();
    if (!isApprovalMessage(message)) fail('APPROVAL_FILE_INVALID', 'The approval message is incomplete or malformed.');
    const { db } = this.ctx;
    const facts = { requestId: message.requestId, signer: null as string | null, via };
    const row = db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(message.requestId) as RequestRow | undefined;
    if (!row) this.refuse('APPROVAL_REQUEST_NOT_FOUND', `The approval is for request ${message.requestId}, which does not exist on this console.`, facts);
    if (!this.requests.requesterProven(row)) {
      this.refuse('REQUESTER_NOT_SIGNED', `${row.requester_name} has not signed this request yet, so no approval can be recorded. Import ${row.requester_name}'s signed requester file first.`, facts);
    }
    const signer = recoverSigner(APPROVAL_TYPES, message, signature);
    if (!signer) this.refuse('APPROVAL_SIGNATURE_INVALID', 'The approval signature is malformed or does not verify. Ask the guardian to sign again.', facts);
    facts.signer = signer;
    const now = this.ctx.now();
    if (row.status !== 'pending') this.refuse('APPROVAL_REQUEST_CLOSED', `This request is already ${row.status}; the approval was not recorded.`, facts);
    if (now > row.expires_at) {
      this.refuse('APPROVAL_EXPIRED', `The request expired ${describeDuration(now - row.expires_at)} ago (at ${utcWords(row.expires_at)}); this approval came too late. Create a new request.`, facts);
    }
    const stored = JSON.parse(row.parameters) as Record<string, unknown>;
    const storedContext = JSON.parse(row.context) as Record<string, unknown>;
    if (payloadHash(this.ctx.vaultId(), row.operation, row.subject, stored, storedContext) !== row.payload_hash) {
      this.refuse('APPROVAL_REQUEST_ALTERED', 'The stored request no longer matches the hash it was created with: it was changed after it was created. Do not proceed; create a new request.', facts);
    }
    if (message.payloadHash !== row.payload_hash || message.operation !== row.operation || Number(message.expiry) !== Math.floor(row.expires_at / 1000)) {
      this.refuse(
        'APPROVAL_REQUEST_ALTERED',
        `This approval was signed for a different version of the request (signed payload hash ${short(message.payloadHash)}, operation "${message.operation}"; the request has ${short(row.payload_hash)}, "${row.operation}"). It does not count.`,
        facts,
      );
    }
    const nonce = db.prepare('SELECT * FROM approval_nonces WHERE nonce = ?').get(message.nonce.toLowerCase()) as { request_id: string; consumed_at: number | null } | undefined;
    if (nonce?.consumed_at) {
      this.refuse('APPROVAL_NONCE_REPLAYED', `This approval (nonce ${short(message.nonce)}) was already used at ${utcWords(nonce.consumed_at)}. Each signed approval counts once.`, facts);
    }
    if (!nonce || nonce.request_id !== row.id) {
      this.refuse('APPROVAL_NONCE_UNKNOWN', `This approval's nonce (${short(message.nonce)}) was not issued by this console for this request. Export the request file again and have the guardian sign that.`, facts);
    }
    const guardian = this.registry.active().find((g) => g.address === signer);
    if (!guardian) this.refuse('APPROVAL_SIGNER_NOT_GUARDIAN', `The approval is signed by ${signer}, which is not one of this vault's current guardians.`, facts);
    if (isRequester(requesterOf(row), guardian)) {
      this.refuse('APPROVAL_BY_REQUESTER', `${guardian.name} requested this operation (the request was signed with their key), so their own approval cannot count. Two other guardians must decide.`, facts);
    }
    const earlier = db.prepare('SELECT * FROM approvals WHERE request_id = ? AND guardian_id = ?').get(row.id, guardian.id) as ApprovalRow | undefined;
    if (earlier) {
      this.refuse('APPROVAL_DUPLICATE_GUARDIAN', `${guardian.name} already ${earlier.decision === 'approve' ? 'approved' : 'rejected'} this request at ${utcWords(earlier.received_at)}. A different guardian must decide.`, facts);
    }

    db.transaction(() => {
      db.prepare('UPDATE approval_nonces SET consumed_at = ? WHERE nonce = ?').run(now, message.nonce.toLowerCase());
      db.prepare('INSERT INTO approvals (request_id, guardian_id, address, decision, nonce, signature, via, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(row.id, guardian.id, signer, message.decision, message.nonce.toLowerCase(), signature, via, now);
      const closes = message.decision === 'reject' && !this.canStillReachQuorum(row);
      if (closes) {
        db.prepare("UPDATE approval_requests SET status = 'rejected', closed_at = ? WHERE id = ?").run(now, row.id);
        const guardians = this.registry.all();
        this.requests.outcomes.record(row, 'rejected', now, this.requests.approvalsOf(row.id), guardians, this.registry.epoch(), countedApprovals(row, this.requests.approvalsOf(row.id), guardians), QUORUM);
      }
      this.ctx.audit.append({
        type: message.decision === 'approve' ? 'APPROVAL_SIGNED' : 'APPROVAL_REJECTED',
        actor: signer,
        subject: row.id,
        details: { guardianId: guardian.id, guardian: guardian.name, operation: row.operation, payloadHash: row.payload_hash, via, ...(closes ? { requestClosed: true } : {}) },
      });
    })();
    return this.requests.view(row.id);
  }

  private canStillReachQuorum(row: RequestRow): boolean {
    const approvals = this.requests.approvalsOf(row.id);
    const requester = requesterOf(row);
    const eligible = this.registry.active().filter((g) => !isRequester(requester, g));
    const rejected = new Set(approvals.filter((a) => a.decision === 'reject').map((a) => a.guardian_id));
    return eligible.filter((g) => !rejected.has(g.id)).length >= QUORUM;
  }

  // --- the guard -------------------------------------------------------------------------------

  private assess(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { row: RequestRow; approvers: string[]; approvals: ApprovalRow[]; counted: string[] } {
    this.ctx.requireUnlocked();
    if (!isGuardedOperation(operation)) fail('GUARD_PAYLOAD_MISMATCH', `"${operation}" is not a guarded operation kind.`);
    const row = this.requests.row(requestId);
    const context = JSON.parse(row.context) as Record<string, unknown>;
    if (row.operation !== operation || row.subject !== subject || payloadHash(this.ctx.vaultId(), operation, subject, parameters, context) !== row.payload_hash) {
      fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId.slice(0, 8)} approves "${operationLabel(row.operation)}" for ${row.subject} with other parameters than the operation about to run. Nothing was done; create a request for exactly this operation.`, { requestId });
    }
    if (row.status !== 'pending') {
      fail('APPROVAL_REQUEST_CLOSED', row.status === 'executed'
        ? `Request ${requestId.slice(0, 8)} was already used at ${utcWords(row.closed_at ?? 0)}; an approval authorizes one run only. Create a new request.`
        : `Request ${requestId.slice(0, 8)} was rejected by the guardians. Nothing was done.`, { requestId });
    }
    const now = this.ctx.now();
    if (now > row.expires_at) {
      fail('APPROVAL_EXPIRED', `Request ${requestId.slice(0, 8)} expired ${describeDuration(now - row.expires_at)} ago (at ${utcWords(row.expires_at)}). Nothing was done; create a new request.`, { requestId });
    }
    // Re-verified here: a guardian requester's signature is what makes the requester known.
    this.requests.assertRequesterProven(row);
    const guardians = this.registry.active();
    if (guardians.length < GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_INCOMPLETE', `Only ${guardians.length} of ${GUARDIAN_COUNT} guardians are enrolled; no quorum is possible.`);
    const approvals = this.requests.approvalsOf(row.id);
    const counted = countedApprovals(row, approvals, guardians);
    const names = counted.map((id) => guardians.find((g) => g.id === id)?.name ?? id);
    if (counted.length < QUORUM) {
      const decided = new Set(approvals.map((a) => a.guardian_id));
      const requester = requesterOf(row);
      const waiting = guardians.filter((g) => !isRequester(requester, g) && !decided.has(g.id)).map((g) => g.name);
      fail(
        'QUORUM_NOT_MET',
        `${counted.length} of ${QUORUM} required guardian approvals${names.length ? ` (${names.join(', ')})` : ''}. ${waiting.length ? `Waiting for ${waiting.join(' or ')}.` : 'No guardian is left who could approve; create a new request.'} Nothing was done.`,
        { requestId, approvals: counted.length, quorum: QUORUM },
      );
    }
    return { row, approvers: names, approvals, counted };
  }

  checkApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): void {
    this.assess(operation, subject, parameters, requestId);
  }

  requireApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { approvers: string[] } {
    return this.ctx.db.transaction(() => {
      const { row, approvers, approvals, counted } = this.assess(operation, subject, parameters, requestId);
      const closedAt = this.ctx.now();
      const consumed = this.ctx.db.prepare("UPDATE approval_requests SET status = 'executed', closed_at = ? WHERE id = ? AND status = 'pending'").run(closedAt, row.id);
      if (consumed.changes !== 1) fail('APPROVAL_REQUEST_CLOSED', 'This request was used by another operation a moment ago. Nothing was done.', { requestId });
      // The guardian set and the decisions as they stand now, before the operation may change them.
      this.requests.outcomes.record(row, 'executed', closedAt, approvals, this.registry.all(), this.registry.epoch(), counted, QUORUM);
      this.ctx.audit.append({ type: 'GUARDED_OPERATION_EXECUTED', actor: 'operator', subject: row.id, details: { operation, subject, payloadHash: row.payload_hash, approvers } });
      return { approvers };
    })();
  }
}
