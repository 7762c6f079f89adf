/**
 * The requesting side of a session: the connection to the coordinator, the signed request it
 * relays, the wait for the session's end, the choice of quorum, and failures as error values.
 */
import { permitNotRetriedSentence } from './permit-refusal';
import type { ErrorCode } from '../../preload/contract';
import type { ClientMessage, Participant, ServerMessage, SessionInfo, SessionRequestBody } from '../coordinator/protocol';
import { fail } from '../errors';
import { CoordinatorClient } from './coordinator-client';
import type { KeysetRecord } from './keysets';
import type { LocalIdentity } from './identity';
import type { Membership } from './membership';
import { rankQuorum } from './quorum';
import { sessionInfoOf, signSessionRequest } from './session-request';

export type SessionEnd = Extract<ServerMessage, { t: 'session-end' }>;

interface Waiter {
  resolve: (m: SessionEnd) => void;
}

export class SessionRequests {
  private client: CoordinatorClient | null = null;
  private clusterIdValue: string | null = null;
  private readonly waiters = new Map<string, Waiter>();
  private readonly ended = new Map<string, SessionEnd>();
  /**
   * Session ids of requests this node signed in this process and still waits on: a request naming
   * this node as requester is honoured only when it is one of these.
   */
  readonly ownRequests = new Set<string>();

  constructor(private readonly membership: Membership) {}

  async connect(url: string, me: LocalIdentity, handlers: { onMessage: (m: ServerMessage) => void; onClose: () => void }, options: { certSha256?: string | null; clusterId?: string | null } = {}): Promise<void> {
    if (this.client) {
      // Replacing a link: what ran over the old one ends, as when a link is lost.
      await this.close();
      handlers.onClose();
    }
    const client = new CoordinatorClient(url, me, handlers, options.certSha256 ?? null);
    this.clusterIdValue = await client.connect(options.clusterId ?? null);
    this.client = client;
  }

  /** Settles once the link closed (what was sent before it went out first), or after a grace period. */
  close(): Promise<void> {
    const client = this.client;
    this.client = null;
    return client ? client.close() : Promise.resolve();
  }

  get url(): string | null {
    return this.client?.url ?? null;
  }

  get clusterId(): string | null {
    return this.clusterIdValue;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Sends to the coordinator when connected; a message to a closed link is dropped (the relay times the session out). */
  send(message: ClientMessage): void {
    this.client?.send(message);
  }

  requireClient(): CoordinatorClient {
    if (!this.client?.connected) fail('COORDINATOR_UNAVAILABLE', 'This node is not connected to a coordinator. Start the cluster (or the lab cluster) and try again.');
    return this.client;
  }

  requireClusterId(): string {
    this.requireClient();
    if (!this.clusterIdValue) fail('COORDINATOR_UNAVAILABLE', 'This node is not connected to a coordinator. Start the cluster (or the lab cluster) and try again.');
    return this.clusterIdValue;
  }

  /** Hands a session's end to the request waiting on it, or keeps it (bounded) for one still on its way. */
  deliverEnd(m: SessionEnd): void {
    const sid = m.session.sessionId;
    const waiter = this.waiters.get(sid);
    if (waiter) {
      this.waiters.delete(sid);
      waiter.resolve(m);
    } else {
      if (this.ended.size >= 256) this.ended.delete(this.ended.keys().next().value!);
      this.ended.set(sid, m);
    }
  }

  /**
   * Waits for the coordinator to report the end of a session this node requested; a relay that
   * stays silent past the deadline gets a local timeout instead.
   */
  private waitForEnd(info: SessionInfo): Promise<SessionEnd> {
    const sessionId = info.sessionId;
    const done = this.ended.get(sessionId);
    if (done) {
      this.ended.delete(sessionId);
      return Promise.resolve(done);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(sessionId);
        resolve({ t: 'session-end', session: info, state: 'failed', failure: { errorClass: 'transient', code: 'TIMEOUT', reason: 'The coordinator did not report the end of the session by its deadline.' } });
      }, Math.max(0, info.deadlineAt - Date.now()) + 2_000);
      timer.unref();
      this.waiters.set(sessionId, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /**
   * Signs a session request with this node's identity, has the coordinator relay it and waits for
   * the session's end; QUORUM_UNAVAILABLE comes back as an error.
   */
  async run(idempotencyKey: string, body: Omit<SessionRequestBody, 'v' | 'requester'>): Promise<SessionEnd> {
    const client = this.requireClient();
    const request = signSessionRequest(await this.membership.identity(), body);
    this.ownRequests.add(body.sessionId);
    try {
      const answer = await client.request({ t: 'create', idempotencyKey, request });
      if (answer.t === 'error') {
        const details = { code: answer.code };
        if (answer.code === 'QUORUM_UNAVAILABLE') fail('QUORUM_UNAVAILABLE', answer.message, details);
        fail('CLUSTER_REQUEST_REFUSED', answer.message, details);
      }
      if (answer.t !== 'created') fail('CLUSTER_REQUEST_REFUSED', 'The coordinator gave an unexpected answer.');
      return await this.waitForEnd(sessionInfoOf(request.body));
    } finally {
      this.ownRequests.delete(body.sessionId);
    }
  }

  /**
   * The quorum for a session of this keyset: connected (as the coordinator reports), enrolled and
   * not excluded; the preferred members first, then this node, then by party index.
   */
  async chooseQuorum(keyset: KeysetRecord, prefer: readonly string[], exclude: ReadonlySet<string>): Promise<Participant[]> {
    const me = await this.membership.identity();
    const candidates = keyset.participants.filter((p) => !exclude.has(p.nodeId) && (p.nodeId === me.nodeId || this.membership.node(p.nodeId)?.status === 'enrolled'));
    const connected = new Set(await this.requireClient().presence(candidates.map((p) => p.nodeId)));
    const usable = candidates.filter((p) => connected.has(p.nodeId));
    if (usable.length < keyset.threshold) {
      fail('QUORUM_UNAVAILABLE', `Quorum unavailable: ${usable.length} of the ${keyset.participants.length} members can take part, ${keyset.threshold} are needed.`, { keysetId: keyset.keysetId });
    }
    return rankQuorum(usable, prefer, me.nodeId, keyset.threshold);
  }
}

/** A failed session as the error value its requester sees. */
export function sessionFailure(end: SessionEnd, permitSpent = false, nameOf: (nodeId: string) => string | null = () => null): never {
  const f = end.failure ?? { errorClass: 'transient' as const, code: 'FAILED', reason: 'The session failed.' };
  const code: ErrorCode = f.errorClass === 'protocol-violation' ? 'MPC_PROTOCOL_VIOLATION' : f.errorClass === 'permanent' ? 'MPC_SESSION_REJECTED' : 'MPC_SESSION_FAILED';
  const message = permitSpent ? permitNotRetriedSentence(f, nameOf) : f.reason;
  fail(code, message, {
    errorClass: f.errorClass,
    code: f.code,
    blamedNode: f.blamedNode ?? null,
    sessionId: end.session.sessionId,
    ...(permitSpent ? { permitSpent: true } : {}),
  });
}
