/**
 * Signing through the cluster, requester side: a transaction under a SigningPermit or a key check,
 * with a ready presignature when one fits (ECDSA) and the full protocol otherwise; the relayed
 * signature is verified under the keyset's key before anyone sees it.
 */
import { randomBytes } from 'node:crypto';
import { keccak256 } from 'ethers';
import type { Participant, SessionRequestBody, SignedSessionRequest } from '../coordinator/protocol';
import type { AuditLog } from '../audit/audit-log';
import { AppFailure, fail } from '../errors';
import type { LocalIdentity } from './identity';
import { signFacts } from './invites';
import { buildKeyCheck, type KeyCheckPurpose } from './key-check';
import type { Keysets, KeysetRecord } from './keysets';
import type { Membership } from './membership';
import type { PresignaturePool } from './presignatures';
import { newSessionId, sessionInfoOf } from './session-request';
import { sessionFailure, type SessionEnd, type SessionRequests } from './session-requests';
import { signatureMatchesKeyset } from './signature-check';
import type { SignAuthorizer } from './sign-authorization';

export interface SignOutcome {
  signature: string;
  recoveryId: number | null;
  parties: string[];
  sessionId: string;
  attempts: number;
  /** 'presigned': the one-round online step; 'full': the full protocol. */
  mode: 'presigned' | 'full';
  presignatureId: string | null;
  /** What was signed, hex: the EdDSA message or the ECDSA preimage. */
  message: string;
  /** ECDSA: keccak256(preimage), hex, the digest the signature is over; EdDSA: null. */
  digest: string | null;
  permitId: string | null;
  /** Set when a presigned signing was possible but the full protocol ran instead, and why. */
  note: string | null;
}

export interface KeyCheckOutcome extends SignOutcome {
  purpose: KeyCheckPurpose;
}

export interface SignOptions {
  /** Members the requester wants in the quorum, most preferred first. */
  prefer?: string[];
  timeoutMs?: number;
  operationId?: string;
  /** ECDSA: use a ready presignature when one fits (default), or never. */
  presigned?: 'prefer' | 'never';
  /** Key checks only: the share epoch asked for (a sealed new share proving itself after an interrupted refresh). */
  shareEpoch?: number;
}

/** What a signing asks for: a transaction under a permit, or a key check the nodes can read. */
type SignWhat = { permit: unknown; message: Buffer } | { permit?: undefined; message: Buffer; purpose: KeyCheckPurpose };

export interface SigningDeps {
  audit: AuditLog;
  authorizer: SignAuthorizer;
  membership: Membership;
  keysets: Keysets;
  requests: SessionRequests;
  pool: PresignaturePool;
}

export class Signing {
  constructor(private readonly d: SigningDeps) {}

  /**
   * Signs a transaction under a SigningPermit. `message` is exactly what the engine signs: the
   * unsigned transaction (ECDSA: its keccak256 is signed, each node hashing it itself) or the
   * Solana message (EdDSA). Every node of the quorum verifies the permit itself. A session that
   * fails after it started is not retried: the permit is spent at the nodes that accepted it.
   */
  async signWithPermit(keysetId: string, permit: unknown, message: Buffer, options: SignOptions = {}): Promise<SignOutcome> {
    await this.d.membership.identity();
    const keyset = this.d.keysets.active(keysetId);
    if (permit === undefined || permit === null) fail('MPC_SESSION_REJECTED', 'A transaction is signed only with a SigningPermit.', { keysetId });
    if (message.length === 0 || message.length > 64 * 1024) fail('MPC_SESSION_REJECTED', 'The payload to sign must be 1 byte to 64 KiB (an unsigned transaction or message).');
    return this.signMessage(keyset, { permit, message }, options);
  }

  /**
   * Signs a key-check message built here (domain separated: never a transaction of any chain)
   * to show the keyset still signs. No permit is involved, so a transient failure is retried on
   * another quorum.
   */
  async keyCheck(keysetId: string, purpose: KeyCheckPurpose = 'key-check', options: Omit<SignOptions, 'presigned'> = {}): Promise<KeyCheckOutcome> {
    await this.d.membership.identity();
    const keyset = this.d.keysets.active(keysetId);
    const out = await this.signMessage(keyset, { message: buildKeyCheck(keysetId, purpose), purpose }, { ...options, presigned: 'never' });
    return { ...out, purpose };
  }

  /** This node's own yes before it asks anyone: the same authorizer that answers its invite. */
  preAuthorize(keyset: KeysetRecord, body: Omit<SessionRequestBody, 'v' | 'requester'>, me: LocalIdentity): string | null {
    const request: SignedSessionRequest = { body: { v: 1, ...body, requester: me.nodeId }, signature: '' };
    const decision = this.d.authorizer.authorize(signFacts(sessionInfoOf(request.body), request, keyset, me.nodeId, this.d.keysets.isLab(keyset)));
    if (!decision.ok) fail('SIGN_REFUSED', `This node refuses to request that signature: ${decision.message}`, { code: decision.code, keysetId: keyset.keysetId });
    return decision.permitId;
  }

  private outcome(keyset: KeysetRecord, what: SignWhat, end: SessionEnd, parties: Participant[], attempts: number, permitId: string | null, presignatureId: string | null, note: string | null = null): SignOutcome {
    const result = { signature: end.result?.signature ?? '', recoveryId: end.result?.recoveryId ?? null };
    if (!signatureMatchesKeyset(keyset, what.message, result)) {
      this.d.audit.append({ type: 'MPC_RESULT_REFUSED', actor: 'system', subject: end.session.sessionId, details: { keysetId: keyset.keysetId, reason: 'signature does not verify under the keyset key' } });
      fail('MPC_RESULT_INVALID', `The signature the coordinator relayed for session ${end.session.sessionId.slice(0, 16)}… does not verify under keyset ${keyset.keysetId}'s public key${keyset.scheme === 'ecdsa' ? ' (or does not recover to its address)' : ''}. It was refused; do not use it.`, {
        keysetId: keyset.keysetId,
        sessionId: end.session.sessionId,
        ...(what.permit !== undefined ? { permitSpent: true } : {}),
      });
    }
    return {
      ...result,
      parties: parties.map((p) => p.nodeId),
      sessionId: end.session.sessionId,
      attempts,
      mode: presignatureId ? 'presigned' : 'full',
      presignatureId,
      message: what.message.toString('hex'),
      digest: keyset.scheme === 'ecdsa' ? keccak256(what.message).slice(2) : null,
      permitId,
      note,
    };
  }

  private async signMessage(keyset: KeysetRecord, what: SignWhat, options: SignOptions): Promise<SignOutcome> {
    const me = await this.d.membership.identity();
    const requests = this.d.requests;
    const clusterId = requests.requireClusterId();
    const operationId = options.operationId ?? randomBytes(16).toString('hex');
    const exclude = this.d.membership.quarantined();
    const timeoutMs = options.timeoutMs ?? (keyset.scheme === 'ecdsa' ? 60_000 : 15_000);
    const common = { clusterId, keysetId: keyset.keysetId, threshold: keyset.threshold, message: what.message.toString('hex'), ...(what.permit !== undefined ? { permit: what.permit } : {}), shareEpoch: what.permit === undefined && options.shareEpoch !== undefined ? options.shareEpoch : keyset.shareEpoch };
    const withPermit = what.permit !== undefined;
    let attempts = 0;
    let note: string | null = null;

    // ECDSA: one round with a ready presignature whose quorum is connected now.
    if (keyset.scheme === 'ecdsa' && options.presigned !== 'never') {
      const connected = new Set(await requests.requireClient().presence(keyset.participants.map((p) => p.nodeId)));
      const unavailable = new Set([...exclude, ...keyset.participants.filter((p) => !connected.has(p.nodeId)).map((p) => p.nodeId)]);
      const pick = this.d.pool.pick(keyset, options.prefer ?? [], unavailable);
      if (!pick) note = 'No presignature was ready for a connected quorum: the full signing protocol ran (slower). The pool refills in the background.';
      if (pick) {
        const body = { ...common, sessionId: newSessionId(), protocol: 'ecdsa-sign-presigned' as const, parties: pick.quorum, presignatureId: pick.id, deadlineAt: Date.now() + Math.min(timeoutMs, 15_000) };
        let end: SessionEnd | null = null;
        try {
          const permitId = this.preAuthorize(keyset, { ...body, permitId: null }, me);
          attempts += 1;
          end = await requests.run(`sign-${operationId}-presigned`, { ...body, permitId });
          if (end.state === 'completed' && end.result?.signature) return this.outcome(keyset, what, end, pick.quorum, attempts, permitId, pick.id);
        } catch (error) {
          // No quorum at creation: nobody saw the request, so the full protocol may still run.
          if (!(error instanceof AppFailure) || error.code !== 'QUORUM_UNAVAILABLE') throw error;
          attempts -= 1;
          note = "The presignature's quorum was not available: the full signing protocol ran (slower).";
        } finally {
          this.d.pool.drop(pick.id);
          this.d.pool.release(pick.id);
        }
        if (end) {
          if (end.failure?.errorClass === 'protocol-violation' || withPermit) sessionFailure(end, withPermit, (id) => this.d.membership.node(id)?.name ?? null);
        }
      }
    }

    const candidates = keyset.participants.filter((p) => !exclude.has(p.nodeId)).length;
    const maxAttempts = withPermit ? 1 : Math.max(1, candidates - keyset.threshold + 1);
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const parties = await requests.chooseQuorum(keyset, options.prefer ?? [], exclude);
      const body = { ...common, sessionId: newSessionId(), protocol: `${keyset.scheme}-sign` as const, parties, deadlineAt: Date.now() + timeoutMs };
      const permitId = this.preAuthorize(keyset, { ...body, permitId: null }, me);
      attempts += 1;
      const end = await requests.run(`sign-${operationId}-${attempt}`, { ...body, permitId });
      if (end.state === 'completed' && end.result?.signature) return this.outcome(keyset, what, end, parties, attempts, permitId, null, note);
      if (withPermit || end.failure?.errorClass !== 'transient') sessionFailure(end, withPermit, (id) => this.d.membership.node(id)?.name ?? null);
      // A timeout names nobody: the next attempt leaves out another member of the stalled quorum.
      const suspect = end.failure.blamedNode ?? parties.find((p) => p.nodeId !== me.nodeId)?.nodeId;
      if (!suspect) sessionFailure(end);
      exclude.add(suspect);
    }
    fail('QUORUM_UNAVAILABLE', 'Quorum unavailable: every quorum that could sign failed with a peer timeout or disconnect.', { keysetId: keyset.keysetId });
  }
}
