/**
 * Channels of the guardian quorum: the registry of three guardians, approval requests for guarded
 * operations, approvals signed on a Ledger, with a software key file or imported from a file, and
 * the guarded operations that exist today (guardian replacement, vault passphrase change).
 */
import { z } from 'zod';
import { passphrase } from './common';

export const GUARDIAN_ERROR_CODES = [
  'GUARDIAN_REGISTRY_FULL',
  'GUARDIAN_REGISTRY_INCOMPLETE',
  'GUARDIAN_NOT_FOUND',
  'GUARDIAN_ALREADY_REGISTERED',
  'GUARDIAN_REGISTRY_TAMPERED',
  'GUARDIAN_HISTORY_TAMPERED',
  'GUARDIAN_WRONG_DEVICE',
  'REQUESTER_SIGNATURE_INVALID',
  'REQUESTER_NOT_SIGNED',
  'KEY_FOLDER_REFUSED',
  'ENROLMENT_PROOF_INVALID',
  'GUARDIAN_FILE_INVALID',
  'GUARDIAN_SETUP_CONFLICT',
  'GUARDIAN_CHAIN_QUORUM',
  'GUARDIAN_CHAIN_ROLLBACK',
  'APPROVAL_REQUEST_NOT_FOUND',
  'APPROVAL_REQUEST_CLOSED',
  'APPROVAL_EXPIRED',
  'APPROVAL_SIGNATURE_INVALID',
  'APPROVAL_SIGNER_NOT_GUARDIAN',
  'APPROVAL_BY_REQUESTER',
  'APPROVAL_DUPLICATE_GUARDIAN',
  'APPROVAL_NONCE_REPLAYED',
  'APPROVAL_NONCE_UNKNOWN',
  'APPROVAL_REQUEST_ALTERED',
  'APPROVAL_FILE_INVALID',
  'QUORUM_NOT_MET',
  'GUARD_PAYLOAD_MISMATCH',
  'KEYFILE_INVALID',
  'KEYFILE_WRONG_PASSPHRASE',
  'KEYFILE_NOT_GUARDIAN',
  'LEDGER_NOT_CONNECTED',
  'LEDGER_LOCKED',
  'LEDGER_WRONG_APP',
  'LEDGER_REJECTED',
  'LEDGER_DISCONNECTED',
  'LEDGER_BUSY',
  'LEDGER_ADDRESS_MISMATCH',
  'LEDGER_DISPLAY_STALE',
  'LEDGER_ERROR',
] as const;

export const GUARDIAN_EVENT_TYPES = [
  'GUARDIAN_ENROLLED',
  'GUARDIAN_REPLACED',
  'GUARDIAN_KEY_FILE_CREATED',
  'GUARDIAN_REGISTRY_HEAD_SEALED',
  'GUARDIAN_REGISTRY_EXPORTED',
  'APPROVAL_REQUESTED',
  'APPROVAL_REQUEST_SIGNED',
  'APPROVAL_SIGNED',
  'APPROVAL_REJECTED',
  'APPROVAL_REFUSED',
  'GUARDED_OPERATION_EXECUTED',
  'VAULT_PASSPHRASE_CHANGED',
] as const;

export type GuardianKind = 'ledger' | 'software';
export type ApprovalDecision = 'approve' | 'reject';
export type ApprovalVia = 'ledger' | 'software' | 'file';
export type ApprovalRequestStatus = 'pending' | 'executed' | 'rejected' | 'expired';

export interface GuardianView {
  id: string;
  slot: number;
  name: string;
  kind: GuardianKind;
  address: string;
  /** BIP32 path on the Ledger, for Ledger guardians. */
  derivationPath: string | null;
  enrolledAt: string;
}

export interface GuardianRegistry {
  guardians: GuardianView[];
  /** True once all three guardians are enrolled; replacing one is then a guarded operation. */
  complete: boolean;
  required: number;
  quorum: number;
}

export interface ApprovalView {
  guardianId: string;
  guardianName: string;
  address: string;
  decision: ApprovalDecision;
  via: ApprovalVia;
  at: string;
  /** False when the guardian has since been replaced: the approval no longer counts. */
  counts: boolean;
}

export interface ApprovalRequestView {
  id: string;
  operation: string;
  /** The operation in words, e.g. "Change the vault passphrase". */
  operationLabel: string;
  subject: string;
  /** The subject in words, e.g. "Guardian 3, Sofia (0x…)". */
  subjectLabel: string;
  /** Amounts the operation moves, in words ("250 ETH"); empty when it moves no funds. */
  amounts: string[];
  /** What will happen, one sentence per line, for a person to read before signing. */
  summary: string[];
  parameters: Record<string, unknown>;
  /** Why, and other facts guardians see and sign, that do not change what the operation does. */
  context: Record<string, unknown>;
  payloadHash: string;
  /**
   * Who asked: the console operator (confirmed with the vault passphrase; guardianId and address
   * null) or a guardian whose key signs the request (an approval from that key never counts).
   * `signed` is false while a guardian requester has yet to sign on their own machine: until then
   * nobody can approve the request.
   */
  requester: { guardianId: string | null; name: string; address: string | null; signed: boolean };
  createdAt: string;
  expiresAt: string;
  status: ApprovalRequestStatus;
  approvals: ApprovalView[];
  approvalsCounted: number;
  quorum: number;
  /** Guardians who may still approve (registered, not the requester, not yet decided). */
  waitingFor: string[];
  executedAt: string | null;
  /**
   * For a closed request: the guardians in force when it closed, as recorded then. `approvals`,
   * `approvalsCounted` and `quorum` of a closed request come from that record, never from today's
   * registry. Null while pending, for an expired request, and for requests closed before outcomes
   * were recorded (their counts are today's, and `historyNote` says so).
   */
  guardianSet: GuardianSetView | null;
  /** Set when the history shown is not the recorded one; a sentence to show beside it. */
  historyNote: string | null;
  /** Main's clock when the view was built, so time left is not computed from the renderer's clock. */
  now: string;
  /** For a pending request a Ledger guardian may still sign: the two values the device will show. */
  ledger: LedgerHashesView | null;
}

/** The guardian set in force when a request closed: registry epoch and its members then. */
export interface GuardianSetView {
  epoch: number;
  guardians: Array<{ id: string; slot: number; name: string; address: string }>;
  recordedAt: string;
}

/**
 * What a Ledger shows in hashed EIP-712 mode ("Domain hash", "Message hash"), as the device
 * prints them: 0x and 64 upper-case hex digits. The message hash differs per decision because
 * the decision is part of the signed message; both use the nonce this console pinned for the
 * next Ledger signature on the request, so the values stay the same until a Ledger signs.
 */
export interface LedgerHashesView {
  domainHash: string;
  messageHash: Record<ApprovalDecision, string>;
}

export interface ApprovalRequestList {
  pending: ApprovalRequestView[];
  history: ApprovalRequestView[];
}

export interface RequestFileExport {
  fileName: string;
  path: string;
  /** The request file (JSON). Holds no secret: the typed data to sign and the request in words. */
  json: string;
  /** The typed data as a QR code, a data: URL of a PNG. */
  qrDataUrl: string;
}

/** The guardian registry for a headless signer node (`--guardians FILE`): public data only. */
export interface RegistryFileExport {
  fileName: string;
  path: string;
  json: string;
  /** Guardian replacements the file carries (each with its two approvals), for nodes set up before them. */
  replacements: number;
}

export interface SoftwareKeyCreated {
  address: string;
  /** The only copy of the encrypted key file: in the folder the operator chose, none on this machine. */
  path: string;
}

export interface PassphraseChanged {
  requestId: string;
  changedAt: string;
}

const name = z.string().trim().min(1, 'Enter a name.').max(80, 'Names are at most 80 characters.');
const id = z.string().regex(/^[0-9a-f-]{8,64}$/, 'must be an id issued by this console');
const decision = z.enum(['approve', 'reject']);
/** An encrypted JSON key file (ethers/Web3 keystore v3) as text. */
const keyFile = z.string().min(50, 'The key file is empty or truncated.').max(16_384, 'The key file is larger than a keystore file can be.');
/** BIP32 path under the Ethereum coin type, e.g. 44'/60'/0'/0/0. */
const derivationPath = z
  .string()
  .regex(/^(m\/)?44'\/60'\/\d{1,9}'(\/\d{1,9}'?){0,2}$/, "must be an Ethereum path such as 44'/60'/0'/0/0");

const newGuardian = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('ledger'), name, derivationPath: derivationPath.default("44'/60'/0'/0/0") }),
  z.strictObject({ method: z.literal('software'), name, keyFile, passphrase }),
]);

/**
 * The requester proves who they are: the operator by typing the vault passphrase, a guardian by
 * signing the request with their own key. A bare guardian id is not accepted.
 */
const guardianSigner = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('ledger') }),
  z.strictObject({ method: z.literal('software'), keyFile, passphrase }),
  z.strictObject({ method: z.literal('remote') }),
]);
export const requesterProof = z.discriminatedUnion('as', [
  z.strictObject({ as: z.literal('operator'), vaultPassphrase: passphrase }),
  z.strictObject({ as: z.literal('guardian'), guardianId: id, signer: guardianSigner }),
]);
/** A folder on the guardian's removable medium: a full path, checked in main (exists, outside the data folder). */
const targetFolder = z.string().min(1, 'Choose the folder on the removable medium.').max(4096, 'The folder path is too long.').refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be a full path');
const ttlMinutes = z.number().int().min(5, 'A request lives at least 5 minutes.').max(7 * 24 * 60, 'A request lives at most 7 days.').default(60);

export const guardianChannels = {
  'guardians.list': { request: z.strictObject({}), activity: false },
  'guardians.createSoftwareKey': { request: z.strictObject({ passphrase, confirmation: passphrase, targetFolder }), activity: true },
  'guardians.enrol': { request: newGuardian, activity: true },
  'guardians.requestReplacement': {
    request: z.strictObject({ guardianId: id, replacement: newGuardian, requester: requesterProof, ttlMinutes }),
    activity: true,
  },
  'guardians.executeReplacement': { request: z.strictObject({ requestId: id }), activity: true },
  'guardians.exportRegistryFile': { request: z.strictObject({}), activity: true },
  'approvals.list': { request: z.strictObject({}), activity: false },
  'approvals.requestPassphraseChange': {
    request: z.strictObject({ reason: z.string().trim().min(1, 'Say why the passphrase changes.').max(300), requester: requesterProof, ttlMinutes }),
    activity: true,
  },
  'approvals.signWithLedger': {
    // The message hash the operator was shown: the device signs only if it is still the current one.
    request: z.strictObject({ requestId: id, guardianId: id, decision, shownMessageHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be the 32-byte message hash shown on screen') }),
    activity: true,
  },
  'approvals.signWithKeyFile': { request: z.strictObject({ requestId: id, keyFile, passphrase, decision }), activity: true },
  'approvals.exportRequest': { request: z.strictObject({ requestId: id }), activity: true },
  'approvals.importApproval': { request: z.strictObject({ fileText: z.string().min(2).max(16_384) }), activity: true },
  'approvals.exportRequesterFile': { request: z.strictObject({ requestId: id }), activity: true },
  'approvals.importRequesterSignature': { request: z.strictObject({ fileText: z.string().min(2).max(16_384) }), activity: true },
  'approvals.executePassphraseChange': {
    request: z.strictObject({ requestId: id, currentPassphrase: passphrase, newPassphrase: passphrase, confirmation: passphrase }),
    activity: true,
  },
} as const;

export interface GuardianResponses {
  'guardians.list': GuardianRegistry;
  'guardians.createSoftwareKey': SoftwareKeyCreated;
  'guardians.enrol': GuardianRegistry;
  'guardians.requestReplacement': ApprovalRequestView;
  'guardians.executeReplacement': GuardianRegistry;
  'guardians.exportRegistryFile': RegistryFileExport;
  'approvals.list': ApprovalRequestList;
  'approvals.requestPassphraseChange': ApprovalRequestView;
  'approvals.signWithLedger': ApprovalRequestView;
  'approvals.signWithKeyFile': ApprovalRequestView;
  'approvals.exportRequest': RequestFileExport;
  'approvals.importApproval': ApprovalRequestView;
  'approvals.exportRequesterFile': RequestFileExport;
  'approvals.importRequesterSignature': ApprovalRequestView;
  'approvals.executePassphraseChange': PassphraseChanged;
}
