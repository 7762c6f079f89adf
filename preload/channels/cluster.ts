/** Channels of the signer cluster: status and peers, keysets, sessions, the lab cluster. */
import { z } from 'zod';
import { noArguments } from './common';

export const CLUSTER_ERROR_CODES = [
  'PEER_CARD_INVALID',
  'FINGERPRINT_MISMATCH',
  'PEER_NOT_QUARANTINED',
  'COORDINATOR_UNAVAILABLE',
  /** The coordinator's answer to a question (e.g. who is connected) is not well formed. */
  'COORDINATOR_ANSWER_INVALID',
  'CLUSTER_NOT_READY',
  'CLUSTER_REQUEST_REFUSED',
  'QUORUM_UNAVAILABLE',
  'MPC_SESSION_FAILED',
  'MPC_SESSION_REJECTED',
  'MPC_PROTOCOL_VIOLATION',
  'KEYSET_NOT_FOUND',
  'LAB_START_FAILED',
  'LAB_NOT_RUNNING',
  'BUNDLE_MALFORMED',
  'BUNDLE_TOO_LARGE',
  'BUNDLE_NOT_FOR_THIS_NODE',
  'BUNDLE_WRONG_CLUSTER',
  'BUNDLE_WRONG_SESSION',
  'BUNDLE_WRONG_ROUND',
  'BUNDLE_UNKNOWN_SENDER',
  'BUNDLE_BAD_SIGNATURE',
  'BUNDLE_TAMPERED',
  'AIRGAP_SESSION_NOT_FOUND',
  /** A refusal's reason is empty, too long or holds control characters. */
  'AIRGAP_REFUSAL_REASON_INVALID',
  /** A refusal arrived for an air-gap session that already ended here; the session is unchanged. */
  'AIRGAP_SESSION_ENDED',
  /** A reply bundle could not be written to the medium; nothing was recorded. */
  'BUNDLE_WRITE_FAILED',
  'KEYGEN_WINDOW_INVALID',
  'LAB_UNAVAILABLE',
  'SESSION_REQUEST_MALFORMED',
  'SESSION_REQUEST_NOT_MINE',
  'SESSION_REQUESTER_UNKNOWN',
  'SESSION_REQUEST_BAD_SIGNATURE',
  'SESSION_REQUEST_WRONG_CLUSTER',
  'SESSION_REQUEST_EXPIRED',
  'SESSION_REQUEST_WRONG_PARTIES',
  'SESSION_REQUEST_REPLAYED',
  'SESSION_NOT_ALLOWED',
  /** A node's authorizer said no (details.code holds its reason code, e.g. PERMIT_EXPIRED). */
  'SIGN_REFUSED',
  /** The combined signature relayed to the requester does not verify under the keyset key. */
  'MPC_RESULT_INVALID',
  /** An ECDSA keyset was to reuse the group's auxiliary data, and the group has none yet. */
  'AUX_NOT_READY',
  /** A presignature pool target outside 0..cap. */
  'PRESIGNATURE_TARGET_INVALID',
] as const;

export const CLUSTER_EVENT_TYPES = [
  'MPC_KEYGEN_STARTED',
  'MPC_KEYGEN_COMPLETED',
  'MPC_KEYGEN_FAILED',
  'MPC_SIGN_STARTED',
  'MPC_SIGN_COMPLETED',
  'MPC_SIGN_FAILED',
  'PEER_ENROLLED',
  'PEER_QUARANTINED',
  'PEER_RELEASED',
  'LAB_CLUSTER_STARTED',
  'LAB_CLUSTER_STOPPED',
  'MPC_PRESIGN_STARTED',
  'MPC_PRESIGN_COMPLETED',
  'MPC_PRESIGN_FAILED',
  'MPC_PRESIGNATURES_DISCARDED',
  'MPC_PRESIGNATURES_EXPIRED',
  'ROLLBACK_DETECTED',
  'MPC_INVITES_REFUSED',
  'KEYGEN_WINDOW_OPENED',
  'KEYGEN_WINDOW_CLOSED',
  'MPC_SESSION_REFUSED',
  /** A refusal bundle that does not verify as a participant's (forged, relabelled, altered): dropped. */
  'AIRGAP_REFUSAL_DROPPED',
  'MPC_RESULT_REFUSED',
  'MPC_ENVELOPES_DROPPED',
  'MPC_COMPLETION_UNPROVEN',
  'SIGN_KEY_CHECK_ACCEPTED',
  'MPC_AUX_STARTED',
  'MPC_AUX_COMPLETED',
  'MPC_AUX_FAILED',
  'PRIME_POOL_ENTRY_USED',
  'PRESIGNATURE_TARGET_SET',
] as const;

/** What a test signature proves: a routine key check, a restore proof, or part of a drill. */
export const KEY_CHECK_PURPOSES = ['key-check', 'restore-proof', 'drill'] as const;
export type KeyCheckPurpose = (typeof KEY_CHECK_PURPOSES)[number];

/** A key check the cluster signed, verified by this node under the keyset's public key. */
export interface KeyCheckView {
  keysetId: string;
  purpose: KeyCheckPurpose;
  sessionId: string;
  parties: string[];
  /** The domain-separated message that was signed, hex (never a transaction). */
  message: string;
  signature: string;
  /** Always true: a signature that does not verify is refused with MPC_RESULT_INVALID instead. */
  verified: true;
}

export interface ClusterNodeView {
  nodeId: string;
  name: string;
  fingerprint: string;
  isSelf: boolean;
  status: 'enrolled' | 'quarantined';
  quarantineReason: string | null;
}

export interface ClusterStatus {
  /** 'lab': the embedded lab cluster on this machine; 'none': no cluster configured. */
  mode: 'none' | 'lab' | 'configured';
  connected: boolean;
  clusterId: string | null;
  coordinatorUrl: string | null;
  nodes: ClusterNodeView[];
  /**
   * The embedded lab cluster's child processes (empty unless it runs); `available` is false in a
   * build that cannot start it, with the sentence to show instead of the button.
   */
  lab: { running: boolean; pids: number[]; available: boolean; unavailableReason: string | null };
  /** End of the window in which this node accepts key generation requested by peers (ms), or null. */
  keygenWindowUntil: number | null;
  /** Pregenerated safe primes sealed on this node (each used once, for one auxiliary-data run). */
  primePool: { level: number; target: number; filling: boolean };
  /** ECDSA auxiliary data of this node's signer groups (newest first); nothing secret. */
  auxGroups: Array<{ auxGroupId: string; auxId: string; status: 'active' | 'retired'; createdAt: string; participants: string[] }>;
  /** Sessions running at this node with the engine's progress (long steps can be cancelled). */
  running: Array<{ sessionId: string; protocol: string; keysetId: string; step: number; total: number; label: string }>;
}

/** Longest reason an operator may give when refusing an air-gap request (the requester reads it). */
export const AIRGAP_REFUSAL_REASON_MAX = 500;

/** What an air-gap export or import did, for the operator. */
export interface AirgapReport {
  sessionId: string | null;
  /** Bundles written or taken in. */
  bundles: number;
  refused: Array<{ file: string; code: string; message: string }>;
  /** Sessions joined from requests in the folder. */
  joined: string[];
  /** Air-gap sessions still waiting for bundles. */
  waiting: string[];
  /** Session requests in the folder left for the operator to review (approve or refuse). */
  pending: string[];
  /** Session requests in the folder this node's operator refused before: when and why. */
  refusedEarlier: Array<{
    sessionId: string;
    refusedAt: string;
    reason: string;
    message: string;
    /** The refusal's reply file, written again into the folder because the medium lacked it (a failed write, a crash); null when it was there. */
    replyWrittenAgain: string | null;
  }>;
  /** Multi-party air-gap sessions running here (key generation, presign): their round and whose bundles they wait for (absent from a QR import's report). */
  progress?: AirgapProgressView[];
}

/** Where a multi-party air-gap session stands at this node, for the operator carrying the media. */
export interface AirgapProgressView {
  sessionId: string;
  protocol: string;
  keysetId: string;
  /** 'rounds' while the protocol runs; 'completion' once this node finished and waits for the others' signed completions. */
  phase: 'rounds' | 'completion';
  /** The last round this node wrote (0 before its first). */
  round: number;
  /** The nodes whose next bundle this node waits for, by name when enrolled. */
  waitingFor: Array<{ nodeId: string; name: string | null }>;
  deadlineAt: number;
}

/** A session request read from the medium, shown for the operator to approve or refuse. */
export interface AirgapRequestView {
  sessionId: string;
  /** The bundle's file name on the medium. */
  file: string;
  requester: { nodeId: string; name: string | null };
  keysetId: string | null;
  /** The keyset as this node knows it ("Solana 8fj3…", with the lab mark), null when it holds none. */
  keyset: string | null;
  protocol: string;
  /** 'setup': a key generation or presign (nothing is signed; a share or presignature is made and kept). */
  kind: 'key-check' | 'permit' | 'setup' | 'unknown';
  /** What would be signed, in words (for a permit: its transaction decoded from the permit itself). */
  description: string;
  permitId: string | null;
  /** The session's deadline. */
  expiresAt: string | null;
  /** Why it cannot be joined as it stands (forged, altered, unknown keyset…); null when it checks out. */
  problem: { code: string; message: string } | null;
}

export interface KeysetView {
  keysetId: string;
  scheme: 'ecdsa' | 'eddsa';
  chain: 'Ethereum' | 'Solana';
  keyRef: string;
  threshold: number;
  participants: Array<{ nodeId: string; partyIndex: number; name: string }>;
  address: string | null;
  publicKey: string | null;
  status: 'active' | 'failed';
  createdAt: string;
  /** PNG data URL of a QR code of the address. */
  addressQr: string | null;
  /** Made in the lab cluster: never for real funds. Permanent, shown wherever the keyset appears. */
  lab: boolean;
  /**
   * When the keyset's full private key was exported by an emergency exit (null: never). From then
   * on it is a single point of failure; shown wherever the keyset appears.
   */
  exportedAt: string | null;
  /** The caption printed with the QR code (carries the lab mark). */
  qrCaption: string;
  /** ECDSA: the group auxiliary data the shares carry (null: made with their own). */
  auxGroupId: string | null;
  /** ECDSA: this node's presignature pool for the keyset; null for EdDSA. */
  presignaturePool: { target: number; cap: number; ready: number; oldestAt: string | null; nextExpiryAt: string | null; refilling: boolean } | null;
}

export interface ClusterSessionView {
  sessionId: string;
  protocol: string;
  keysetId: string;
  state: 'running' | 'completed' | 'failed';
  errorClass: string | null;
  errorCode: string | null;
  errorReason: string | null;
  blamedNode: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** What the session produced, as this node verified it: a signature (hex), or a new keyset's public key. */
  signature: string | null;
  publicKey: string | null;
}

const nodeId = z.string().regex(/^[0-9a-f]{32}$/, 'must be a node id (32 hex characters)');
const sessionIdHex = z.string().regex(/^[0-9a-f]{32,128}$/, 'must be a session id (hex)');
const folder = z.string().min(1).max(1024).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute folder path');

export const clusterChannels = {
  'cluster.status': { request: noArguments, activity: false },
  'cluster.keysets': { request: noArguments, activity: true },
  'cluster.sessions': { request: noArguments, activity: true },
  'cluster.releasePeer': { request: z.strictObject({ nodeId }), activity: true },
  'cluster.startLab': { request: noArguments, activity: true },
  'cluster.stopLab': { request: noArguments, activity: true },
  /** Accept key generation requested by peers for N minutes (0 closes the window). */
  'cluster.keygenWindow': { request: z.strictObject({ minutes: z.number().int().min(0).max(24 * 60) }), activity: true },
  /** Test signature: the quorum signs a key-check message each node can read (never a transaction). */
  'cluster.keyCheck': { request: z.strictObject({ keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/), purpose: z.enum(KEY_CHECK_PURPOSES) }), activity: true },
  /**
   * Starts an air-gap key check with one partner: writes the signed request and first round into
   * `folder`. Transactions cross the gap only under a permit, from the permit queue.
   */
  'cluster.airgapSign': {
    request: z.strictObject({
      keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/),
      partner: nodeId,
      purpose: z.enum(KEY_CHECK_PURPOSES),
      folder: folder,
    }),
    activity: true,
  },
  /**
   * Imports every bundle in `folder`: feeds rounds of running sessions and joins the session
   * requests named in `approve` (the operator reviewed them); the other requests stay pending.
   * Replies are written to the same folder.
   */
  'cluster.airgapImport': { request: z.strictObject({ folder, approve: z.array(sessionIdHex).max(16).default([]) }), activity: true },
  /**
   * Starts a 2-of-3 key generation with both peers by file bundles: writes the signed request and
   * this node's first round into `folder` (this node's cluster must be configured).
   */
  'cluster.airgapKeygen': { request: z.strictObject({ scheme: z.enum(['eddsa', 'ecdsa']), folder }), activity: true },
  /**
   * Starts one ECDSA presign of `keysetId` with `partner` by file bundles: writes the signed
   * request and this node's first round into `folder`.
   */
  'cluster.airgapPresign': { request: z.strictObject({ keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/), partner: nodeId, folder }), activity: true },
  /**
   * Starts a refresh of every share of `keysetId` by file bundles under the guardian request
   * `requestId` (two guardians approved it; spent here): all share holders import and answer.
   */
  'cluster.airgapRefresh': { request: z.strictObject({ keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/), requestId: z.string().min(1).max(64), folder }), activity: true },
  /** The multi-party air-gap sessions running here, with their round and whose bundles they wait for. */
  'cluster.airgapProgress': { request: noArguments, activity: false },
  /** Session requests in `folder` addressed to this node that wait for review: read and checked, nothing joined. */
  'cluster.airgapReview': { request: z.strictObject({ folder }), activity: true },
  /**
   * The operator refuses one reviewed request with a reason: a signed refusal for the requester
   * is written to `folder`, the refusal is kept and audited, later imports skip it. Answers the
   * remaining list.
   */
  'cluster.airgapRefuse': {
    request: z.strictObject({
      folder,
      sessionId: sessionIdHex,
      reason: z.string().trim().min(1, 'Give a reason for the refusal: the requester reads it.').max(AIRGAP_REFUSAL_REASON_MAX, `Keep the reason to at most ${AIRGAP_REFUSAL_REASON_MAX} characters.`),
    }),
    activity: true,
  },
  /** Starts filling the prime pool in the background (while this node is idle). */
  'cluster.fillPrimePool': { request: noArguments, activity: true },
  /** Cancels a session running at this node (prime search, aux data, key generation). */
  'cluster.cancelSession': { request: z.strictObject({ sessionId: z.string().regex(/^[0-9a-f]{64}$/) }), activity: true },
  /** Ready presignatures to keep for an ECDSA keyset (0 turns refilling off). */
  'cluster.presignatureTarget': { request: z.strictObject({ keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/), target: z.number().int().min(0).max(64) }), activity: true },
} as const;

export interface ClusterResponses {
  'cluster.status': ClusterStatus;
  'cluster.keysets': KeysetView[];
  'cluster.sessions': ClusterSessionView[];
  'cluster.releasePeer': ClusterStatus;
  'cluster.startLab': ClusterStatus;
  'cluster.stopLab': ClusterStatus;
  'cluster.keygenWindow': ClusterStatus;
  'cluster.keyCheck': KeyCheckView;
  'cluster.airgapSign': AirgapReport;
  'cluster.airgapImport': AirgapReport;
  'cluster.airgapKeygen': AirgapReport;
  'cluster.airgapPresign': AirgapReport;
  'cluster.airgapRefresh': AirgapReport;
  'cluster.airgapProgress': AirgapProgressView[];
  'cluster.airgapReview': AirgapRequestView[];
  'cluster.airgapRefuse': AirgapRequestView[];
  'cluster.fillPrimePool': ClusterStatus;
  'cluster.presignatureTarget': KeysetView;
  'cluster.cancelSession': ClusterStatus;
}
