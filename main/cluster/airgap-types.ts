/**
 * What the air-gap sessions report and what they need from the node: the shapes shared by the
 * two-party signing (airgap-sessions.ts) and the multi-party bundle sessions (airgap-group.ts).
 */
import type { KeyObject } from 'node:crypto';
import type { PublicResult, SessionInfo, SessionRequestBody } from '../coordinator/protocol';
import type { MpcSigner } from '../mpc/index';
import type { KeysetRecord } from './keysets';
import type { ParticipationDeps } from './participation-setup';
import type { AirgapRefusals } from './airgap-refusals';
import type { Peer } from './envelope';
import type { SessionFailure } from './errors';
import type { LocalIdentity } from './identity';
import type { AdmittedInvite, InviteContext, InviteKeyset } from './invites';
import type { RequestRefusal } from './session-request';
import type { SessionLoad } from './session-limits';
export interface AirgapOutcome {
  sessionId: string;
  signature: string;
  recoveryId: number | null;
  parties: string[];
}

/** A signing session carried by file bundles; `result` settles when the last bundle is imported. */
export interface AirgapHandle {
  sessionId: string;
  info: SessionInfo;
  result: Promise<AirgapOutcome>;
}

export interface AirgapImportReport {
  /** Bundles handed to a session (or session requests joined). */
  imported: number;
  /** Bundles already taken in, or of sessions this node does not run. */
  skipped: number;
  refused: Array<{ file: string; code: string; message: string }>;
  joined: AirgapHandle[];
  /** Key generation, presign and presigned-signing sessions joined (airgap-group.ts). */
  joinedGroup: AirgapGroupHandle[];
  /** Session requests left for the operator to review (an import with an `approve` list). */
  pending: string[];
  /** Session requests on the medium that this node's operator refused before (kept across restarts). */
  refusedEarlier: Array<{ sessionId: string; refusedAt: string; reason: string; message: string; replyWrittenAgain: string | null }>;
}

/** A session request found on the medium, as this node read and checked it; nothing joined yet. */
export interface AirgapRequestFacts {
  file: string;
  sessionId: string;
  from: string;
  keysetId: string | null;
  protocol: string;
  /** What would be signed, hex. */
  message: string;
  permit: unknown;
  deadlineAt: number | null;
  /** Why the request cannot be joined as it stands (bad signature, unknown keyset…); null when it checks out. */
  problem: { code: string; message: string } | null;
}

export interface AirgapImportOptions {
  /**
   * Session requests the operator approved. Given, only these requests are joined and the others
   * stay pending; absent, every request this node's policy and authorizer allow is joined (the
   * headless node, which has no operator at a screen).
   */
  approve?: ReadonlySet<string>;
}

/** Air-gap sessions wait for people carrying media: hours, not seconds. */
export const AIRGAP_DEFAULT_TTL_MS = 24 * 3600_000;
/** Longest deadline a node accepts in an air-gap request. */
export const AIRGAP_MAX_TTL_MS = 25 * 3600_000;

export interface AirgapKeyset extends InviteKeyset {
  clusterId: string;
}

/** What the air-gap sessions need from the node's cluster service. */
export interface AirgapHost {
  identity(): Promise<LocalIdentity>;
  keyset(keysetId: string): AirgapKeyset | null;
  activeKeyset(keysetId: string): AirgapKeyset;
  /** Signing key of an enrolled, non-quarantined peer (never this node); null otherwise. */
  peerSigningKey(nodeId: string): KeyObject | null;
  /** This node's own yes to requesting the signature; returns the permit id. */
  preAuthorize(keyset: AirgapKeyset, body: Omit<SessionRequestBody, 'v' | 'requester'>, me: LocalIdentity): string | null;
  inviteContext(me: LocalIdentity, clusterId: string | null, maxTtlMs: number): InviteContext;
  ownRequests: Set<string>;
  refuseRequest(sessionId: string, refusal: RequestRefusal, transport: 'airgap'): void;
  sessionKnown(sessionId: string): boolean;
  peersFor(info: SessionInfo, me: LocalIdentity): Promise<Map<string, Peer>>;
  share(keysetId: string): Buffer | undefined;
  signer(): MpcSigner;
  recordStart(info: SessionInfo, decision: AdmittedInvite['decision'], transport: 'airgap'): void;
  finish(info: SessionInfo, state: 'completed' | 'failed', failure: SessionFailure | undefined, result: PublicResult | undefined): void;
  quarantine(nodeId: string, reason: string, sessionId: string): void;
  sessionFailure(info: SessionInfo, failure: SessionFailure, permitSpent: boolean): never;
  /** Sessions running here over every transport, against the node's concurrency bounds. */
  load: SessionLoad;
  /** Refusals by this node's operator (kept across restarts) and forged refusals dropped. */
  refusals: AirgapRefusals;
  nodeName(nodeId: string): string | null;
}

/** A multi-party air-gap session; `result` settles once this node kept (or refused) the outcome. */
export interface AirgapGroupHandle {
  sessionId: string;
  info: SessionInfo;
  result: Promise<PublicResult>;
}

/** Where an air-gap session stands at this node: for the operator carrying the media. */
export interface AirgapGroupStatus {
  sessionId: string;
  protocol: string;
  keysetId: string;
  /** 'rounds' while the protocol runs; 'completion' once this node finished and waits for the others' signed completions. */
  phase: 'rounds' | 'completion';
  /** The last round this node wrote (0 before its first). */
  round: number;
  /** Parties whose bundle this node still needs to go on (their round `round`, or their completion). */
  waitingFor: string[];
  deadlineAt: number;
}

export interface AirgapGroupHost {
  deps: ParticipationDeps;
  identity(): Promise<LocalIdentity>;
  /** The cluster this node belongs to (its configured name, or its coordinator's); null when none. */
  clusterId(): string | null;
  inviteContext(me: LocalIdentity, clusterId: string | null, maxTtlMs: number): InviteContext;
  refuseRequest(sessionId: string, refusal: RequestRefusal, transport: 'airgap'): void;
  /** This node's yes to requesting a signature; returns the permit id. */
  preAuthorize(keyset: KeysetRecord, body: Omit<SessionRequestBody, 'v' | 'requester'>, me: LocalIdentity): string | null;
}
