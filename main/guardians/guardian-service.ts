/**
 * Guardians and their quorum: the registry of three guardians, approval requests for guarded
 * operations, EIP-712 approvals (Ledger, software key file, imported file) and the guard that
 * guarded operations call.
 *
 * Quorum rule: two approvals, from two distinct guardians that are registered now, neither of
 * them the requester, each a valid signature over the request as it stands (payload hash,
 * operation, expiry), each with a nonce this console issued for that request and never used
 * before, all before the request expires. A request is closed as rejected as soon as the
 * rejections leave too few guardians to reach the quorum.
 *
 * Registry rows carry an HMAC under a vault subkey, so a guardian swapped in the database file
 * behind the console's back is refused rather than trusted.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { getAddress, hexlify, isHexString } from 'ethers';
import QRCode from 'qrcode';
import type {
  ApprovalDecision,
  ApprovalRequestList,
  ApprovalRequestStatus,
  ApprovalRequestView,
  ApprovalVia,
  GuardianKind,
  LedgerHashesView,
  GuardianRegistry,
  GuardianView,
  RequestFileExport,
  SoftwareKeyCreated,
} from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import { describeDuration } from '../platform/duration';
import type { Db } from '../store/database';
import { judgePassphrase } from '../vault/passphrase-policy';
import type { VaultService } from '../vault/vault-service';
import type { OperationGuard } from './guard';
import { isGuardedOperation, operationLabel, type GuardedOperationKind } from './guarded-operations';
import { createKeyFile, keyFileAddress, KEY_FILE_SCRYPT_N, withKeyFile } from './key-file';
import {
  APPROVAL_DOMAIN,
  APPROVAL_TYPES,
  approvalTypedData,
  ENROLMENT_TYPES,
  hashedParts,
  ledgerDisplayHex,
  payloadHash,
  recoverSigner,
  type ApprovalMessage,
  type EnrolmentMessage,
} from './typed-data';

export const GUARDIAN_COUNT = 3;
export const QUORUM = 2;

export type NewGuardian =
  | { method: 'ledger'; name: string; derivationPath: string }
  | { method: 'software'; name: string; keyFile: string; passphrase: string };

interface GuardianRow {
  id: string;
  slot: number;
  name: string;
  kind: GuardianKind;
  address: string;
  derivation_path: string | null;
  enrolled_at: string;
  proof_signature: string;
  status: 'active' | 'replaced';
  replaced_at: string | null;
  replaced_by: string | null;
  mac: string;
}

interface RequestRow {
  id: string;
  operation: string;
  subject: string;
  parameters: string;
  context: string;
  payload_hash: string;
  requester_guardian_id: string | null;
  requester_name: string;
  created_at: number;
  expires_at: number;
  status: 'pending' | 'executed' | 'rejected';
  closed_at: number | null;
}

interface ApprovalRow {
  request_id: string;
  guardian_id: string;
  address: string;
  decision: ApprovalDecision;
  nonce: string;
  signature: string;
  via: ApprovalVia;
  received_at: number;
}

/** A proven new guardian: the key signed an enrolment challenge for this vault and name. */
interface ProvenGuardian {
  name: string;
  kind: GuardianKind;
  address: string;
  derivationPath: string | null;
  proof: { challenge: string; signature: string };
}

export interface GuardianServiceOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  vault: VaultService;
  dataDir: string;
  ledger: LedgerDevice;
  /** scrypt cost of key files the console creates; tests lower it. */
  keyFileScryptN?: number;
}

const short = (hex: string) => `${hex.slice(0, 10)}…`;
const iso = (ms: number) => new Date(ms).toISOString();
const utcWords = (ms: number) => `${iso(ms).slice(0, 16).replace('T', ' ')} UTC`;
const kindWords = (kind: string) => (kind === 'ledger' ? 'Ledger' : 'software key');

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

function isMessage(value: unknown): value is ApprovalMessage {
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

export class GuardianService implements OperationGuard {
  /**
   * Request id → the nonce the next Ledger signature on it will carry. Pinned so the hashes the
   * screen shows before the operator presses the button are the ones the device is sent, and
   * stay the same across refreshes until a Ledger signature consumes the nonce.
   */
  private readonly ledgerNonces = new Map<string, string>();

  constructor(private readonly options: GuardianServiceOptions) {}

  private get db(): Db {
    return this.options.db;
  }

  private now(): number {
    return this.options.clock.now();
  }

  currentVaultId(): string {
    return this.vaultId();
  }

  private vaultId(): string {
    const row = this.db.prepare('SELECT vault_id FROM vault_meta WHERE id = 1').get() as { vault_id: string } | undefined;
    if (!row) fail('VAULT_NOT_CREATED', 'No vault exists on this machine yet. Create one first.');
    return row.vault_id;
  }

  /** Every guardian operation needs the unlocked vault (the registry MAC key lives there). */
  private requireUnlocked(): void {
    this.options.vault.keyRing();
  }

  // --- registry integrity -------------------------------------------------------------------

  private mac(row: Omit<GuardianRow, 'mac'>): string {
    const key = this.options.vault.keyRing().subkey('guardians/registry-mac');
    const text = canonicalize({
      id: row.id, slot: row.slot, name: row.name, kind: row.kind, address: row.address, derivationPath: row.derivation_path,
      enrolledAt: row.enrolled_at, proof: row.proof_signature, status: row.status, replacedAt: row.replaced_at, replacedBy: row.replaced_by,
      vaultId: this.vaultId(),
    });
    return createHmac('sha256', key).update(text ?? '').digest('hex');
  }

  private allGuardians(): GuardianRow[] {
    const rows = this.db.prepare('SELECT * FROM guardians ORDER BY slot, enrolled_at').all() as GuardianRow[];
    for (const row of rows) {
      const expected = Buffer.from(this.mac(row), 'hex');
      const stored = Buffer.from(row.mac, 'hex');
      if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) {
        fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry entry for slot ${row.slot} ("${row.name}") was changed outside Vaultkeeper. Do not approve anything; restore the vault from a backup and re-check the guardians.`, { slot: row.slot });
      }
    }
    return rows;
  }

  private activeGuardians(): GuardianRow[] {
    return this.allGuardians().filter((g) => g.status === 'active');
  }

  private toView(row: GuardianRow): GuardianView {
    return { id: row.id, slot: row.slot, name: row.name, kind: row.kind, address: row.address, derivationPath: row.derivation_path, enrolledAt: row.enrolled_at };
  }

  registry(): GuardianRegistry {
    this.requireUnlocked();
    const guardians = this.activeGuardians().map((g) => this.toView(g));
    return { guardians, complete: guardians.length === GUARDIAN_COUNT, required: GUARDIAN_COUNT, quorum: QUORUM };
  }

  // --- enrolment -----------------------------------------------------------------------------

  async createSoftwareKey(passphrase: string, confirmation: string): Promise<SoftwareKeyCreated> {
    this.requireUnlocked();
    if (passphrase !== confirmation) fail('PASSPHRASE_MISMATCH', 'The two key file passphrases do not match. Type the same passphrase in both fields.');
    const verdict = judgePassphrase(passphrase);
    if (!verdict.acceptable) fail('WEAK_PASSPHRASE', verdict.reason);
    const { address, json } = await createKeyFile(passphrase, this.options.keyFileScryptN ?? KEY_FILE_SCRYPT_N);
    const dir = join(this.options.dataDir, 'guardian-keys');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `guardian-key-${address.slice(2, 10).toLowerCase()}.json`);
    writeFileSync(path, json, { mode: 0o600, flag: 'wx' });
    this.options.audit.append({ type: 'GUARDIAN_KEY_FILE_CREATED', actor: 'operator', subject: address, details: { file: path } });
    return { address, path };
  }

  private enrolmentMessage(name: string): EnrolmentMessage {
    return { vaultId: this.vaultId(), guardianName: name, challenge: hexlify(randomBytes(32)) };
  }

  /** Has the new guardian's key sign a fresh challenge, and checks the signature. */
  private async prove(candidate: NewGuardian): Promise<ProvenGuardian> {
    const message = this.enrolmentMessage(candidate.name);
    let address: string;
    let signature: string;
    if (candidate.method === 'ledger') {
      ({ address, signature } = await this.options.ledger.signTypedDataHash(candidate.derivationPath, null, () => hashedParts(ENROLMENT_TYPES, message)));
    } else {
      ({ address, signature } = await withKeyFile(candidate.keyFile, candidate.passphrase, async (wallet) => ({
        address: wallet.address,
        signature: await wallet.signTypedData(APPROVAL_DOMAIN, ENROLMENT_TYPES, message),
      })));
    }
    const recovered = recoverSigner(ENROLMENT_TYPES, message, signature);
    if (!recovered || recovered !== getAddress(address)) {
      fail('ENROLMENT_PROOF_INVALID', `The enrolment signature does not come from ${address}; the key could not prove possession. Nothing was enrolled.`);
    }
    const kind: GuardianKind = candidate.method === 'ledger' ? 'ledger' : 'software';
    return { name: candidate.name, kind, address: recovered, derivationPath: candidate.method === 'ledger' ? candidate.derivationPath.replace(/^m\//, '') : null, proof: { challenge: message.challenge, signature } };
  }

  private checkProof(g: ProvenGuardian): void {
    const message: EnrolmentMessage = { vaultId: this.vaultId(), guardianName: g.name, challenge: g.proof.challenge };
    if (recoverSigner(ENROLMENT_TYPES, message, g.proof.signature) !== g.address) {
      fail('ENROLMENT_PROOF_INVALID', `The enrolment proof for ${g.name} (${g.address}) does not verify. Nothing was changed.`);
    }
  }

  private assertNotRegistered(address: string, except?: string): void {
    const clash = this.activeGuardians().find((g) => g.address === address && g.id !== except);
    if (clash) fail('GUARDIAN_ALREADY_REGISTERED', `${address} is already guardian ${clash.slot} ("${clash.name}"). Each guardian needs a key of their own.`, { slot: clash.slot });
  }

  private insertGuardian(slot: number, g: ProvenGuardian): GuardianRow {
    const base = {
      id: randomUUID(), slot, name: g.name, kind: g.kind, address: g.address, derivation_path: g.derivationPath,
      enrolled_at: iso(this.now()), proof_signature: JSON.stringify(g.proof), status: 'active' as const, replaced_at: null, replaced_by: null,
    };
    const row: GuardianRow = { ...base, mac: this.mac(base) };
    this.db
      .prepare(`INSERT INTO guardians (id, slot, name, kind, address, derivation_path, enrolled_at, proof_signature, status, replaced_at, replaced_by, mac)
                VALUES (@id, @slot, @name, @kind, @address, @derivation_path, @enrolled_at, @proof_signature, @status, @replaced_at, @replaced_by, @mac)`)
      .run(row);
    return row;
  }

  /** Initial enrolment: fills the three slots. After that, guardians change only by replacement. */
  async enrol(candidate: NewGuardian): Promise<GuardianRegistry> {
    this.requireUnlocked();
    if (this.activeGuardians().length >= GUARDIAN_COUNT) {
      fail('GUARDIAN_REGISTRY_FULL', 'All three guardians are enrolled. To change one, request a guardian replacement; two guardians must approve it.');
    }
    const proven = await this.prove(candidate);
    this.db.transaction(() => {
      const active = this.activeGuardians();
      if (active.length >= GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_FULL', 'All three guardians are enrolled. To change one, request a guardian replacement.');
      this.assertNotRegistered(proven.address);
      const taken = new Set(active.map((g) => g.slot));
      const slot = [1, 2, 3].find((s) => !taken.has(s)) ?? 1;
      const row = this.insertGuardian(slot, proven);
      this.options.audit.append({ type: 'GUARDIAN_ENROLLED', actor: 'operator', subject: row.address, details: { guardianId: row.id, slot, name: row.name, kind: row.kind } });
    })();
    return this.registry();
  }

  // --- requests ------------------------------------------------------------------------------

  private requestRow(requestId: string): RequestRow {
    const row = this.db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(requestId) as RequestRow | undefined;
    if (!row) fail('APPROVAL_REQUEST_NOT_FOUND', `There is no approval request ${requestId} on this console. It may belong to another vault.`, { requestId });
    return row;
  }

  /** Opens a request for a guarded operation; guardians then approve or reject it. */
  createRequest(input: {
    operation: GuardedOperationKind;
    subject: string;
    parameters: Record<string, unknown>;
    context: Record<string, unknown>;
    requesterGuardianId: string | null;
    ttlMinutes: number;
  }): ApprovalRequestView {
    this.requireUnlocked();
    const active = this.activeGuardians();
    if (active.length < GUARDIAN_COUNT) {
      fail('GUARDIAN_REGISTRY_INCOMPLETE', `Only ${active.length} of ${GUARDIAN_COUNT} guardians are enrolled. Enrol all three before requesting a guarded operation.`);
    }
    let requesterName = 'operator';
    if (input.requesterGuardianId) {
      const requester = active.find((g) => g.id === input.requesterGuardianId);
      if (!requester) fail('GUARDIAN_NOT_FOUND', 'The requester is not one of the current guardians. Pick a current guardian, or request as the operator.');
      requesterName = requester.name;
    }
    const id = randomUUID();
    const now = this.now();
    const context = { ...input.context, requestedBy: requesterName };
    const hash = payloadHash(this.vaultId(), input.operation, input.subject, input.parameters, context);
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO approval_requests (id, operation, subject, parameters, context, payload_hash, requester_guardian_id, requester_name, created_at, expires_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, input.operation, input.subject, canonicalize(input.parameters), canonicalize(context), hash, input.requesterGuardianId, requesterName, now, now + input.ttlMinutes * 60_000);
      this.options.audit.append({
        type: 'APPROVAL_REQUESTED',
        actor: input.requesterGuardianId ?? 'operator',
        subject: id,
        details: { operation: input.operation, subject: input.subject, payloadHash: hash, expiresAt: iso(now + input.ttlMinutes * 60_000) },
      });
    })();
    return this.view(id);
  }

  private statusOf(row: RequestRow): ApprovalRequestStatus {
    if (row.status === 'pending' && this.now() > row.expires_at) return 'expired';
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
    lines.push(`Requested by ${row.requester_name}${row.requester_guardian_id ? ' (a guardian: their own approval does not count)' : ''}.`);
    return lines;
  }

  view(requestId: string): ApprovalRequestView {
    this.requireUnlocked();
    return this.toRequestView(this.requestRow(requestId));
  }

  private toRequestView(row: RequestRow): ApprovalRequestView {
    const all = this.allGuardians();
    const byId = new Map(all.map((g) => [g.id, g]));
    const approvals = this.db.prepare('SELECT * FROM approvals WHERE request_id = ? ORDER BY received_at, rowid').all(row.id) as ApprovalRow[];
    const parameters = JSON.parse(row.parameters) as Record<string, unknown>;
    const context = JSON.parse(row.context) as Record<string, unknown>;
    const counted = this.countedApprovals(row, approvals, all);
    const decided = new Set(approvals.map((a) => a.guardian_id));
    const waitingFor = all
      .filter((g) => g.status === 'active' && g.id !== row.requester_guardian_id && !decided.has(g.id))
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
      requester: { guardianId: row.requester_guardian_id, name: row.requester_name },
      createdAt: iso(row.created_at),
      expiresAt: iso(row.expires_at),
      status: this.statusOf(row),
      approvals: approvals.map((a) => {
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
      approvalsCounted: counted.length,
      quorum: QUORUM,
      waitingFor: row.status === 'pending' ? waitingFor : [],
      executedAt: row.status === 'executed' && row.closed_at ? iso(row.closed_at) : null,
      now: iso(this.now()),
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

  /** The nonce pinned for the next Ledger signature on this request, issuing one if needed. */
  private ledgerNonce(row: RequestRow): string {
    const pinned = this.ledgerNonces.get(row.id);
    if (pinned) {
      const stored = this.db.prepare('SELECT request_id, consumed_at FROM approval_nonces WHERE nonce = ?').get(pinned) as { request_id: string; consumed_at: number | null } | undefined;
      if (stored && stored.request_id === row.id && stored.consumed_at === null) return pinned;
    }
    const nonce = this.issueNonce(row.id);
    this.ledgerNonces.set(row.id, nonce);
    return nonce;
  }

  private ledgerMessage(row: RequestRow, decision: ApprovalDecision): ApprovalMessage {
    return { requestId: row.id, payloadHash: row.payload_hash, operation: row.operation, nonce: this.ledgerNonce(row), expiry: Math.floor(row.expires_at / 1000), decision };
  }

  private ledgerHashes(row: RequestRow, guardians: GuardianRow[]): LedgerHashesView | null {
    const open = row.status === 'pending' && this.now() <= row.expires_at;
    const ledgerSigners = guardians.some((g) => g.status === 'active' && g.kind === 'ledger' && g.id !== row.requester_guardian_id);
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

  listRequests(): ApprovalRequestList {
    this.requireUnlocked();
    const rows = this.db.prepare('SELECT * FROM approval_requests ORDER BY created_at DESC LIMIT 200').all() as RequestRow[];
    const views = rows.map((r) => this.toRequestView(r));
    return { pending: views.filter((v) => v.status === 'pending'), history: views.filter((v) => v.status !== 'pending') };
  }

  // --- approvals -----------------------------------------------------------------------------

  /** A fresh single-use nonce bound to one request; an approval must carry one of these. */
  private issueNonce(requestId: string): string {
    const nonce = hexlify(randomBytes(32));
    this.db.prepare('INSERT INTO approval_nonces (nonce, request_id, issued_at) VALUES (?, ?, ?)').run(nonce, requestId, this.now());
    return nonce;
  }

  private openForSigning(requestId: string): RequestRow {
    const row = this.requestRow(requestId);
    if (row.status !== 'pending') fail('APPROVAL_REQUEST_CLOSED', `This request is already ${row.status}; it cannot be signed any more.`, { requestId });
    if (this.now() > row.expires_at) fail('APPROVAL_EXPIRED', `This request expired ${describeDuration(this.now() - row.expires_at)} ago (at ${utcWords(row.expires_at)}). Create a new request.`, { requestId });
    return row;
  }

  /** The message a guardian signs for this request, with a freshly issued nonce. */
  prepareMessage(requestId: string, decision: ApprovalDecision): ApprovalMessage {
    this.requireUnlocked();
    const row = this.openForSigning(requestId);
    return {
      requestId: row.id,
      payloadHash: row.payload_hash,
      operation: row.operation,
      nonce: this.issueNonce(row.id),
      expiry: Math.floor(row.expires_at / 1000),
      decision,
    };
  }

  /**
   * Signs on the Ledger with the pinned nonce. `shownMessageHash` is the message hash the screen
   * showed the operator (the IPC channel requires it); if it is no longer the current one, nothing
   * is sent to the device, so the device never asks about values the operator did not see.
   */
  async signWithLedger(requestId: string, guardianId: string, decision: ApprovalDecision, shownMessageHash?: string): Promise<ApprovalRequestView> {
    this.requireUnlocked();
    const guardian = this.activeGuardians().find((g) => g.id === guardianId);
    if (!guardian) fail('GUARDIAN_NOT_FOUND', 'That guardian is not in the registry any more. Refresh the list.');
    if (guardian.kind !== 'ledger' || !guardian.derivation_path) {
      fail('GUARDIAN_WRONG_DEVICE', `${guardian.name} holds a software key, not a Ledger. Approve with their key file instead.`);
    }
    const row = this.openForSigning(requestId);
    const message = this.ledgerMessage(row, decision);
    const parts = hashedParts(APPROVAL_TYPES, message);
    if (shownMessageHash !== undefined && ledgerDisplayHex(shownMessageHash) !== ledgerDisplayHex(parts.hashStruct)) {
      fail('LEDGER_DISPLAY_STALE', `The message hash on screen is out of date (another signature used it). Nothing was sent to the Ledger. Compare the new values now shown with the device, then ${decision} again.`, { requestId });
    }
    const { signature } = await this.options.ledger.signTypedDataHash(guardian.derivation_path, guardian.address, () => parts);
    const view = this.submitApproval(message, signature, 'ledger');
    this.ledgerNonces.delete(requestId);
    return view;
  }

  async signWithKeyFile(requestId: string, keyFile: string, passphrase: string, decision: ApprovalDecision): Promise<ApprovalRequestView> {
    this.requireUnlocked();
    const claimed = keyFileAddress(keyFile);
    const guardian = claimed ? this.activeGuardians().find((g) => g.address.toLowerCase() === claimed.toLowerCase()) : undefined;
    if (!claimed) fail('KEYFILE_INVALID', 'This is not an encrypted guardian key file (expected an Ethereum JSON keystore with an address).');
    if (!guardian) fail('KEYFILE_NOT_GUARDIAN', `This key file holds ${claimed}, which is not one of this vault's guardians. Nothing was signed.`);
    this.openForSigning(requestId);
    const signature = await withKeyFile(keyFile, passphrase, async (wallet) => {
      const message = this.prepareMessage(requestId, decision);
      return { message, signature: await wallet.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, message) };
    });
    return this.submitApproval(signature.message, signature.signature, 'software');
  }

  async exportRequest(requestId: string): Promise<RequestFileExport> {
    this.requireUnlocked();
    const message = this.prepareMessage(requestId, 'approve');
    const view = this.view(requestId);
    const typedData = approvalTypedData(message);
    const file = {
      format: 'vaultkeeper.approval-request/1',
      request: {
        id: view.id, operation: view.operation, operationLabel: view.operationLabel, subject: view.subject, summary: view.summary,
        parameters: view.parameters, context: view.context, payloadHash: view.payloadHash, requester: view.requester.name,
        createdAt: view.createdAt, expiresAt: view.expiresAt,
      },
      typedData,
      reply: 'Sign typedData with the guardian key (eth_signTypedData_v4; set message.decision to "reject" to refuse) and return {"format":"vaultkeeper.approval/1","message":<typedData.message>,"signature":"0x…"}.',
    };
    const json = `${JSON.stringify(file, null, 2)}\n`;
    const fileName = `approval-request-${view.id.slice(0, 8)}-${message.nonce.slice(2, 10)}.json`;
    const dir = join(this.options.dataDir, 'exports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, fileName);
    writeFileSync(path, json, { mode: 0o600 });
    const qrDataUrl = await QRCode.toDataURL(JSON.stringify({ format: 'vaultkeeper.approval-request/1', typedData }), { errorCorrectionLevel: 'M', margin: 2, width: 360 });
    return { fileName, path, json, qrDataUrl };
  }

  importApproval(fileText: string): ApprovalRequestView {
    this.requireUnlocked();
    let parsed: unknown;
    try {
      parsed = JSON.parse(fileText);
    } catch {
      fail('APPROVAL_FILE_INVALID', 'The approval file is not valid JSON. Choose the approval file the guardian returned.');
    }
    const file = parsed as { format?: unknown; message?: unknown; typedData?: { message?: unknown }; signature?: unknown } | null;
    const message = file?.message ?? file?.typedData?.message;
    if (!file || typeof file.signature !== 'string' || !isMessage(message)) {
      fail('APPROVAL_FILE_INVALID', 'The approval file does not hold a signed Vaultkeeper approval (message and signature). Choose the file the guardian returned, not the request file.');
    }
    return this.submitApproval({ ...message, expiry: Number(message.expiry) }, file.signature, 'file');
  }

  private refuse(code: Parameters<typeof fail>[0], reason: string, facts: { requestId: string; signer: string | null; via: ApprovalVia }, details?: Record<string, string | number | boolean | null>): never {
    this.db.transaction(() => {
      this.options.audit.append({ type: 'APPROVAL_REFUSED', actor: facts.signer ?? 'unknown', subject: facts.requestId, details: { code, reason, via: facts.via } });
    })();
    fail(code, reason, { requestId: facts.requestId, ...details });
  }

  /** Verifies one signed decision and records it, or records and throws the precise refusal. */
  submitApproval(message: ApprovalMessage, signature: string, via: ApprovalVia): ApprovalRequestView {
    this.requireUnlocked();
    if (!isMessage(message)) fail('APPROVAL_FILE_INVALID', 'The approval message is incomplete or malformed.');
    const facts = { requestId: message.requestId, signer: null as string | null, via };
    const row = this.db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(message.requestId) as RequestRow | undefined;
    if (!row) this.refuse('APPROVAL_REQUEST_NOT_FOUND', `The approval is for request ${message.requestId}, which does not exist on this console.`, facts);
    const signer = recoverSigner(APPROVAL_TYPES, message, signature);
    if (!signer) this.refuse('APPROVAL_SIGNATURE_INVALID', 'The approval signature is malformed or does not verify. Ask the guardian to sign again.', facts);
    facts.signer = signer;
    const now = this.now();
    if (row.status !== 'pending') this.refuse('APPROVAL_REQUEST_CLOSED', `This request is already ${row.status}; the approval was not recorded.`, facts);
    if (now > row.expires_at) {
      this.refuse('APPROVAL_EXPIRED', `The request expired ${describeDuration(now - row.expires_at)} ago (at ${utcWords(row.expires_at)}); this approval came too late. Create a new request.`, facts);
    }
    const stored = JSON.parse(row.parameters) as Record<string, unknown>;
    const storedContext = JSON.parse(row.context) as Record<string, unknown>;
    if (payloadHash(this.vaultId(), row.operation, row.subject, stored, storedContext) !== row.payload_hash) {
      this.refuse('APPROVAL_REQUEST_ALTERED', 'The stored request no longer matches the hash it was created with: it was changed after it was created. Do not proceed; create a new request.', facts);
    }
    if (message.payloadHash !== row.payload_hash || message.operation !== row.operation || Number(message.expiry) !== Math.floor(row.expires_at / 1000)) {
      this.refuse(
        'APPROVAL_REQUEST_ALTERED',
        `This approval was signed for a different version of the request (signed payload hash ${short(message.payloadHash)}, operation "${message.operation}"; the request has ${short(row.payload_hash)}, "${row.operation}"). It does not count.`,
        facts,
      );
    }
    const nonce = this.db.prepare('SELECT * FROM approval_nonces WHERE nonce = ?').get(message.nonce.toLowerCase()) as { request_id: string; consumed_at: number | null } | undefined;
    if (nonce?.consumed_at) {
      this.refuse('APPROVAL_NONCE_REPLAYED', `This approval (nonce ${short(message.nonce)}) was already used at ${utcWords(nonce.consumed_at)}. Each signed approval counts once.`, facts);
    }
    if (!nonce || nonce.request_id !== row.id) {
      this.refuse('APPROVAL_NONCE_UNKNOWN', `This approval's nonce (${short(message.nonce)}) was not issued by this console for this request. Export the request file again and have the guardian sign that.`, facts);
    }
    const guardian = this.activeGuardians().find((g) => g.address === signer);
    if (!guardian) this.refuse('APPROVAL_SIGNER_NOT_GUARDIAN', `The approval is signed by ${signer}, which is not one of this vault's current guardians.`, facts);
    if (guardian.id === row.requester_guardian_id) {
      this.refuse('APPROVAL_BY_REQUESTER', `${guardian.name} requested this operation, so their own approval cannot count. Two other guardians must decide.`, facts);
    }
    const earlier = this.db.prepare('SELECT * FROM approvals WHERE request_id = ? AND guardian_id = ?').get(row.id, guardian.id) as ApprovalRow | undefined;
    if (earlier) {
      this.refuse('APPROVAL_DUPLICATE_GUARDIAN', `${guardian.name} already ${earlier.decision === 'approve' ? 'approved' : 'rejected'} this request at ${utcWords(earlier.received_at)}. A different guardian must decide.`, facts);
    }

    this.db.transaction(() => {
      this.db.prepare('UPDATE approval_nonces SET consumed_at = ? WHERE nonce = ?').run(now, message.nonce.toLowerCase());
      this.db
        .prepare('INSERT INTO approvals (request_id, guardian_id, address, decision, nonce, signature, via, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(row.id, guardian.id, signer, message.decision, message.nonce.toLowerCase(), signature, via, now);
      const closes = message.decision === 'reject' && !this.canStillReachQuorum(row);
      if (closes) this.db.prepare("UPDATE approval_requests SET status = 'rejected', closed_at = ? WHERE id = ?").run(now, row.id);
      this.options.audit.append({
        type: message.decision === 'approve' ? 'APPROVAL_SIGNED' : 'APPROVAL_REJECTED',
        actor: signer,
        subject: row.id,
        details: { guardianId: guardian.id, guardian: guardian.name, operation: row.operation, payloadHash: row.payload_hash, via, ...(closes ? { requestClosed: true } : {}) },
      });
    })();
    return this.view(row.id);
  }

  private canStillReachQuorum(row: RequestRow): boolean {
    const approvals = this.db.prepare('SELECT * FROM approvals WHERE request_id = ? ORDER BY received_at, rowid').all(row.id) as ApprovalRow[];
    const eligible = this.activeGuardians().filter((g) => g.id !== row.requester_guardian_id);
    const rejected = new Set(approvals.filter((a) => a.decision === 'reject').map((a) => a.guardian_id));
    return eligible.filter((g) => !rejected.has(g.id)).length >= QUORUM;
  }

  /** Guardian ids whose approvals count now: current, not the requester, signature re-verified. */
  private countedApprovals(row: RequestRow, approvals: ApprovalRow[], guardians: GuardianRow[]): string[] {
    const active = new Map(guardians.filter((g) => g.status === 'active').map((g) => [g.id, g]));
    const counted = new Set<string>();
    for (const a of approvals) {
      if (a.decision !== 'approve' || a.guardian_id === row.requester_guardian_id) continue;
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

  // --- the guard -------------------------------------------------------------------------------

  private assess(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { row: RequestRow; approvers: string[] } {
    this.requireUnlocked();
    if (!isGuardedOperation(operation)) fail('GUARD_PAYLOAD_MISMATCH', `"${operation}" is not a guarded operation kind.`);
    const row = this.requestRow(requestId);
    const context = JSON.parse(row.context) as Record<string, unknown>;
    if (row.operation !== operation || row.subject !== subject || payloadHash(this.vaultId(), operation, subject, parameters, context) !== row.payload_hash) {
      fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId.slice(0, 8)} approves "${operationLabel(row.operation)}" for ${row.subject} with other parameters than the operation about to run. Nothing was done; create a request for exactly this operation.`, { requestId });
    }
    if (row.status !== 'pending') {
      fail('APPROVAL_REQUEST_CLOSED', row.status === 'executed'
        ? `Request ${requestId.slice(0, 8)} was already used at ${utcWords(row.closed_at ?? 0)}; an approval authorizes one run only. Create a new request.`
        : `Request ${requestId.slice(0, 8)} was rejected by the guardians. Nothing was done.`, { requestId });
    }
    const now = this.now();
    if (now > row.expires_at) {
      fail('APPROVAL_EXPIRED', `Request ${requestId.slice(0, 8)} expired ${describeDuration(now - row.expires_at)} ago (at ${utcWords(row.expires_at)}). Nothing was done; create a new request.`, { requestId });
    }
    const guardians = this.activeGuardians();
    if (guardians.length < GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_INCOMPLETE', `Only ${guardians.length} of ${GUARDIAN_COUNT} guardians are enrolled; no quorum is possible.`);
    const approvals = this.db.prepare('SELECT * FROM approvals WHERE request_id = ? ORDER BY received_at, rowid').all(row.id) as ApprovalRow[];
    const counted = this.countedApprovals(row, approvals, guardians);
    const names = counted.map((id) => guardians.find((g) => g.id === id)?.name ?? id);
    if (counted.length < QUORUM) {
      const decided = new Set(approvals.map((a) => a.guardian_id));
      const waiting = guardians.filter((g) => g.id !== row.requester_guardian_id && !decided.has(g.id)).map((g) => g.name);
      fail(
        'QUORUM_NOT_MET',
        `${counted.length} of ${QUORUM} required guardian approvals${names.length ? ` (${names.join(', ')})` : ''}. ${waiting.length ? `Waiting for ${waiting.join(' or ')}.` : 'No guardian is left who could approve; create a new request.'} Nothing was done.`,
        { requestId, approvals: counted.length, quorum: QUORUM },
      );
    }
    return { row, approvers: names };
  }

  checkApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): void {
    this.assess(operation, subject, parameters, requestId);
  }

  requireApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { approvers: string[] } {
    return this.db.transaction(() => {
      const { row, approvers } = this.assess(operation, subject, parameters, requestId);
      const consumed = this.db.prepare("UPDATE approval_requests SET status = 'executed', closed_at = ? WHERE id = ? AND status = 'pending'").run(this.now(), row.id);
      if (consumed.changes !== 1) fail('APPROVAL_REQUEST_CLOSED', 'This request was used by another operation a moment ago. Nothing was done.');
      this.options.audit.append({ type: 'GUARDED_OPERATION_EXECUTED', actor: 'operator', subject: row.id, details: { operation, subject, payloadHash: row.payload_hash, approvers } });
      return { approvers };
    })();
  }

  // --- guardian replacement (a guarded operation) ---------------------------------------------

  async requestReplacement(guardianId: string, replacement: NewGuardian, requesterGuardianId: string | null, ttlMinutes: number): Promise<ApprovalRequestView> {
    this.requireUnlocked();
    const current = this.activeGuardians().find((g) => g.id === guardianId);
    if (!current) fail('GUARDIAN_NOT_FOUND', 'That guardian is not in the registry. Refresh the list and pick the guardian to replace.');
    if (this.activeGuardians().length < GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_INCOMPLETE', 'Finish enrolling all three guardians before replacing one.');
    const proven = await this.prove(replacement);
    this.assertNotRegistered(proven.address);
    return this.createRequest({
      operation: 'guardian.replace',
      subject: current.id,
      parameters: {
        slot: current.slot, currentName: current.name, currentAddress: current.address,
        newName: proven.name, newKind: proven.kind, newAddress: proven.address, newDerivationPath: proven.derivationPath, newProof: proven.proof,
      },
      context: {},
      requesterGuardianId,
      ttlMinutes,
    });
  }

  executeReplacement(requestId: string): GuardianRegistry {
    this.requireUnlocked();
    const row = this.requestRow(requestId);
    if (row.operation !== 'guardian.replace') fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId.slice(0, 8)} is for "${operationLabel(row.operation)}", not a guardian replacement.`);
    const p = JSON.parse(row.parameters) as { slot: number; currentAddress: string; newName: string; newKind: GuardianKind; newAddress: string; newDerivationPath: string | null; newProof: { challenge: string; signature: string } };
    const proven: ProvenGuardian = { name: p.newName, kind: p.newKind, address: p.newAddress, derivationPath: p.newDerivationPath, proof: p.newProof };
    this.checkApproval('guardian.replace', row.subject, JSON.parse(row.parameters) as Record<string, unknown>, requestId);
    this.checkProof(proven);
    this.db.transaction(() => {
      const current = this.activeGuardians().find((g) => g.id === row.subject);
      if (!current || current.address !== p.currentAddress) fail('GUARDIAN_NOT_FOUND', 'The guardian this request replaces is no longer in the registry. Nothing was changed.');
      this.assertNotRegistered(proven.address, current.id);
      // The guard runs on exactly the parameters this replacement applies.
      const { approvers } = this.requireApproval('guardian.replace', current.id, JSON.parse(row.parameters) as Record<string, unknown>, requestId);
      const retired = { ...current, status: 'replaced' as const, replaced_at: iso(this.now()) };
      this.db.prepare("UPDATE guardians SET status = 'replaced', replaced_at = ?, mac = ? WHERE id = ?").run(retired.replaced_at, 'pending', current.id);
      const added = this.insertGuardian(current.slot, proven);
      const final = { ...retired, replaced_by: added.id };
      this.db.prepare('UPDATE guardians SET replaced_by = ?, mac = ? WHERE id = ?').run(added.id, this.mac(final), current.id);
      this.options.audit.append({
        type: 'GUARDIAN_REPLACED',
        actor: 'operator',
        subject: added.address,
        details: { slot: current.slot, previous: { guardianId: current.id, name: current.name, address: current.address }, next: { guardianId: added.id, name: added.name, kind: added.kind }, requestId, approvers },
      });
    })();
    return this.registry();
  }
}

