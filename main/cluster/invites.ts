/**
 * Whether this node joins a session it was invited to (over the coordinator or by an air-gap
 * bundle). Everything is checked against this node's own records: the requester's signature and
 * enrolment, the session terms against the keyset record, this node's participation policy, and,
 * for a signing, the node's authorizer on exactly the bytes the engine will sign.
 */
import type { KeyObject } from 'node:crypto';
import type { ClusterProtocol, SessionInfo, SignedSessionRequest } from '../coordinator/protocol';
import type { SignAuthorizer, SignDecision, SignRequestFacts } from './sign-authorization';
import { isSignProtocol, RequestRefusal, verifySessionRequest, type KeysetFacts } from './session-request';

/** What this node agrees to take part in without an operator. */
export interface ParticipationPolicy {
  protocols: readonly ClusterProtocol[];
}

export const DEFAULT_POLICY: ParticipationPolicy = { protocols: ['eddsa-keygen', 'eddsa-sign', 'ecdsa-keygen', 'ecdsa-sign', 'ecdsa-presign', 'ecdsa-sign-presigned', 'ecdsa-aux', 'ecdsa-dkg', 'eddsa-refresh', 'ecdsa-refresh-shares', 'eddsa-repair'] };

export interface InviteKeyset extends KeysetFacts {
  publicKey: string | null;
  address: string | null;
}

export interface InviteContext {
  me: string;
  clusterId: string | null;
  policy: ParticipationPolicy;
  authorizer: SignAuthorizer;
  requesterKey(nodeId: string): KeyObject | null;
  ownRequest(sessionId: string): boolean;
  keyset(keysetId: string): InviteKeyset | null;
  /** True when this node already has a session with that id (a replayed request). */
  sessionKnown(sessionId: string): boolean;
  /** Keysets made by the lab cluster are never usable with a production issuer. */
  isLab(keyset: InviteKeyset): boolean;
  /** The epoch of a refresh interrupted here, or null (see RequestCheckContext). */
  pendingEpoch?(keysetId: string): number | null;
  /** Refresh sessions: the guardian approval, checked at this node. */
  refreshApproval?(request: SignedSessionRequest, keyset: InviteKeyset): void;
  /** eddsa-repair sessions: see RequestCheckContext.repairRequest. */
  repairRequest?(request: SignedSessionRequest): InviteKeyset | null;
  now: number;
  maxTtlMs: number;
}

export interface AdmittedInvite {
  request: SignedSessionRequest;
  info: SessionInfo;
  keyset: InviteKeyset | null;
  /** For a signing: the authorizer's yes, whose commit() must run before anything is sent. */
  decision: Extract<SignDecision, { ok: true }> | null;
}

/** The facts an authorizer decides on, from a verified request and this node's keyset record. */
export function signFacts(info: SessionInfo, request: SignedSessionRequest, keyset: InviteKeyset, me: string, lab: boolean): SignRequestFacts {
  return {
    sessionId: info.sessionId,
    keysetId: keyset.keysetId,
    scheme: keyset.scheme,
    keysetPublicKey: keyset.publicKey,
    keysetAddress: keyset.address,
    keysetLab: lab,
    protocol: info.protocol,
    message: Buffer.from(info.message ?? '', 'hex'),
    ...(request.body.permit !== undefined ? { permit: request.body.permit } : {}),
    requester: info.requester,
    requestedHere: info.requester === me,
    parties: info.parties.map((p) => p.nodeId),
  };
}

/** Admits a relayed request or throws a RequestRefusal (code and a sentence for the requester). */
export function admitInvite(raw: unknown, ctx: InviteContext): AdmittedInvite {
  const { request, info, keyset } = verifySessionRequest(raw, ctx);
  if (!ctx.policy.protocols.includes(info.protocol)) throw new RequestRefusal('SESSION_NOT_ALLOWED', `This node's policy does not allow ${info.protocol} sessions.`);
  if (ctx.sessionKnown(info.sessionId)) throw new RequestRefusal('SESSION_REQUEST_REPLAYED', `Session ${info.sessionId.slice(0, 16)}… is already known to this node; a session request is used once.`);
  if (!isSignProtocol(info.protocol)) return { request, info, keyset, decision: null };
  const k = keyset as InviteKeyset;
  const decision = ctx.authorizer.authorize(signFacts(info, request, k, ctx.me, ctx.isLab(k)));
  if (!decision.ok) throw new RequestRefusal(decision.code, decision.message, true);
  return { request, info, keyset, decision };
}
