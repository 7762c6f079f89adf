/**
 * Approval requests for guarded operations: creating them for an authenticated requester, the
 * nonces approvals must carry, their status, and the views the console shows.
 *
 * The requester is part of what guardians sign: the request's context names who asked and, for a
 * guardian, the address of the key that signed the request, so the payload hash (and every
 * approval over it) commits to the requester, and editing the requester in the database
 * invalidates every approval.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { getAddress, hexlify } from 'ethers';
import type { ApprovalDecision, ApprovalRequestList, ApprovalRequestStatus, ApprovalRequestView, ApprovalVia, LedgerHashesView } from '../../preload/contract';
import { fail } from '../errors';
import { describeDuration } from '../platform/duration';
import { countedApprovals, isRequester, requesterOf } from './approvals';
import { RequestOutcomes } from './outcomes';
import { GUARDIAN_COUNT, iso, kindWords, QUORUM, utcWords, type GuardianContext } from './context';
import { operationLabel, type GuardedOperationKind } from './guarded-operations';
import type { GuardianRegistryStore, GuardianRow } from './registry';
import { APPROVAL_TYPES, hashedParts, ledgerDisplayHex, payloadHash, recoverSigner, REQUEST_TYPES, type ApprovalMessage, type RequestMessage } from './typed-data';

export interface RequestRow {
  id: string;
  operation: string;
  subject: string;
  parameters: string;
  context: string;
  payload_hash: string;
  requester_guardian_id: string | null;
  requester_name: string;
  requester_address: string | null;
  requester_signature: string | null;
  created_at: number;
  expires_at: number;
  status: 'pending' | 'executed' | 'rejected';
  closed_at: number | null;
}

export interface ApprovalRow {
  request_id: string;
  guardian_id: string;
  address: string;
  decision: ApprovalDecision;
  nonce: string;
  signature: string;
  via: ApprovalVia;
  received_at: number;
}

export interface NewRequest {
  operation: GuardedOperationKind;
  subject: string;
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
  ttlMinutes: number;
}

/** A request about to be created: everything the requester signs, nothing stored yet. */
export interface RequestDraft {
  id: string;
  input: NewRequest;
  context: Record<string, unknown>;
  payloadHash: string;
  createdAt: number;
  expiresAt: number;
  requester: GuardianRow | null;
}

/** Amounts named in an operation's parameters ({ amount, asset } or a list of them), in words. */
function amountsInWords(parameters: Record<string, unknown>): string[] {
  const one = (p: unknown): string | null => {
    if (!p || typeof p !== 'object') return null;
    const { amount, asset } = p as { amount?: unknown; asset?: unknown };
    if (typeof amount !== 'string' && typeof amount !== 'number') return null;
    return typeof asset === 'string' ? `${amount} ${asset}` : String(amount);
  };
  const list = Array.isArray(parameters.amounts) ? parameters.amounts : [parameters];
  return list.map(one).filter((text): text is string => text !== null);
}

export class ApprovalRequests {
  /**
   * Request id → the nonce the next Ledger signature on it will carry. Pinned so the hashes the
   * screen shows before the operator presses the button are the ones the device is sent, and
   * stay the same across refreshes until a Ledger signature consumes the nonce.
   */
  private readonly ledgerNonces = new Map<string, string>();

  /** How closed requests closed, as recorded then; history is read from here. */
  readonly outcomes: RequestOutcomes;

  constructor(private readonly ctx: GuardianContext, private readonly registry: GuardianRegistryStore) {
    this.outcomes = new RequestOutcomes(ctx);
  }

  row(requestId: string): RequestRow {
    const row = this.ctx.db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(requestId) as RequestRow | undefined;
    if (!row) fail('APPROVAL_REQUEST_NOT_FOUND', `There is no approval request ${requestId} on this console. It may belong to another vault.`, { requestId });
    return row;
  }

  approvalsOf(requestId: string): ApprovalRow[] {
    return this.ctx.db.prepare('SELECT * FROM approvals WHERE request_id = ? ORDER BY received_at, rowid').all(requestId) as ApprovalRow[];
  }

  /**
   * The request as the requester will sign it. `requester` is the guardian who asks (their key
   * must sign `requesterMessage`), or null for the console operator.
   */
  draft(input: NewRequest, requester: GuardianRow | null): RequestDraft {
    const active = this.registry.active();
    if (active.length < GUARDIAN_COUNT) {
      fail('GUARDIAN_REGISTRY_INCOMPLETE', `Only ${active.length} of ${GUARDIAN_COUNT} guardians are enrolled. Enrol all three before requesting a guarded operation.`);
    }
    const id = randomUUID();
    const createdAt = this.ctx.now();
    const expiresAt = createdAt + input.ttlMinutes * 60_000;
    const context = { ...input.context, requestedBy: requester ? requester.name : 'operator', requesterAddress: requester ? requester.address : null };
    const hash = payloadHash(this.ctx.vaultId(), input.operation, input.subject, input.parameters, context);
    return { id, input, context, payloadHash: hash, createdAt, expiresAt, requester };
  }

  requesterMessage(draft: RequestDraft): RequestMessage {
    return { vaultId: this.ctx.vaultId(), requestId: draft.id, operation: draft.input.operation, subject: draft.input.subject, payloadHash: draft.payloadHash, expiry: Math.floor(draft.expiresAt / 1000) };
  }

  /**
   * Stores the request. A guardian requester's signature is verified here against the key
   * registered for that guardian. With `awaitingRemote` the guardian signs later on their own
   * machine (a request file): until that signature is imported, nobody can approve the request and
   * the guard refuses it.
   */
  insert(draft: RequestDraft, requesterSignature: string | null, awaitingRemote = false): ApprovalRequestView {
    const { requester, input } = draft;
    if (requester && !awaitingRemote) {
      const signer = requesterSignature ? recoverSigner(REQUEST_TYPES, this.requesterMessage(draft), requesterSignature) : null;
      if (!signer || signer !== getAddress(requester.address)) {
        fail('REQUESTER_SIGNATURE_INVALID', `The request was not signed by ${requester.name}'s registered key (${requester.address})${signer ? `; it was signed by ${signer}` : ''}. No request was created; ${requester.name} must sign with their own Ledger or key file.`);
      }
    }
    this.ctx.db.transaction(() => {
      // Registry re-read inside the transaction: the requester must still be a current guardian.
      if (requester && !this.registry.active().some((g) => g.id === requester.id && g.address === requester.address)) {
        fail('GUARDIAN_NOT_FOUND', 'The requesting guardian is no longer in the registry. No request was created.');
      }
      this.ctx.db
        .prepare(`INSERT INTO approval_requests (id, operation, subject, parameters, context, payload_hash, requester_guardian_id, requester_name, requester_address, requester_signature, created_at, expires_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          draft.id, input.operation, input.subject, canonicalize(input.parameters), canonicalize(draft.context), draft.payloadHash,
          requester?.id ?? null, requester?.name ?? 'operator', requester?.address ?? null, requester && !awaitingRemote ? requesterSignature : null, draft.createdAt, draft.expiresAt,
        );
      this.ctx.audit.append({
        type: 'APPROVAL_REQUESTED',
        actor: requester?.address ?? 'operator',
        subject: draft.id,
        details: { operation: input.operation, subject: input.subject, payloadHash: draft.payloadHash, expiresAt: iso(draft.expiresAt), requester: requester ? { guardianId: requester.id, name: requester.name, signed: !awaitingRemote } : 'operator' },
      });
    })();
    return this.view(draft.id);
  }

  /** The message a guardian requester signs, rebuilt from the stored request. */
  requesterMessageOf(row: RequestRow): RequestMessage {
    return { vaultId: this.ctx.vaultId(), requestId: row.id, operation: row.operation, subject: row.subject, payloadHash: row.payload_hash, expiry: Math.floor(row.expires_at / 1000) };
  }

  /**
   * Whether the requester is proven: the operator (proven when the request was made), or a
   * guardian whose stored signature over the request verifies for their key.
   */
  requesterProven(row: RequestRow): boolean {
    if (row.requester_guardian_id === null && row.requester_address === null) return true;
    if (!row.requester_address || !row.requester_signature) return false;
    return recoverSigner(REQUEST_TYPES, this.requesterMessageOf(row), row.requester_signature) === row.requester_address;
  }

  /** Refuses anything but reading a request whose guardian requester has not signed it yet. */
  assertRequesterProven(row: RequestRow): void {
    if (!this.requesterProven(row)) {
      fail('REQUESTER_NOT_SIGNED', `${row.requester_name} has not signed request ${row.id.slice(0, 8)} yet, so nobody can approve it and it cannot run. Give ${row.requester_name} the requester file to sign on their own machine and import the signed file.`, { requestId: row.id });
    }
  }

  /** Stores the guardian requester's signature made on their own machine (remote flow). */
  recordRequesterSignature(requestId: string, signature: string): ApprovalRequestView {
    const row = this.openRow(requestId);
    if (!row.requester_address) fail('REQUESTER_SIGNATURE_INVALID', 'The operator requested this operation; there is no guardian signature to import.', { requestId });
    if (this.requesterProven(row)) fail('REQUESTER_SIGNATURE_INVALID', `${row.requester_name} already signed this request.`, { requestId });
    const signer = recoverSigner(REQUEST_TYPES, this.requesterMessageOf(row), signature);
    if (signer !== row.requester_address) {
      fail('REQUESTER_SIGNATURE_INVALID', `The signed request file is not signed by ${row.requester_name}'s registered key (${row.requester_address})${signer ? `; it was signed by ${signer}` : ''}, or it was signed for another request. Nothing was recorded.`, { requestId });
    }
    this.ctx.db.transaction(() => {
      this.ctx.db.prepare('UPDATE approval_requests SET requester_signature = ? WHERE id = ? AND requester_signature IS NULL').run(signature, row.id);
      this.ctx.audit.append({ type: 'APPROVAL_REQUEST_SIGNED', actor: signer, subject: row.id, details: { guardianId: row.requester_guardian_id, name: row.requester_name, via: 'file' } });
    })();
    return this.view(row.id);
  }

  private statusOf(row: RequestRow): ApprovalRequestStatus {
    if (row.status === 'pending' && this.ctx.now() > row.expires_at) return 'expired';
    return row.status;
  }

  private summary(row: RequestRow, parameters: Record<string, unknown>, context: Record<string, unknown>): string[] {
    const lines: string[] = [];
    if (row.operation === 'vault.passphrase.change') {
      const kdf = parameters.newKdf as { N?: number } | undefined;
      lines.push(`Change the passphrase of this vault (${row.subject}).`);
      lines.push(`The current passphrase stops working; the vault master key is re-wrapped under the new one (scrypt N=${kdf?.N ?? '?'}).`);
      lines.push('The new passphrase is typed by the operator when the change runs; it is not part of this request.');
    } else if (row.operation === 'guardian.replace') {
      const p = parameters as Record<string, string | number | null>;
      lines.push(`Replace guardian ${p.slot}, "${p.currentName}" (${p.currentAddress}),`);
      lines.push(`with "${p.newName}", a ${kindWords(String(p.newKind))} guardian with address ${p.newAddress}.`);
      lines.push(`"${p.currentName}" can no longer approve anything once this runs.`);
    } else {
      lines.push(`${operationLabel(row.operation)}: ${row.subject}.`);
    }
    if (typeof context.reason === 'string') lines.push(`Reason given: ${context.reason}`);
    lines.push(row.requester_address
      ? `Requested by guardian ${row.requester_name}, signed with their key ${row.requester_address}: their own approval does not count.`
      : 'Requested by the console operator, who confirmed it with the vault passphrase.');
    return lines;
  }

  view(requestId: string): ApprovalRequestView {
    this.ctx.requireUnlocked();
    return this.toView(this.row(requestId));
  }

  private toView(row: RequestRow): ApprovalRequestView {
    const all = this.registry.all();
    const byId = new Map(all.map((g) => [g.id, g]));
    const approvals = this.approvalsOf(row.id);
    const parameters = JSON.parse(row.parameters) as Record<string, unknown>;
    const context = JSON.parse(row.context) as Record<string, unknown>;
    const outcome = row.status === 'pending' ? null : this.outcomes.read(row.id);
    const counted = countedApprovals(row, approvals, all);
    const decided = new Set(approvals.map((a) => a.guardian_id));
    const requester = requesterOf(row);
    const waitingFor = all
      .filter((g) => g.status === 'active' && !isRequester(requester, g) && !decided.has(g.id))
      .map((g) => g.name);
    return {
      id: row.id,
      operation: row.operation,
      operationLabel: operationLabel(row.operation),
      subject: row.subject,
      subjectLabel: this.subjectLabel(row, parameters),
      amounts: amountsInWords(parameters),
      summary: this.summary(row, parameters, context),
      parameters,
      context,
      payloadHash: row.payload_hash,
      requester: { guardianId: row.requester_guardian_id, name: row.requester_name, address: row.requester_address, signed: this.requesterProven(row) },
      createdAt: iso(row.created_at),
      expiresAt: iso(row.expires_at),
      status: this.statusOf(row),
      approvals: outcome ? outcome.approvals : approvals.map((a) => {
        const g = byId.get(a.guardian_id);
        return {
          guardianId: a.guardian_id,
          guardianName: g?.name ?? a.address,
          address: a.address,
          decision: a.decision,
          via: a.via,
          at: iso(a.received_at),
          counts: a.decision === 'approve' && counted.includes(a.guardian_id),
        };
      }),
      approvalsCounted: outcome ? outcome.approvalsCounted : counted.length,
      quorum: outcome ? outcome.quorum : QUORUM,
      guardianSet: outcome ? outcome.guardianSet : null,
      historyNote: row.status !== 'pending' && !outcome
        ? 'Closed before this console recorded the guardian set with each run: the counts shown are checked against today\'s guardians and may differ from those at the time.'
        : null,
      waitingFor: row.status === 'pending' ? waitingFor : [],
      executedAt: row.status === 'executed' && row.closed_at ? iso(row.closed_at) : null,
      now: iso(this.ctx.now()),
      ledger: this.ledgerHashes(row, all),
    };
  }

  private subjectLabel(row: RequestRow, parameters: Record<string, unknown>): string {
    if (row.operation === 'vault.passphrase.change') return `This vault (${row.subject})`;
    if (row.operation === 'guardian.replace') {
      const p = parameters as Record<string, string | number | null>;
      return `Guardian ${p.slot}, "${p.currentName}" (${p.currentAddress})`;
    }
    return row.subject;
  }

  list(): ApprovalRequestList {
    this.ctx.requireUnlocked();
    const rows = this.ctx.db.prepare('SELECT * FROM approval_requests ORDER BY created_at DESC LIMIT 200').all() as RequestRow[];
    const views = rows.map((r) => this.toView(r));
    return { pending: views.filter((v) => v.status === 'pending'), history: views.filter((v) => v.status !== 'pending') };
  }

  // --- nonces and the messages guardians sign ---------------------------------------------------

  /** A fresh single-use nonce bound to one request; an approval must carry one of these. */
  private issueNonce(requestId: string): string {
    const nonce = hexlify(randomBytes(32));
    this.ctx.db.prepare('INSERT INTO approval_nonces (nonce, request_id, issued_at) VALUES (?, ?, ?)').run(nonce, requestId, this.ctx.now());
    return nonce;
  }

  /** A request that is pending and unexpired. */
  openRow(requestId: string): RequestRow {
    const row = this.row(requestId);
    const now = this.ctx.now();
    if (row.status !== 'pending') fail('APPROVAL_REQUEST_CLOSED', `This request is already ${row.status}; it cannot be signed any more.`, { requestId });
    if (now > row.expires_at) fail('APPROVAL_EXPIRED', `This request expired ${describeDuration(now - row.expires_at)} ago (at ${utcWords(row.expires_at)}). Create a new request.`, { requestId });
    return row;
  }

  /** A request guardians may decide on now: open, and its requester proven. */
  openForSigning(requestId: string): RequestRow {
    const row = this.openRow(requestId);
    this.assertRequesterProven(row);
    return row;
  }

  /** The message a guardian signs for this request, with a freshly issued nonce. */
  prepareMessage(requestId: string, decision: ApprovalDecision): ApprovalMessage {
    this.ctx.requireUnlocked();
    const row = this.openForSigning(requestId);
    return { requestId: row.id, payloadHash: row.payload_hash, operation: row.operation, nonce: this.issueNonce(row.id), expiry: Math.floor(row.expires_at / 1000), decision };
  }

  /** The nonce pinned for the next Ledger signature on this request, issuing one if needed. */
  private ledgerNonce(row: RequestRow): string {
    const pinned = this.ledgerNonces.get(row.id);
    if (pinned) {
      const stored = this.ctx.db.prepare('SELECT request_id, consumed_at FROM approval_nonces WHERE nonce = ?').get(pinned) as { request_id: string; consumed_at: number | null } | undefined;
      if (stored && stored.request_id === row.id && stored.consumed_at === null) return pinned;
    }
    const nonce = this.issueNonce(row.id);
    this.ledgerNonces.set(row.id, nonce);
    return nonce;
  }

  ledgerMessage(row: RequestRow, decision: ApprovalDecision): ApprovalMessage {
    return { requestId: row.id, payloadHash: row.payload_hash, operation: row.operation, nonce: this.ledgerNonce(row), expiry: Math.floor(row.expires_at / 1000), decision };
  }

  ledgerNonceUsed(requestId: string): void {
    this.ledgerNonces.delete(requestId);
  }

  private ledgerHashes(row: RequestRow, guardians: GuardianRow[]): LedgerHashesView | null {
    const open = row.status === 'pending' && this.ctx.now() <= row.expires_at && this.requesterProven(row);
    const requester = requesterOf(row);
    const ledgerSigners = guardians.some((g) => g.status === 'active' && g.kind === 'ledger' && !isRequester(requester, g));
    if (!open || !ledgerSigners) {
      this.ledgerNonces.delete(row.id);
      return null;
    }
    const approve = hashedParts(APPROVAL_TYPES, this.ledgerMessage(row, 'approve'));
    const reject = hashedParts(APPROVAL_TYPES, this.ledgerMessage(row, 'reject'));
    return {
      domainHash: ledgerDisplayHex(approve.domainSeparator),
      messageHash: { approve: ledgerDisplayHex(approve.hashStruct), reject: ledgerDisplayHex(reject.hashStruct) },
    };
  }
}
