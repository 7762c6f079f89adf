/**
 * Channels of master-seed ceremonies: the guarded start (console-generated or Ledger-generated
 * seed), the console ceremony's steps (words, transcription check, guardian shares, Ledger
 * verification, wipe), the transcript and its certificate, the recovery ceremony, the reveal
 * rules, and cold-storage signing on the Ledger.
 *
 * Secret words cross this bridge only in three answers: the start of a console ceremony, a
 * re-display of its words under the reveal rules, and a reveal after a recovery. Guardian shares
 * cross it once, on the step that prints them.
 */
import { z } from 'zod';
import { passphrase } from './common';
import { requesterProof, type ApprovalRequestView } from './guardians';

export const CEREMONY_ERROR_CODES = [
  'CEREMONY_NOT_FOUND',
  'CEREMONY_STEP_OUT_OF_ORDER',
  'CEREMONY_SECRET_GONE',
  'CEREMONY_RECORD_TAMPERED',
  'SEED_WORDS_INVALID',
  'TRANSCRIPTION_MISMATCH',
  'SHARE_MALFORMED',
  'SHARE_UNKNOWN',
  'SHARE_DUPLICATE',
  'SHARES_INSUFFICIENT',
  'SEED_FINGERPRINT_MISMATCH',
  'LEDGER_SEED_MISMATCH',
  'LEDGER_BLIND_SIGNING_DISABLED',
  'REVEAL_CONFIRMATION_INVALID',
  'REVEAL_CONFIRMATION_EXPIRED',
  'REVEAL_CONFIRMATION_USED',
  'REVEAL_RATE_LIMITED',
  'RECOVERY_NOT_FOUND',
  'RECOVERY_EXPIRED',
  'COLD_TX_INVALID',
  'PDF_UNAVAILABLE',
  'PDF_RENDER_FAILED',
  'COLD_SIGNATURE_MISMATCH',
] as const;

export const CEREMONY_EVENT_TYPES = [
  'CEREMONY_STARTED',
  'CEREMONY_WORDS_SHOWN',
  'CEREMONY_TRANSCRIPTION_CHECKED',
  'CEREMONY_SHARES_ISSUED',
  'CEREMONY_LEDGER_VERIFIED',
  'CEREMONY_LEDGER_MISMATCH',
  'CEREMONY_LEDGER_SOLANA_READ',
  'CEREMONY_SEED_WIPED',
  'CEREMONY_CERTIFIED',
  'CEREMONY_CERTIFICATE_EXPORTED',
  'CEREMONY_ABORTED',
  'CEREMONY_WORDS_REVEALED',
  'CEREMONY_REVEAL_REFUSED',
  'RECOVERY_STARTED',
  'RECOVERY_SHARE_ACCEPTED',
  'RECOVERY_REFUSED',
  'RECOVERY_VERIFIED',
  'RECOVERY_COMPLETED',
  'COLD_TX_SIGNED',
] as const;

export type CeremonyMode = 'console' | 'ledger';
export type CeremonyStatus = 'in-progress' | 'awaiting-signatures' | 'certified' | 'aborted';
/** Where a console ceremony stands; a Ledger ceremony goes from "finish" on. */
export type CeremonyStep = 'words' | 'transcription' | 'shares' | 'ledger' | 'ledger-solana' | 'finish' | 'signatures' | 'certified' | 'aborted';

export interface PlannedAddressView {
  chain: 'evm' | 'solana';
  index: number;
  path: string;
  label: string;
  address: string;
}

export interface LedgerCheckView {
  path: string;
  expected: string;
  found: string;
  matches: boolean;
}

export interface ShareFingerprintView {
  index: number;
  guardianId: string;
  guardianName: string;
  fingerprint: string;
}

export interface CeremonyStepRecord {
  step: string;
  at: string;
  detail: string;
}

export interface CeremonyView {
  id: string;
  mode: CeremonyMode;
  label: string;
  status: CeremonyStatus;
  step: CeremonyStep;
  startedAt: string;
  finishedAt: string | null;
  certifiedAt: string | null;
  /** Full hex, and the 16-digit form printed for people. Null for a Ledger-generated seed. */
  seedFingerprint: string | null;
  seedFingerprintShort: string | null;
  shareFingerprints: ShareFingerprintView[];
  evmAccountXpub: string | null;
  addresses: PlannedAddressView[];
  ledgerChecks: LedgerCheckView[];
  /** Positions the operator must re-enter, once the check has been asked for. */
  checkPositions: number[];
  steps: CeremonyStepRecord[];
  transcriptHash: string | null;
  /** The approval request the guardians sign to certify the transcript. */
  certifyRequestId: string | null;
  /** Main's clock, for times shown relative to now. */
  now: string;
}

export interface CeremonyStarted {
  ceremony: CeremonyView;
  /** The 24 words, for a console ceremony only; shown once, never stored. */
  words: string[] | null;
  clearAfterSeconds: number;
}

export interface ShareSheet {
  index: number;
  guardianId: string;
  guardianName: string;
  words: string[];
  fingerprint: string;
  /** The words as a QR code (PNG data: URL), for scanning at recovery. */
  qrDataUrl: string;
  /** The share as a single-frame BC-UR (`ur:vk-share`, with a CRC32), the other QR on the sheet. */
  ur: string;
}

export interface SharesIssued {
  ceremony: CeremonyView;
  sheets: ShareSheet[];
}

export interface RevealedWords {
  words: string[];
  /** The screen clears the words after this many seconds. */
  clearAfterSeconds: number;
  revealsLeftThisHour: number;
}

export interface RevealConfirmation {
  token: string;
  expiresAt: string;
}

export interface CertificateSignature {
  guardianName: string;
  address: string;
  via: string;
  signature: string;
  signedAt: string;
  /**
   * The EIP-712 approval message the guardian signed (domain "Vaultkeeper" v1), so the signature
   * can be checked offline: its payloadHash commits to the certify request, whose parameters carry
   * the transcript hash.
   */
  message: { requestId: string; payloadHash: string; operation: string; nonce: string; expiry: number; decision: 'approve' };
}

export interface CertificateView {
  ceremony: CeremonyView;
  /** The canonical transcript (JSON) whose SHA-256 is the transcript hash. */
  transcript: string;
  transcriptHash: string;
  signatures: CertificateSignature[];
  /** The transcript hash as a QR code. */
  qrDataUrl: string;
  /** The certificate as a standalone, printable HTML document (for printToPDF). */
  html: string;
}

/** The certificate saved as a PDF: where, its SHA-256 (audited), and the transcript it certifies. */
export interface CertificatePdf {
  path: string;
  sha256: string;
  bytes: number;
  transcriptHash: string;
}

export type RecoveryMode = 'verify' | 'recover';
export type RecoveryState = 'collecting' | 'verified' | 'recovered' | 'closed';

export interface RecoveryView {
  id: string;
  ceremonyId: string;
  mode: RecoveryMode;
  state: RecoveryState;
  received: number;
  required: number;
  /** Share numbers received so far (never the share). */
  receivedIndices: number[];
  ledgerChecks: LedgerCheckView[];
  expiresAt: string;
}

export interface ColdPreview {
  requestId: string;
  from: string;
  path: string;
  /** What the device will show, screen by screen. */
  deviceScreens: string[];
  unsignedTxHash: string;
}

export interface ColdSigned {
  requestId: string;
  from: string;
  txHash: string;
  /** The signed transaction (hex), for broadcast by the online side. */
  signedTx: string;
  signedAt: string;
  /** Where the signed transaction was exported (JSON) for the online side. */
  path: string;
}

const id = z.string().regex(/^[0-9a-f-]{8,64}$/, 'must be an id issued by this console');
const ttlMinutes = z.number().int().min(5, 'A request lives at least 5 minutes.').max(7 * 24 * 60, 'A request lives at most 7 days.').default(60);
const token = z.string().regex(/^[0-9a-f]{64}$/, 'must be the confirmation issued after the passphrase check');
const word = z.string().trim().min(1).max(16);
const uint = (what: string) => z.string().regex(/^[0-9]{1,78}$/, `${what} must be a whole number (in wei or units, as digits)`);

export const ceremonyChannels = {
  'ceremony.list': { request: z.strictObject({}), activity: false },
  'ceremony.requestStart': {
    request: z.strictObject({
      mode: z.enum(['console', 'ledger']),
      label: z.string().trim().min(1, 'Name the ceremony.').max(80),
      userWallets: z.number().int().min(0).max(254).default(3),
      requester: requesterProof,
      ttlMinutes,
    }),
    activity: true,
  },
  'ceremony.start': { request: z.strictObject({ requestId: id }), activity: true },
  'ceremony.showWords': { request: z.strictObject({ ceremonyId: id, revealToken: token }), activity: true },
  'ceremony.transcriptionChallenge': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.checkTranscription': {
    request: z.strictObject({ ceremonyId: id, answers: z.record(z.string().regex(/^[0-9]{1,2}$/), word).refine((a) => Object.keys(a).length <= 24, 'at most 24 answers') }),
    activity: true,
  },
  'ceremony.issueShares': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.verifyLedger': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.showOnDevice': { request: z.strictObject({ ceremonyId: id, index: z.number().int().min(0).max(255), chain: z.enum(['evm', 'solana']).default('evm') }), activity: true },
  'ceremony.ledgerSolana': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.finish': { request: z.strictObject({ ceremonyId: id, ttlMinutes }), activity: true },
  'ceremony.certify': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.certificate': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.saveCertificatePdf': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.abort': { request: z.strictObject({ ceremonyId: id }), activity: true },
  'ceremony.confirmReveal': { request: z.strictObject({ passphrase }), activity: true },
  'ceremony.recoveryStart': { request: z.strictObject({ ceremonyId: id, mode: z.enum(['verify', 'recover']) }), activity: true },
  'ceremony.recoveryShare': {
    // Typed words or the text of a scanned share QR (the same words).
    request: z.strictObject({ recoveryId: id, words: z.string().trim().min(1, 'Enter the share words.').max(400, 'A share is 25 words; this is far longer.') }),
    activity: true,
  },
  'ceremony.recoveryReset': { request: z.strictObject({ recoveryId: id }), activity: true },
  'ceremony.recoveryVerifyLedger': { request: z.strictObject({ recoveryId: id, app: z.enum(['ethereum', 'solana']).default('ethereum') }), activity: true },
  'ceremony.recoveryReveal': { request: z.strictObject({ recoveryId: id, revealToken: token }), activity: true },
  'ceremony.recoveryClose': { request: z.strictObject({ recoveryId: id }), activity: true },
  'ceremony.coldRequest': {
    request: z.strictObject({
      ceremonyId: id,
      to: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address of 40 hex digits'),
      valueWei: uint('The amount'),
      chainId: z.number().int().min(1).max(2 ** 32 - 1),
      nonce: z.number().int().min(0).max(2 ** 40),
      gasLimit: uint('The gas limit'),
      maxFeePerGas: uint('The max fee'),
      maxPriorityFeePerGas: uint('The priority fee'),
      data: z.string().regex(/^0x([0-9a-fA-F]{2}){0,4096}$/, 'must be 0x and whole bytes of hex').default('0x'),
      reason: z.string().trim().min(1, 'Say why this transaction is sent.').max(300),
      requester: requesterProof,
      ttlMinutes,
    }),
    activity: true,
  },
  'ceremony.coldPreview': { request: z.strictObject({ requestId: id }), activity: true },
  'ceremony.coldSign': { request: z.strictObject({ requestId: id }), activity: true },
} as const;

export interface CeremonyResponses {
  'ceremony.list': CeremonyView[];
  'ceremony.requestStart': ApprovalRequestView;
  'ceremony.start': CeremonyStarted;
  'ceremony.showWords': RevealedWords;
  'ceremony.transcriptionChallenge': CeremonyView;
  'ceremony.checkTranscription': CeremonyView;
  'ceremony.issueShares': SharesIssued;
  'ceremony.verifyLedger': CeremonyView;
  'ceremony.showOnDevice': { address: string; path: string };
  'ceremony.ledgerSolana': CeremonyView;
  'ceremony.finish': CeremonyView;
  'ceremony.certify': CeremonyView;
  'ceremony.certificate': CertificateView;
  'ceremony.saveCertificatePdf': CertificatePdf;
  'ceremony.abort': CeremonyView;
  'ceremony.confirmReveal': RevealConfirmation;
  'ceremony.recoveryStart': RecoveryView;
  'ceremony.recoveryShare': RecoveryView;
  'ceremony.recoveryReset': RecoveryView;
  'ceremony.recoveryVerifyLedger': RecoveryView;
  'ceremony.recoveryReveal': RevealedWords;
  'ceremony.recoveryClose': RecoveryView;
  'ceremony.coldRequest': ApprovalRequestView;
  'ceremony.coldPreview': ColdPreview;
  'ceremony.coldSign': ColdSigned;
}
