/**
 * Signed session requests. The requester describes the whole session itself — cluster, a random
 * session id, protocol, keyset, the quorum with its party indices, threshold, the message or
 * preimage, the permit, the deadline — and signs it with its node identity. The coordinator relays
 * it and cannot change a byte; each participant verifies it against its own records before
 * anything else happens.
 *
 * Signed bytes: transcript('vaultkeeper/session-request/v1', JCS(body)), JCS = RFC 8785.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { isSetupProtocol } from './protocols';
import { signedSessionRequest, type ClusterProtocol, type Participant, type SessionInfo, type SessionRequestBody, type SignedSessionRequest } from '../coordinator/protocol';
import type { ErrorCode } from '../../preload/contract';
import type { LocalIdentity } from './identity';
import { transcript, verifyBytes } from './keys';

export const SESSION_REQUEST_LABEL = 'vaultkeeper/session-request/v1';

/** The keyset facts a participant checks a request against (its own record). */
export interface KeysetFacts {
  keysetId: string;
  clusterId: string;
  scheme: 'ecdsa' | 'eddsa';
  threshold: number;
  participants: Participant[];
  myPartyIndex: number;
  status: 'active' | 'failed';
  /** Refreshes this node's share went through (absent: 0). */
  shareEpoch?: number;
  /** When the last refresh switched here. */
  refreshedAt?: string | null;
}

export function requestBytes(body: SessionRequestBody): Buffer {
  const text = canonicalize(body);
  if (text === undefined) throw new TypeError('a session request must be JSON');
  return transcript(SESSION_REQUEST_LABEL, text);
}

export function newSessionId(): string {
  return randomBytes(32).toString('hex');
}

export function signSessionRequest(me: LocalIdentity, body: Omit<SessionRequestBody, 'v' | 'requester'>): SignedSessionRequest {
  const full: SessionRequestBody = { v: 1, ...body, requester: me.nodeId };
  return { body: full, signature: me.sign(requestBytes(full)).toString('hex') };
}

/** The session a verified request describes; what the participant runs, never the relay's copy. */
export function sessionInfoOf(body: SessionRequestBody): SessionInfo {
  return {
    sessionId: body.sessionId,
    protocol: body.protocol,
    clusterId: body.clusterId,
    keysetId: body.keysetId,
    parties: body.parties,
    threshold: body.threshold,
    ...(body.message !== undefined ? { message: body.message } : {}),
    ...(body.presignatureId !== undefined ? { presignatureId: body.presignatureId } : {}),
    ...(body.auxId !== undefined ? { auxId: body.auxId } : {}),
    ...(body.shareEpoch !== undefined ? { shareEpoch: body.shareEpoch } : {}),
    ...(body.repair !== undefined ? { repair: { partyIndex: body.repair.partyIndex, lostNode: body.repair.lostNode, newNode: body.repair.newNode, publicKey: body.repair.publicKey, publicShare: body.repair.publicShare } } : {}),
    requester: body.requester,
    deadlineAt: body.deadlineAt,
  };
}

export class RequestRefusal extends Error {
  constructor(
    /** An ErrorCode of the cluster, or the authorizer's own code when `byAuthorizer`. */
    readonly code: ErrorCode | string,
    message: string,
    readonly byAuthorizer = false,
  ) {
    super(message);
    this.name = 'RequestRefusal';
  }
}

export interface RequestCheckContext<K extends KeysetFacts = KeysetFacts> {
  me: string;
  /** The cluster this node serves (its coordinator's, or the keyset's for the air gap). */
  clusterId: string | null;
  /** Ed25519 key of an enrolled, non-quarantined node (this node's own included); null otherwise. */
  requesterKey(nodeId: string): KeyObject | null;
  /** True when this node made that request itself, in this process, and it is outstanding. */
  ownRequest(sessionId: string): boolean;
  keyset(keysetId: string): K | null;
  now: number;
  /** Longest deadline this transport accepts, from now. */
  maxTtlMs: number;
  /** The epoch of a refresh interrupted at this node (its new share sealed, not switched), or null. */
  pendingEpoch?(keysetId: string): number | null;
  /** Refresh sessions: throws a RequestRefusal unless the guardian approval holds at this node. */
  refreshApproval?(request: SignedSessionRequest, keyset: K): void;
  /**
   * eddsa-repair sessions: every repair-specific check (the lost index, the enrolled replacement,
   * the guardian approval; see share-repair.ts). Returns this node's keyset (a helper) or null
   * (the replacement), or throws a RequestRefusal.
   */
  repairRequest?(request: SignedSessionRequest): K | null;
}

const SIGN_PROTOCOLS: readonly ClusterProtocol[] = ['eddsa-sign', 'ecdsa-sign', 'ecdsa-sign-presigned'];

export function isSignProtocol(protocol: ClusterProtocol): boolean {
  return SIGN_PROTOCOLS.includes(protocol);
}

export function isRefreshProtocol(protocol: ClusterProtocol): boolean {
  return protocol === 'eddsa-refresh' || protocol === 'ecdsa-refresh-shares';
}

function fitsScheme(scheme: 'ecdsa' | 'eddsa', protocol: ClusterProtocol): boolean {
  if (scheme === 'ecdsa') return protocol === 'ecdsa-sign' || protocol === 'ecdsa-presign' || protocol === 'ecdsa-sign-presigned' || protocol === 'ecdsa-refresh-shares';
  return protocol === 'eddsa-sign' || protocol === 'eddsa-refresh';
}

/**
 * The request's share epoch against this node's: a node that missed a refresh (or switched while
 * another did not) refuses, naming the node that must finish its interrupted refresh.
 */
function epochRefusal(b: SessionRequestBody, keyset: KeysetFacts, ctx: { me: string; pendingEpoch?(keysetId: string): number | null }, own: boolean): RequestRefusal | null {
  const asked = b.shareEpoch ?? 0;
  const mine = keyset.shareEpoch ?? 0;
  if (asked === mine) return null;
  const pending = ctx.pendingEpoch?.(b.keysetId) ?? null;
  // This node proving its sealed new share with a key check of its own.
  if (own && pending !== null && asked === pending) return null;
  const since = keyset.refreshedAt ? ` since the refresh of ${keyset.refreshedAt.slice(0, 16).replace('T', ' ')} UTC` : '';
  if (asked < mine) {
    return new RequestRefusal('SHARE_EPOCH_MISMATCH', `Node ${b.requester.slice(0, 8)}… asks for keyset ${b.keysetId} at share epoch ${asked}, but this node holds epoch ${mine}${since}: the refresh did not finish on node ${b.requester.slice(0, 8)}…. On that node open Keysets and choose "Finish interrupted refresh"; nothing was signed.`);
  }
  const here = pending === asked ? ` A refresh to epoch ${asked} was interrupted on this node: open Keysets here and choose "Finish interrupted refresh".` : ' Check that this node took part in the latest refresh; if not, restore its share from a backup made after the refresh (Backups screen, two guardians).';
  return new RequestRefusal('SHARE_EPOCH_MISMATCH', `Node ${b.requester.slice(0, 8)}… asks for keyset ${b.keysetId} at share epoch ${asked}, but this node (${ctx.me.slice(0, 8)}…) holds epoch ${mine}${since}.${here} Nothing was signed.`);
}

const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

/**
 * Verifies a relayed request for this node; returns the session it describes, or throws a
 * RequestRefusal whose message an operator can act on.
 */
export function verifySessionRequest<K extends KeysetFacts>(raw: unknown, ctx: RequestCheckContext<K>): { request: SignedSessionRequest; info: SessionInfo; keyset: K | null } {
  const parsed = signedSessionRequest.safeParse(raw);
  if (!parsed.success) throw new RequestRefusal('SESSION_REQUEST_MALFORMED', 'The session request is not well formed; it was not made by a Vaultkeeper node of this version.');
  const request = parsed.data;
  const b = request.body;
  const who = b.requester;
  if (who === ctx.me && !ctx.ownRequest(b.sessionId)) {
    throw new RequestRefusal('SESSION_REQUEST_NOT_MINE', `A session request names this node as its requester, but this node did not make it (session ${b.sessionId.slice(0, 16)}…). Someone replayed or forged it; nothing was signed.`);
  }
  const key = ctx.requesterKey(who);
  if (!key) throw new RequestRefusal('SESSION_REQUESTER_UNKNOWN', `The session request comes from node ${who}, which is not an enrolled, non-quarantined node here.`);
  if (!verifyBytes(key, requestBytes(b), Buffer.from(request.signature, 'hex'))) {
    throw new RequestRefusal('SESSION_REQUEST_BAD_SIGNATURE', `The session request "from" node ${who} does not carry that node's signature: it was forged or altered on the way. Nothing was signed.`);
  }
  if (ctx.clusterId === null || b.clusterId !== ctx.clusterId) {
    throw new RequestRefusal('SESSION_REQUEST_WRONG_CLUSTER', `The session request is for cluster "${b.clusterId}", not "${ctx.clusterId ?? '(none)'}".`);
  }
  if (ctx.now > b.deadlineAt) throw new RequestRefusal('SESSION_REQUEST_EXPIRED', `The session request expired ${ago(ctx.now - b.deadlineAt)} ago. Ask the requester for a new one.`);
  if (b.deadlineAt - ctx.now > ctx.maxTtlMs) {
    throw new RequestRefusal('SESSION_REQUEST_EXPIRED', `The session request's deadline is ${ago(b.deadlineAt - ctx.now)} away; this node accepts at most ${ago(ctx.maxTtlMs)}.`);
  }
  const nodes = new Set(b.parties.map((p) => p.nodeId));
  const indices = new Set(b.parties.map((p) => p.partyIndex));
  const sorted = b.parties.every((p, i) => i === 0 || b.parties[i - 1]!.partyIndex < p.partyIndex);
  if (nodes.size !== b.parties.length || indices.size !== b.parties.length || !sorted || b.parties.length < b.threshold) {
    throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', 'The session request lists repeated parties, unordered indices or fewer parties than its threshold.');
  }
  if (!nodes.has(ctx.me)) throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', 'The session request does not include this node.');
  const keygen = isSetupProtocol(b.protocol);
  if (b.protocol !== 'ecdsa-refresh-shares' && (b.protocol === 'ecdsa-dkg') !== (b.auxId !== undefined)) {
    throw new RequestRefusal('SESSION_REQUEST_MALFORMED', `An ecdsa-dkg request names the auxiliary data every party attaches (auxId); a ${b.protocol} request carries none.`);
  }
  const signing = isSignProtocol(b.protocol);
  if (signing !== (b.message !== undefined) || (b.protocol === 'ecdsa-sign-presigned') !== (b.presignatureId !== undefined) || (!signing && b.permit !== undefined)) {
    throw new RequestRefusal('SESSION_REQUEST_MALFORMED', `A ${b.protocol} request must carry ${signing ? 'the message to sign' : 'no message and no permit'}${b.protocol === 'ecdsa-sign-presigned' ? ' and a presignature id' : ''}.`);
  }
  const refresh = isRefreshProtocol(b.protocol);
  if (refresh !== (b.refresh !== undefined)) {
    throw new RequestRefusal(refresh ? 'REFRESH_APPROVAL_MISSING' : 'SESSION_REQUEST_MALFORMED', refresh ? `The refresh request for keyset ${b.keysetId} carries no guardian approval; a refresh runs only with two guardians' approval. Nothing was changed.` : `A ${b.protocol} request carries no guardian refresh approval.`);
  }
  if ((b.protocol === 'eddsa-repair') !== (b.repair !== undefined)) {
    throw new RequestRefusal('SESSION_REQUEST_MALFORMED', `Only an eddsa-repair request names a share to repair, and it must; this ${b.protocol} request does not fit.`);
  }
  if (b.protocol === 'eddsa-repair') {
    if (!ctx.repairRequest) throw new RequestRefusal('REPAIR_APPROVAL_INVALID', 'This node cannot check a share repair (no guardian registry here), so it takes part in none. Nothing was sent.');
    return { request, info: sessionInfoOf(b), keyset: ctx.repairRequest(request) };
  }
  if (keygen) {
    if (ctx.keyset(b.keysetId)) throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', `Keyset ${b.keysetId} already exists on this node.`);
    return { request, info: sessionInfoOf(b), keyset: null };
  }
  const keyset = ctx.keyset(b.keysetId);
  if (!keyset || keyset.status !== 'active') throw new RequestRefusal('KEYSET_NOT_FOUND', `The session request is for keyset ${b.keysetId}, which this node does not hold.`);
  if (keyset.clusterId !== b.clusterId) throw new RequestRefusal('SESSION_REQUEST_WRONG_CLUSTER', `Keyset ${b.keysetId} belongs to cluster "${keyset.clusterId}", not "${b.clusterId}".`);
  if (!fitsScheme(keyset.scheme, b.protocol)) throw new RequestRefusal('SESSION_REQUEST_MALFORMED', `Keyset ${b.keysetId} is ${keyset.scheme}; it takes no part in ${b.protocol}.`);
  if (b.threshold !== keyset.threshold) throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', `The request says threshold ${b.threshold}; keyset ${b.keysetId} has ${keyset.threshold}.`);
  for (const p of b.parties) {
    const member = keyset.participants.find((m) => m.nodeId === p.nodeId);
    if (!member || member.partyIndex !== p.partyIndex) {
      throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', `The request names node ${p.nodeId} as party ${p.partyIndex}, which does not match keyset ${b.keysetId} on this node.`);
    }
  }
  const epoch = epochRefusal(b, keyset, ctx, who === ctx.me);
  if (epoch) throw epoch;
  if (refresh) {
    // Every share changes in a refresh: every holder takes part, or none.
    if (b.parties.length !== keyset.participants.length) {
      throw new RequestRefusal('REFRESH_NEEDS_ALL_NODES', `A refresh of keyset ${b.keysetId} needs all ${keyset.participants.length} share holders; the request names ${b.parties.length}. Nothing was changed.`);
    }
    if (!ctx.refreshApproval) throw new RequestRefusal('REFRESH_APPROVAL_INVALID', 'This node cannot check guardian approvals (no guardian registry), so it takes part in no refresh.');
    ctx.refreshApproval(request, keyset);
  }
  return { request, info: sessionInfoOf(b), keyset };
}
