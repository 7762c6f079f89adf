/**
 * The one contract between the renderer and the main process.
 *
 * Every operation the renderer may ask for is a named channel here, with the schema main
 * validates its request against and the type of its answer. The preload bridges (Electron and
 * headless host) build the renderer's API from this list; main's router refuses anything else.
 * Runtime: shared (bundled into main, the preload script and, as types only, the renderer).
 */
import type { z } from 'zod';

import { BACKUP_ERROR_CODES, BACKUP_EVENT_TYPES, backupChannels, type BackupResponses } from './channels/backup';
import { AUDIT_ERROR_CODES, AUDIT_LOG_EVENT_TYPES, auditChannels, type AuditResponses } from './channels/audit';
import { CEREMONY_ERROR_CODES, CEREMONY_EVENT_TYPES, ceremonyChannels, type CeremonyResponses } from './channels/ceremony';
import { EXIT_ERROR_CODES, EXIT_EVENT_TYPES, exitChannels, type ExitResponses } from './channels/exit';
import { CLUSTER_ERROR_CODES, CLUSTER_EVENT_TYPES, clusterChannels, type ClusterResponses } from './channels/cluster';
import { COMMON_ERROR_CODES } from './channels/common';
import { PLATFORM_ERROR_CODES } from './channels/platform';
import { PERMIT_ERROR_CODES, PERMIT_EVENT_TYPES, permitChannels, type PermitResponses } from './channels/permits';
import { POLICY_ERROR_CODES, POLICY_EVENT_TYPES, policyChannels, type PolicyResponses } from './channels/policy';
import { GUARDIAN_ERROR_CODES, GUARDIAN_EVENT_TYPES, guardianChannels, type GuardianResponses } from './channels/guardians';
import { JOB_ERROR_CODES, JOB_EVENT_TYPES, jobChannels, type JobResponses } from './channels/jobs';
import { MEMBERSHIP_ERROR_CODES, MEMBERSHIP_EVENT_TYPES, membershipChannels, type MembershipResponses } from './channels/membership';
import { overviewChannels, type OverviewResponses } from './channels/overview';
import { QR_ERROR_CODES, QR_EVENT_TYPES, qrChannels, type QrResponses } from './channels/qr';
import { DRILL_ERROR_CODES, DRILL_EVENT_TYPES, drillChannels, type DrillResponses } from './channels/drills';
import { KEY_CHECK_ERROR_CODES, KEY_CHECK_EVENT_TYPES, keyCheckChannels, type KeyCheckResponses } from './channels/keychecks';
import { REFRESH_ERROR_CODES, REFRESH_EVENT_TYPES, refreshChannels, type RefreshResponses } from './channels/refresh';
import { REPAIR_ERROR_CODES, REPAIR_EVENT_TYPES, repairChannels, type RepairResponses } from './channels/repair';
import { VAULT_ERROR_CODES, VAULT_EVENT_TYPES, vaultChannels, type VaultResponses } from './channels/vault';

export type * from './channels/audit';
export type * from './channels/backup';
export type * from './channels/ceremony';
export type * from './channels/cluster';
export type * from './channels/exit';
export type * from './channels/guardians';
export type * from './channels/jobs';
export { keysetJobGroup } from './channels/jobs';
export type * from './channels/membership';
export type * from './channels/overview';
export type * from './channels/permits';
export type * from './channels/policy';
export type * from './channels/qr';
export { QR_FRAGMENT_BYTES, QR_FRAME_INTERVAL_MS } from './channels/qr';
export { AIRGAP_REFUSAL_REASON_MAX } from './channels/cluster';
export type * from './channels/refresh';
export type * from './channels/repair';
export type * from './channels/vault';
export type * from './channels/drills';
export type * from './channels/keychecks';

// ---------------------------------------------------------------------------------------------
// The channel groups, one module per domain under ./channels. A new domain adds its module and
// one line in each list below.

export const channels = {
  ...vaultChannels,
  ...auditChannels,
  ...guardianChannels,
  ...clusterChannels,
  ...ceremonyChannels,
  ...permitChannels,
  ...policyChannels,
  ...backupChannels,
  ...exitChannels,
  ...jobChannels,
  ...overviewChannels,
  ...qrChannels,
  ...membershipChannels,
  ...keyCheckChannels,
  ...drillChannels,
  ...refreshChannels,
  ...repairChannels,
} as const;

export interface Responses extends VaultResponses, AuditResponses, GuardianResponses, ClusterResponses, CeremonyResponses, PermitResponses, PolicyResponses, BackupResponses, JobResponses, OverviewResponses, QrResponses, MembershipResponses, KeyCheckResponses, DrillResponses, RefreshResponses, ExitResponses, RepairResponses {}

export const ERROR_CODES = [...COMMON_ERROR_CODES, ...VAULT_ERROR_CODES, ...AUDIT_ERROR_CODES, ...GUARDIAN_ERROR_CODES, ...CLUSTER_ERROR_CODES, ...CEREMONY_ERROR_CODES, ...PLATFORM_ERROR_CODES, ...PERMIT_ERROR_CODES, ...POLICY_ERROR_CODES, ...BACKUP_ERROR_CODES, ...JOB_ERROR_CODES, ...QR_ERROR_CODES, ...MEMBERSHIP_ERROR_CODES, ...KEY_CHECK_ERROR_CODES, ...DRILL_ERROR_CODES, ...REFRESH_ERROR_CODES, ...EXIT_ERROR_CODES, ...REPAIR_ERROR_CODES] as const;

/** Event types the audit screen offers as filters. */
export const AUDIT_EVENT_TYPES = [...VAULT_EVENT_TYPES, ...AUDIT_LOG_EVENT_TYPES, ...GUARDIAN_EVENT_TYPES, ...CLUSTER_EVENT_TYPES, ...CEREMONY_EVENT_TYPES, ...PERMIT_EVENT_TYPES, ...POLICY_EVENT_TYPES, ...BACKUP_EVENT_TYPES, ...JOB_EVENT_TYPES, ...QR_EVENT_TYPES, ...MEMBERSHIP_EVENT_TYPES, ...KEY_CHECK_EVENT_TYPES, ...DRILL_EVENT_TYPES, ...REFRESH_EVENT_TYPES, ...EXIT_EVENT_TYPES, ...REPAIR_EVENT_TYPES] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

// ---------------------------------------------------------------------------------------------
// Errors as values

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  code: ErrorCode;
  /** A sentence an operator can act on. Never contains secret material. */
  message: string;
  /** Machine-readable facts behind the message (field paths, retry times...). */
  details?: Record<string, string | number | boolean | null>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

// ---------------------------------------------------------------------------------------------
// Channels: request schema (validated in main) and response type

export type Channel = keyof typeof channels;
export const CHANNEL_NAMES = Object.keys(channels) as Channel[];

export type RequestOf<C extends Channel> = z.input<(typeof channels)[C]['request']>;
export type ParsedRequestOf<C extends Channel> = z.output<(typeof channels)[C]['request']>;
export type ResponseOf<C extends Channel> = Responses[C];

/** Largest serialized request main accepts on any channel. */
export const MAX_REQUEST_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// The API object the renderer sees: window.vaultkeeper.<namespace>.<method>(request)

type NamespaceOf<C> = C extends `${infer N}.${string}` ? N : never;
type Namespaces = NamespaceOf<Channel>;

export type VaultkeeperApi = {
  [N in Namespaces]: {
    [C in Channel as C extends `${N}.${infer M}` ? M : never]: (
      request: RequestOf<C>,
    ) => Promise<Result<ResponseOf<C>>>;
  };
};

/** How a bridge delivers one request; it must resolve to a Result, never throw. */
export type SendRequest = (channel: Channel, request: unknown) => Promise<Result<unknown>>;

/**
 * Builds the named-method API over a transport. Only the channels above get a method, so the
 * renderer has no way to name an arbitrary channel.
 */
export function buildApi(send: SendRequest): VaultkeeperApi {
  const api: Record<string, Record<string, (request: unknown) => Promise<Result<unknown>>>> = {};
  for (const channel of CHANNEL_NAMES) {
    const [namespace, method] = channel.split('.') as [string, string];
    const group = (api[namespace] ??= {});
    group[method] = (request: unknown) => send(channel, request ?? {});
  }
  for (const group of Object.values(api)) Object.freeze(group);
  return Object.freeze(api) as unknown as VaultkeeperApi;
}

/** The global name under which both bridges expose the API. */
export const API_GLOBAL = 'vaultkeeper';
