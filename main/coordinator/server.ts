/**
 * The coordinator: creates key-generation and signing sessions, chooses the participants,
 * relays sealed envelopes between them and keeps the books. It authenticates nodes (a signed
 * answer to a fresh challenge) but is not trusted by them: it never holds a share or sees a
 * plaintext protocol message, and nodes verify every envelope end to end.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ed25519PublicKey, transcript, verifyBytes } from '../cluster/keys';
import { nodeIdFromPublicKey } from '../identity/node-identity';
import { clientMessage, HELLO_LABEL, MAX_FRAME_BYTES, type Participant, type PublicResult, type ServerMessage, type SessionInfo } from './protocol';
import { CoordinatorStore } from './store';

export interface CoordinatorOptions {
  /** SQLite file for the session store (':memory:' in tests). */
  storeFile: string;
  clusterId: string;
  host?: string;
  port?: number;
  /** Test hook: sees (and may alter or drop) every relayed envelope. */
  relayFilter?: (relay: { sessionId: string; from: string; to: string; envelope: unknown }) => unknown | null;
  log?: (line: string) => void;
}

type Failure = NonNullable<Extract<ServerMessage, { t: 'session-end' }>['failure']>;

interface LiveSession {
  info: SessionInfo;
  accepted: Set<string>;
  results: Map<string, PublicResult>;
  timer: NodeJS.Timeout;
}

export class Coordinator {
  readonly store: CoordinatorStore;
  private server!: WebSocketServer;
  private readonly connections = new Map<string, WebSocket>();
  private readonly live = new Map<string, LiveSession>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: CoordinatorOptions) {
    this.store = new CoordinatorStore(options.storeFile);
    this.log = options.log ?? (() => undefined);
  }

  async listen(): Promise<string> {
    this.server = new WebSocketServer({ host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 0, maxPayload: MAX_FRAME_BYTES });
    this.server.on('connection', (ws) => this.accept(ws));
    await new Promise<void>((resolve, reject) => {
      this.server.once('listening', resolve);
      this.server.once('error', reject);
    });
    return this.url;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `ws://${address.address}:${address.port}`;
  }

  get connectedNodes(): string[] {
    return [...this.connections.keys()];
  }

  async close(): Promise<void> {
    for (const s of this.live.values()) clearTimeout(s.timer);
    this.live.clear();
    for (const ws of this.connections.values()) ws.terminate();
    for (const ws of this.server?.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.store.close();
  }

  private send(nodeId: string, message: ServerMessage): boolean {
    const ws = this.connections.get(nodeId);
    if (!ws || ws.readyState !== ws.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  private accept(ws: WebSocket): void {
    const nonce = randomBytes(32).toString('hex');
    let nodeId: string | null = null;
    const helloTimer = setTimeout(() => ws.terminate(), 10_000);
    ws.send(JSON.stringify({ t: 'challenge', nonce, clusterId: this.options.clusterId } satisfies ServerMessage));
    ws.on('message', (data) => {
      let parsed;
      try {
        parsed = clientMessage.safeParse(JSON.parse(data.toString()));
      } catch {
        parsed = null;
      }
      if (!parsed?.success) {
        ws.send(JSON.stringify({ t: 'error', code: 'BAD_MESSAGE', message: 'The coordinator could not parse that message.' } satisfies ServerMessage));
        return;
      }
      const msg = parsed.data;
      if (nodeId === null) {
        if (msg.t !== 'hello') return void ws.close(4001, 'hello expected');
        const key = Buffer.from(msg.signingPublicKey, 'hex');
        const ok = key.length === 32 && nodeIdFromPublicKey(key) === msg.nodeId && verifyBytes(ed25519PublicKey(key), transcript(HELLO_LABEL, nonce, msg.nodeId, this.options.clusterId), Buffer.from(msg.signature, 'hex'));
        if (!ok) return void ws.close(4003, 'identity proof failed');
        clearTimeout(helloTimer);
        nodeId = msg.nodeId;
        this.connections.get(nodeId)?.terminate();
        this.connections.set(nodeId, ws);
        this.store.seen(nodeId, msg.signingPublicKey, Date.now());
        ws.send(JSON.stringify({ t: 'welcome', nodeId, clusterId: this.options.clusterId } satisfies ServerMessage));
        this.log(`node ${nodeId} connected`);
        return;
      }
      this.handle(nodeId, msg);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (nodeId && this.connections.get(nodeId) === ws) {
        this.connections.delete(nodeId);
        this.log(`node ${nodeId} disconnected`);
        for (const s of [...this.live.values()]) {
          if (s.info.parties.some((p) => p.nodeId === nodeId)) {
            this.end(s.info.sessionId, { errorClass: 'transient', code: 'PEER_DISCONNECTED', reason: `Node ${nodeId} disconnected during the session.`, blamedNode: nodeId });
          }
        }
      }
    });
    ws.on('error', () => ws.terminate());
  }

  private handle(from: string, msg: ReturnType<typeof clientMessage.parse>): void {
    switch (msg.t) {
      case 'hello':
        return;
      case 'create':
        return this.create(from, msg);
      case 'accept': {
        const s = this.live.get(msg.sessionId);
        if (!s || !s.info.parties.some((p) => p.nodeId === from)) return;
        s.accepted.add(from);
        if (s.accepted.size === s.info.parties.length) {
          this.store.setState(s.info.sessionId, 'running');
          for (const p of s.info.parties) this.send(p.nodeId, { t: 'start', sessionId: s.info.sessionId });
        }
        return;
      }
      case 'decline':
        return this.end(msg.sessionId, { errorClass: 'transient', code: 'PARTICIPANT_DECLINED', reason: `Node ${from} declined the session: ${msg.reason}`, blamedNode: from }, from);
      case 'relay': {
        const s = this.live.get(msg.sessionId);
        if (!s || !s.info.parties.some((p) => p.nodeId === from) || !s.info.parties.some((p) => p.nodeId === msg.to)) return;
        const envelope = this.options.relayFilter ? this.options.relayFilter({ sessionId: msg.sessionId, from, to: msg.to, envelope: msg.envelope }) : msg.envelope;
        if (envelope === null) return;
        if (!this.send(msg.to, { t: 'envelope', sessionId: msg.sessionId, from, envelope })) {
          this.end(msg.sessionId, { errorClass: 'transient', code: 'PEER_DISCONNECTED', reason: `Node ${msg.to} is not connected.`, blamedNode: msg.to });
        }
        return;
      }
      case 'done': {
        const s = this.live.get(msg.sessionId);
        if (!s || !s.info.parties.some((p) => p.nodeId === from)) return;
        s.results.set(from, msg.result);
        if (s.results.size === s.info.parties.length) {
          const all = [...s.results.values()];
          const first = all[0]!;
          if (all.some((r) => r.publicKey !== first.publicKey)) {
            return this.end(msg.sessionId, { errorClass: 'protocol-violation', code: 'RESULT_MISMATCH', reason: 'The participants reported different public keys.' });
          }
          if (all.some((r) => r.presignatureId !== first.presignatureId)) {
            return this.end(msg.sessionId, { errorClass: 'protocol-violation', code: 'RESULT_MISMATCH', reason: 'The participants reported different presignature ids.' });
          }
          this.end(msg.sessionId, null, undefined, first);
        }
        return;
      }
      case 'failed':
        return this.end(msg.sessionId, msg.failure, from);
    }
  }

  private create(requester: string, msg: Extract<ReturnType<typeof clientMessage.parse>, { t: 'create' }>): void {
    const existing = this.store.byIdempotencyKey(`${requester}/${msg.idempotencyKey}`);
    if (existing) {
      const info = JSON.parse(existing.info) as SessionInfo;
      this.send(requester, { t: 'created', reqId: msg.reqId, session: info, state: existing.state });
      if (existing.state === 'completed' || existing.state === 'failed') {
        this.send(requester, {
          t: 'session-end',
          session: info,
          state: existing.state,
          ...(existing.result ? { result: JSON.parse(existing.result) as PublicResult } : {}),
          ...(existing.state === 'failed'
            ? { failure: { errorClass: existing.error_class as Failure['errorClass'], code: existing.error_code ?? 'FAILED', reason: existing.error_reason ?? '', ...(existing.blamed_node ? { blamedNode: existing.blamed_node } : {}) } }
            : {}),
        });
      }
      return;
    }
    const now = Date.now();
    const keygen = msg.protocol.endsWith('-keygen');
    const usable = (p: Participant) => this.connections.has(p.nodeId) && !msg.exclude.includes(p.nodeId);
    let chosen: Participant[];
    if (keygen) {
      chosen = msg.members.every(usable) ? [...msg.members] : [];
    } else {
      const rank = (p: Participant) => {
        const i = msg.prefer.indexOf(p.nodeId);
        return i >= 0 ? i : p.nodeId === requester ? 100 : 200 + p.partyIndex;
      };
      chosen = msg.members.filter(usable).sort((a, b) => rank(a) - rank(b)).slice(0, msg.threshold);
      if (chosen.length < msg.threshold) chosen = [];
    }
    const info: SessionInfo = {
      sessionId: randomBytes(32).toString('hex'),
      protocol: msg.protocol,
      clusterId: this.options.clusterId,
      keysetId: msg.keysetId,
      parties: chosen.sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: msg.threshold,
      ...(msg.message !== undefined ? { message: msg.message } : {}),
      ...(msg.presignatureId !== undefined ? { presignatureId: msg.presignatureId } : {}),
      requester,
      deadlineAt: now + msg.timeoutMs,
    };
    const key = `${requester}/${msg.idempotencyKey}`;
    if (chosen.length === 0) {
      const online = msg.members.filter(usable).length;
      const needed = keygen ? msg.members.length : msg.threshold;
      const reason = `Quorum unavailable: ${online} of the ${msg.members.length} members can take part, ${needed} are needed.`;
      this.store.insertFailed(key, { ...info, parties: msg.members }, now, 'QUORUM_UNAVAILABLE', reason);
      this.send(requester, { t: 'error', reqId: msg.reqId, code: 'QUORUM_UNAVAILABLE', message: reason });
      return;
    }
    this.store.insert(key, info, now);
    const timer = setTimeout(() => this.end(info.sessionId, { errorClass: 'transient', code: 'TIMEOUT', reason: 'The session passed its deadline.' }), msg.timeoutMs);
    timer.unref();
    this.live.set(info.sessionId, { info, accepted: new Set(), results: new Map(), timer });
    this.send(requester, { t: 'created', reqId: msg.reqId, session: info, state: 'inviting' });
    for (const p of info.parties) this.send(p.nodeId, { t: 'invite', session: info });
    this.log(`session ${info.sessionId.slice(0, 12)} ${info.protocol} with ${info.parties.map((p) => p.partyIndex).join(',')}`);
  }

  /** Ends a live session once: records it and tells every participant and the requester. */
  private end(sessionId: string, failure: Failure | null, reporter?: string, result?: PublicResult): void {
    const s = this.live.get(sessionId);
    if (!s) return;
    const info = s.info;
    // A participant may only report on a session it is part of.
    if (reporter && !info.parties.some((p) => p.nodeId === reporter)) return;
    clearTimeout(s.timer);
    this.live.delete(sessionId);
    const now = Date.now();
    if (failure) this.store.fail(sessionId, failure, now);
    else this.store.complete(sessionId, result ?? {}, now);
    const message: ServerMessage = failure ? { t: 'session-end', session: info, state: 'failed', failure } : { t: 'session-end', session: info, state: 'completed', result: result ?? {} };
    const told = new Set([...info.parties.map((p) => p.nodeId), info.requester]);
    for (const node of told) this.send(node, message);
  }
}
