/**
 * Channels of the animated QR transport: main turns a payload it holds into Blockchain Commons UR
 * parts (fountain-coded) for the renderer to draw, and reassembles the parts a camera read into
 * the bytes it hands to the same import as a file. EIP-4527 requests and signatures for permits.
 */
import { z } from 'zod';
import type { ApprovalRequestView } from './guardians';
import type { AirgapReport } from './cluster';
import type { QueueImportReport } from './permit-queue';

export const QR_ERROR_CODES = [
  'QR_NOT_UR',
  'QR_UR_WRONG_TYPE',
  'QR_UR_TOO_LARGE',
  'QR_UR_CORRUPT',
  'QR_UR_MIXED_SEQUENCE',
  'QR_PAYLOAD_TOO_LARGE',
  'QR_RECEIVE_UNKNOWN',
  'QR_SIGN_REQUEST_MISMATCH',
  'QR_SIGNATURE_INVALID',
] as const;

export const QR_EVENT_TYPES = ['QR_PAYLOAD_RECEIVED', 'QR_SIGN_REQUEST_SHOWN', 'QR_SIGNATURE_READ'] as const;

export const QR_FRAGMENT_BYTES = { min: 50, max: 1000, default: 250 } as const;
export const QR_FRAME_INTERVAL_MS = { min: 50, max: 2000, default: 200 } as const;

/** What the console can show as an animated QR. Main reads the payload itself: the renderer names it only. */
const permitIds = z.array(z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/)).min(1, 'Select at least one permit.').max(1000);
const absolutePath = z.string().min(1).max(1024).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');

export const qrPayloadRef = z.discriminatedUnion('kind', [
  /** Permits of the queue, as a bundle another offline node imports. */
  z.strictObject({ kind: z.literal('permit-bundle'), permitIds }),
  /** A permit bundle file, byte for byte. */
  z.strictObject({ kind: z.literal('permit-bundle-file'), path: absolutePath }),
  /** Signed results for the online side (the result file's text). */
  z.strictObject({ kind: z.literal('signed-results'), permitIds }),
  /** A guardian approval request (the request file a remote guardian signs). */
  z.strictObject({ kind: z.literal('approval-request'), requestId: z.string().uuid() }),
  /** An air-gap MPC round bundle file (.vkb), when it is small enough. */
  z.strictObject({ kind: z.literal('mpc-bundle'), path: absolutePath }),
  /** A permit's transaction as an EIP-4527 `eth-sign-request` (EVM) or `sol-sign-request` (Solana). */
  z.strictObject({ kind: z.literal('sign-request'), permitId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/) }),
]);
export type QrPayloadRef = z.infer<typeof qrPayloadRef>;

/** What a receiving screen accepts. */
export const QR_RECEIVE_KINDS = ['permit-bundle', 'approval', 'mpc-bundle', 'sign-result'] as const;
export type QrReceiveKind = (typeof QR_RECEIVE_KINDS)[number];

export interface AnimatedQrView {
  /** The UR type, e.g. "vk-permit-bundle" or "eth-sign-request". */
  type: string;
  /** What it is, in words ("permit bundle of 3 permits"). */
  label: string;
  /** UR part strings of one loop, in the order to show them. */
  parts: string[];
  seqLength: number;
  payloadBytes: number;
  /** SHA-256 of the payload: the receiver shows the same after reassembly. */
  sha256: string;
  /** EIP-4527: the request id the signature must echo. */
  requestId: string | null;
}

export interface QrProgressView {
  framesRead: number;
  fragments: number;
  /** 0..1 */
  estimated: number;
}

export type QrReceiveOutcome =
  | { kind: 'permit-bundle'; report: QueueImportReport }
  | { kind: 'approval'; request: ApprovalRequestView }
  | { kind: 'mpc-bundle'; file: string; report: AirgapReport }
  | { kind: 'sign-result'; permitId: string; requestId: string; encoding: 'hex' | 'base64'; signedTx: string; signedTxHash: string };

export type QrReceiveView =
  | { state: 'receiving'; progress: QrProgressView }
  | { state: 'done'; progress: QrProgressView; type: string; payloadBytes: number; sha256: string; outcome: QrReceiveOutcome };

export interface QrReceiveStartView {
  receiveId: string;
  /** UR types this reading accepts. */
  accepts: string[];
}

export const qrChannels = {
  'qr.frames': { request: z.strictObject({ payload: qrPayloadRef, fragmentBytes: z.number().int().min(QR_FRAGMENT_BYTES.min).max(QR_FRAGMENT_BYTES.max) }), activity: true },
  'qr.receiveStart': {
    request: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('permit-bundle') }),
      z.strictObject({ kind: z.literal('approval') }),
      /** The received bundle is written into `folder` and imported from there, as a bundle on a medium is. */
      z.strictObject({ kind: z.literal('mpc-bundle'), folder: absolutePath }),
      z.strictObject({ kind: z.literal('sign-result') }),
    ]),
    activity: true,
  },
  'qr.receivePart': { request: z.strictObject({ receiveId: z.string().uuid(), part: z.string().min(1).max(4296) }), activity: true },
  'qr.receiveCancel': { request: z.strictObject({ receiveId: z.string().uuid() }), activity: true },
} as const;

export interface QrResponses {
  'qr.frames': AnimatedQrView;
  'qr.receiveStart': QrReceiveStartView;
  'qr.receivePart': QrReceiveView;
  'qr.receiveCancel': { cancelled: boolean };
}
