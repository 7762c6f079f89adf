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
  'audit.export': { request: noArguments, activity: true },
} as const;

export interface AuditResponses {
  'audit.list': AuditPage;
  'audit.verify': ChainVerification;
  'audit.export': AuditExport;
}
