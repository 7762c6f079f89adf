/**
 * Channels for joining a real cluster: this node's card, enrolling a peer from its card once the
 * fingerprint words are confirmed, removing or replacing a peer under a guardian quorum, and the
 * cluster's name and coordinator (or air-gapped).
 */
import { z } from 'zod';
import { noArguments } from './common';
import type { ApprovalRequestView } from './guardians';
import { guardedRequester, guardedTtlMinutes } from './permits';

export const MEMBERSHIP_ERROR_CODES = [
  /** The file is larger than any node card. */
  'PEER_CARD_TOO_LARGE',
  /** This node's own card was offered as a peer's. */
  'PEER_IS_SELF',
  'PEER_ALREADY_ENROLLED',
  /** The card of a node removed under a guardian quorum (a replayed old card). */
  'PEER_REMOVED',
  'PEER_NOT_FOUND',
  'COORDINATOR_ADDRESS_INVALID',
  /** Plain ws:// to another machine. */
  'COORDINATOR_INSECURE',
  /** wss:// to another machine without the certificate fingerprint. */
  'COORDINATOR_PIN_REQUIRED',
] as const;

export const MEMBERSHIP_EVENT_TYPES = ['PEER_REMOVED', 'PEER_REPLACED', 'CLUSTER_CONFIGURED', 'LAB_LEFT'] as const;

/** This node's card: the file text, its QR code and the words to read aloud. */
export interface NodeCardView {
  nodeId: string;
  name: string;
  fingerprint: string;
  /** The card file (node-card.json) as text. */
  text: string;
  /** PNG data URL of a QR code of the same text. */
  qr: string;
}

/** A peer's card as read from a file, before enrolment. */
export interface PeerCardView {
  nodeId: string;
  name: string;
  signingPublicKey: string;
  hpkePublicKey: string;
  fingerprint: string;
}

export interface ClusterMemberView {
  nodeId: string;
  name: string;
  fingerprint: string;
  isSelf: boolean;
  status: 'enrolled' | 'quarantined';
  /** Connected to the coordinator now; null when unknown (not connected, or air-gapped). */
  online: boolean | null;
}

export interface MembershipView {
  /** null: no real cluster configured (the lab may run). */
  configured: { name: string; transport: 'coordinator' | 'airgap'; coordinatorUrl: string | null; certSha256: string | null; configuredAt: string } | null;
  connected: boolean;
  /** Why the last connection attempt to the configured coordinator failed. */
  lastError: string | null;
  members: ClusterMemberView[];
  removed: Array<{ nodeId: string; name: string; removedAt: string; replacedBy: string | null }>;
}

const nodeId = z.string().regex(/^[0-9a-f]{32}$/, 'must be a node id (32 hex characters)');
/** A card file's text; the parser in main refuses anything over its own (smaller) limit with a sentence. */
const cardText = z.string().min(1, 'Paste or choose a node card.').max(64 * 1024, 'That is far too large for a node card.');
const words = z.string().trim().min(1, 'Type the fingerprint words the peer reads to you.').max(200);
const reason = z.string().trim().min(1, 'Say why.').max(300);
const requestId = z.string().uuid();
const clusterName = z.string().trim().min(1, 'Name the cluster.').max(64);

export const membershipChannels = {
  'membership.status': { request: noArguments, activity: false },
  'membership.card': { request: noArguments, activity: true },
  /** Reads a peer's card file and shows it; changes nothing. */
  'membership.inspectCard': { request: z.strictObject({ text: cardText }), activity: true },
  /** Enrols the peer once `words` (typed or confirmed on screen) are the card's words. */
  'membership.enrolCard': { request: z.strictObject({ text: cardText, words }), activity: true },
  'membership.configure': {
    request: z.discriminatedUnion('airgapped', [
      z.strictObject({ name: clusterName, airgapped: z.literal(true) }),
      z.strictObject({ name: clusterName, airgapped: z.literal(false), coordinatorUrl: z.string().trim().min(1, 'Give the coordinator address.').max(300), certSha256: z.string().max(200).nullable().default(null) }),
    ]),
    activity: true,
  },
  'membership.requestRemoval': { request: z.strictObject({ nodeId, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  'membership.removePeer': { request: z.strictObject({ nodeId, requestId }), activity: true },
  'membership.requestReplacement': { request: z.strictObject({ nodeId, text: cardText, words, reason, requester: guardedRequester, ttlMinutes: guardedTtlMinutes }), activity: true },
  'membership.replacePeer': { request: z.strictObject({ nodeId, text: cardText, words, requestId }), activity: true },
} as const;

export interface MembershipResponses {
  'membership.status': MembershipView;
  'membership.card': NodeCardView;
  'membership.inspectCard': PeerCardView;
  'membership.enrolCard': MembershipView;
  'membership.configure': MembershipView;
  'membership.requestRemoval': ApprovalRequestView;
  'membership.removePeer': MembershipView;
  'membership.requestReplacement': ApprovalRequestView;
  'membership.replacePeer': MembershipView;
}
