/**
 * Messages between signer nodes and the coordinator (JSON over WebSocket). The coordinator is an
 * untrusted relay: node-to-node protocol messages cross it only as sealed envelopes, and what it
 * learns here is public (node ids, quorum, the message to sign, the permit, public results).
 */
import { z } from 'zod';

const nodeId = z.string().regex(/^[0-9a-f]{32}$/);
const hex = (max: number) => z.string().regex(/^[0-9a-f]*$/).max(max);
/** Room for a transaction preimage with calldata (64 KiB), far below the frame limit. */
const MAX_MESSAGE_HEX = 2 * 64 * 1024;
/**
 * `ecdsa-presign` makes one single-use presignature per quorum party; `ecdsa-sign-presigned` is
 * the one-round online step that consumes it (each party sends its partial signature).
 */
export const MPC_PROTOCOLS = ['ecdsa-keygen', 'ecdsa-sign', 'eddsa-keygen', 'eddsa-sign', 'ecdsa-presign', 'ecdsa-sign-presigned', 'ecdsa-aux', 'ecdsa-dkg', 'eddsa-refresh', 'ecdsa-refresh-shares', 'eddsa-repair'] as const;
export type ClusterProtocol = (typeof MPC_PROTOCOLS)[number];

export const participant = z.strictObject({ nodeId, partyIndex: z.number().int().min(0).max(15) });
export type Participant = z.infer<typeof participant>;

/**
 * eddsa-repair: the lost share holder's index, the node that held it, the enrolled replacement that
 * receives it, and the group key and public share of that index the repaired share must match.
 */
export const repairTerms = z.strictObject({
  partyIndex: z.number().int().min(0).max(15),
  lostNode: nodeId,
  newNode: nodeId,
  publicKey: hex(64).length(64),
  publicShare: hex(64).length(64),
});
export type RepairTerms = z.infer<typeof repairTerms>;

/** The session as the coordinator keeps its books; participants rebuild it from the signed request. */
export const sessionInfo = z.strictObject({
  sessionId: hex(128).min(32),
  protocol: z.enum(MPC_PROTOCOLS),
  clusterId: z.string().regex(/^[a-z0-9-]{1,64}$/),
  keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/),
  parties: z.array(participant).min(2).max(16),
  threshold: z.number().int().min(2).max(16),
  /**
   * Hex: the message (eddsa-sign) or the preimage whose keccak256 is signed (ecdsa-sign and
   * ecdsa-sign-presigned, e.g. an unsigned transaction with calldata); never a digest.
   */
  message: hex(MAX_MESSAGE_HEX).optional(),
  /** ecdsa-sign-presigned: the presignature (32-byte id) every party must consume. */
  presignatureId: hex(64).length(64).optional(),
  /** ecdsa-dkg: the group's auxiliary data (hash of its public part) every party attaches; ecdsa-refresh-shares: the new auxiliary data the refreshed shares switch to. */
  auxId: hex(64).length(64).optional(),
  /** Sessions of an existing keyset: the share epoch (refreshes so far) every party must hold. */
  shareEpoch: z.number().int().min(0).max(1_000_000).optional(),
  /** eddsa-repair: whose share is rebuilt, for whom, and what it must match. */
  repair: repairTerms.optional(),
  requester: nodeId,
  deadlineAt: z.number().int(),
});
export type SessionInfo = z.infer<typeof sessionInfo>;

/**
 * A session request as its requester made and signed it. The requester chooses everything (session
 * id, parties and their indices, what is signed, the permit, the deadline); the coordinator only
 * relays it, and every participant verifies the requester's Ed25519 signature over
 * transcript('vaultkeeper/session-request/v1', JCS(body)) before it takes part.
 */
export const sessionRequestBody = z.strictObject({
  v: z.literal(1),
  clusterId: z.string().regex(/^[a-z0-9-]{1,64}$/),
  /** 32 random bytes chosen by the requester. */
  sessionId: z.string().regex(/^[0-9a-f]{64}$/),
  protocol: z.enum(MPC_PROTOCOLS),
  keysetId: z.string().regex(/^[a-z0-9-]{1,64}$/),
  /** The quorum in party-index order. */
  parties: z.array(participant).min(2).max(16),
  threshold: z.number().int().min(2).max(16),
  /** Hex: the EdDSA message, or the ECDSA preimage whose keccak256 each node computes itself. */
  message: hex(MAX_MESSAGE_HEX).optional(),
  presignatureId: hex(64).length(64).optional(),
  auxId: hex(64).length(64).optional(),
  /** Sessions of an existing keyset: the share epoch every party must hold (absent: 0). */
  shareEpoch: z.number().int().min(0).max(1_000_000).optional(),
  /** Refresh sessions: the guardian quorum's approval, which every party verifies itself. */
  refresh: z.lazy(() => refreshApproval).optional(),
  /** eddsa-repair: the terms and the guardian quorum's approval of them, which every party verifies itself. */
  repair: z.lazy(() => repairTerms.extend({ approval: refreshApproval })).optional(),
  /** The signed permit, opaque to the cluster (the authorizer parses it). */
  permit: z.unknown().optional(),
  permitId: z.string().min(1).max(128).nullable(),
  requester: nodeId,
  deadlineAt: z.number().int().positive(),
});
export type SessionRequestBody = z.infer<typeof sessionRequestBody>;

/**
 * The guardian approval of a keyset refresh, as the requesting node's console recorded it: its
 * vault id, request id, expiry and context (what the payload hash commits to) and each approving
 * guardian's EIP-712 signature. Every party recomputes the approved parameters from its own
 * keyset record and checks the signatures against its own guardian registry.
 */
export const refreshApproval = z.strictObject({
  vaultId: z.string().min(1).max(128),
  requestId: z.string().min(1).max(64),
  /** Unix ms: the guardian request's expiry. */
  expiresAt: z.number().int().positive(),
  context: z.record(z.string(), z.unknown()).refine((c) => JSON.stringify(c).length <= 4096, 'context too large'),
  approvals: z
    .array(z.strictObject({ address: z.string().regex(/^0x[0-9a-fA-F]{40}$/), nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/), signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/) }))
    .max(3),
});
export type RefreshApproval = z.infer<typeof refreshApproval>;

export const signedSessionRequest = z.strictObject({
  body: sessionRequestBody,
  /** Ed25519 by the requester's node identity, hex. */
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
export type SignedSessionRequest = z.infer<typeof signedSessionRequest>;

export const publicResult = z.strictObject({
  publicKey: hex(130).optional(),
  address: z.string().max(128).optional(),
  signature: hex(256).optional(),
  recoveryId: z.number().int().min(0).max(3).optional(),
  /** ecdsa-presign: the id of the presignature made (the same at every party). */
  presignatureId: hex(64).optional(),
  /** ecdsa-aux: the id of the group's auxiliary data made (the same at every party). */
  auxId: hex(64).optional(),
});
export type PublicResult = z.infer<typeof publicResult>;

/** A party's signed confirmation that it finished the session with this result (see main/cluster/session-attestation.ts). */
export const sessionAttestation = z.strictObject({ nodeId, result: publicResult, signature: hex(128).length(128) });
export type SessionAttestation = z.infer<typeof sessionAttestation>;

export const failure = z.strictObject({
  errorClass: z.enum(['transient', 'permanent', 'protocol-violation']),
  code: z.string().max(64),
  reason: z.string().max(500),
  blamedNode: nodeId.optional(),
});

export const clientMessage = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('hello'), nodeId, signingPublicKey: hex(64), signature: hex(128) }),
  z.strictObject({
    t: z.literal('create'),
    reqId: z.number().int(),
    idempotencyKey: z.string().min(8).max(128),
    /** The signed request, relayed unchanged in every invite. */
    request: signedSessionRequest,
  }),
  /** Which of these nodes are connected now (the requester chooses its quorum from the answer). */
  z.strictObject({ t: z.literal('presence'), reqId: z.number().int(), nodes: z.array(nodeId).max(16) }),
  z.strictObject({ t: z.literal('accept'), sessionId: z.string() }),
  /** `code` when the node refused on purpose (e.g. its authorizer said no): a permanent failure. */
  z.strictObject({ t: z.literal('decline'), sessionId: z.string(), reason: z.string().max(500), code: z.string().regex(/^[A-Z0-9_]{1,64}$/).optional() }),
  z.strictObject({ t: z.literal('relay'), sessionId: z.string(), to: nodeId, envelope: z.unknown() }),
  /** `attestation`: the party's signed confirmation, relayed to every party in the session end. */
  z.strictObject({ t: z.literal('done'), sessionId: z.string(), result: publicResult, attestation: sessionAttestation.optional() }),
  z.strictObject({ t: z.literal('failed'), sessionId: z.string(), failure }),
]);
export type ClientMessage = z.input<typeof clientMessage>;

export type ServerMessage =
  | { t: 'challenge'; nonce: string; clusterId: string }
  | { t: 'welcome'; nodeId: string; clusterId: string }
  | { t: 'created'; reqId: number; session: SessionInfo; state: string }
  | { t: 'error'; reqId?: number; code: string; message: string }
  | { t: 'presence'; reqId: number; connected: string[] }
  | { t: 'invite'; session: SessionInfo; request: SignedSessionRequest }
  | { t: 'start'; sessionId: string }
  | { t: 'envelope'; sessionId: string; from: string; envelope: unknown }
  | {
      t: 'session-end';
      session: SessionInfo;
      state: 'completed' | 'failed';
      result?: PublicResult;
      /** completed: each party's signed confirmation, as the parties sent them. */
      attestations?: SessionAttestation[];
      failure?: z.infer<typeof failure>;
    };

export const HELLO_LABEL = 'vaultkeeper/coordinator-hello/v1';
/** Largest frame either side accepts (ECDSA keygen rounds are a few hundred KB). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
