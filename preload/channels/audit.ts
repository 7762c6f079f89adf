/** Channels of the audit log: list with filters, verify the chain, export. */
import { z } from 'zod';
import { noArguments } from './common';

export const AUDIT_ERROR_CODES = ['AUDIT_UNAVAILABLE', 'EXPORT_FAILED'] as const;
export const AUDIT_LOG_EVENT_TYPES = ['AUDIT_EXPORTED', 'AUDIT_VERIFIED'] as const;

export interface AuditEntry {
  seq: number;
  at: string;
  type: string;
  actor: string;
  /** The actor in words on the audit screen: a guardian's or node's name, "operator", "system". */
  actorName?: string;
  subject: string;
  details: Record<string, unknown>;
  hash: string;
}

export type ChainVerification =
  | { intact: true; rows: number; headHash: string; checkedAt: string }
  | { intact: false; rows: number; firstBrokenSeq: number; reason: string; checkedAt: string };

export interface AuditPage {
  entries: AuditEntry[];
  total: number;
}

export interface AuditExport {
  path: string;
  rows: number;
  headHash: string;
  /** The head hash as a QR code (PNG data URL), to carry it to the machine that checks the file. */
  headHashQr: string;
  /** The command that checks the file against this head hash on any machine. */
  verifyCommand: string;
}

/** The event-type filter accepts any type name; the UI offers AUDIT_EVENT_TYPES. */
const eventType = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'must be an event type such as VAULT_LOCKED');

export const auditChannels = {
  'audit.list': {
    request: z.strictObject({
      type: eventType.optional(),
      text: z.string().max(200).optional(),
      offset: z.number().int().min(0).max(1_000_000_000).default(0),
      limit: z.number().int().min(1).max(500).default(100),
    }),
    activity: true,
  },
  'audit.verify': { request: noArguments, activity: true },
  /** Writes the log as JSON Lines into `folder` (an existing folder the operator chose), or the data folder's exports/. */
  'audit.export': {
    request: z.strictObject({ folder: z.string().min(1).max(1024).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute folder path').optional() }),
    activity: true,
  },
} as const;

export interface AuditResponses {
  'audit.list': AuditPage;
  'audit.verify': ChainVerification;
  'audit.export': AuditExport;
}
