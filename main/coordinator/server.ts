/**
 * The coordinator: opens the key-generation and signing sessions nodes request (signed by the
 * requester, who chose the participants), relays sealed envelopes between them and keeps the books. It authenticates nodes (a signed
 * answer to a fresh challenge) but is not trusted by them: it never holds a share or sees a
 * plaintext protocol message, and nodes verify every envelope end to end.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ed25519PublicKey, transcript, verifyBytes } from '../cluster/keys';
import { requestBytes, sessionInfoOf } from '../cluster/session-request';
import { nodeIdFromPublicKey } from '../identity/node-identity';
import { clientMessage, HELLO_LABEL, MAX_FRAME_BYTES, type PublicResult, type SessionAttestation, type ServerMessage, type SessionInfo } from './protocol';
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
  /** Serve wss:// with this certificate and key (PEM); nodes pin the certificate's SHA-256 fingerprint. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export type SessionEndFailure = NonNullable<Extract<ServerMessage, { t: 'session-end' }>['failure']>;

interface LiveSession {
  info: SessionInfo;
  accepted: Set<string>;
  results: Map<string, PublicResult>;
  /** Each party's signed confirmation that it finished, relayed to all in the session end. */
  attestations: Map<string, SessionAttestation>;
  timer: NodeJS.Timeout;
}

export class Coordinator {
  readonly store: CoordinatorStore;
  private server!: WebSocketServer;
  private https: HttpsServer | null = null;
  private readonly connections = new Map<string, WebSocket>();
  private readonly live = new Map<string, LiveSession>();
  /** Identity keys the connected nodes proved at hello. */
  private readonly keys = new Map<string, KeyObject>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: CoordinatorOptions) {
    this.store = new CoordinatorStore(options.storeFile);
    this.log = options.log ?? (() => undefined);
  }

  async listen(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    const port = this.options.port ?? 0;
    if (this.options.tls) {
      const https = createHttpsServer({ cert: this.options.tls.cert, key: this.options.tls.key, minVersion: 'TLSv1.2' });
      this.https = https;
      this.server = new WebSocketServer({ server: https, maxPayload: MAX_FRAME_BYTES });
      await new Promise<void>((resolve, reject) => {
        https.once('error', reject);
        https.listen(port, host, () => resolve());
      });
    } else {
      this.server = new WebSocketServer({ host, port, maxPayload: MAX_FRAME_BYTES });
      await new Promise<void>((resolve, reject) => {
        this.server.once('listening', resolve);
        this.server.once('error', reject);
      });
    }
    this.server.on('connection', (ws) => this.accept(ws));
    return this.url;
  }

  get url(): string {
    const address = (this.https ?? this.server).address() as AddressInfo;
    return `${this.https ? 'wss' : 'ws'}://${address.address}:${address.port}`;
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
    await new Promise<void>((resolve) => (this.https ? this.https.close(() => resolve()) : resolve()));
    this.store.close();
  }

  /** Protected so a test can play a hostile coordinator that sends what it likes. */
  protected send(nodeId: string, message: ServerMessage): boolean {
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
        this.keys.set(nodeId, ed25519PublicKey(key));
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
      case 'presence':
        return void this.send(from, { t: 'presence', reqId: msg.reqId, connected: msg.nodes.filter((n) => this.connections.has(n)) });
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
        // A decline with a code is a refusal on purpose (e.g. no valid permit): retrying cannot help.
        return this.end(
          msg.sessionId,
          msg.code
            ? { errorClass: 'permanent', code: msg.code, reason: `Node ${from} refused: ${msg.reason}`.slice(0, 500), blamedNode: from }
            : { errorClass: 'transient', code: 'PARTICIPANT_DECLINED', reason: `Node ${from} declined the session: ${msg.reason}`.slice(0, 500), blamedNode: from },
          from,
        );
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
        // Only a party's own confirmation is relayed (the nodes check its signature themselves).
        if (msg.attestation?.nodeId === from) s.attestations.set(from, msg.attestation);
        if (s.results.size === s.info.parties.length) {
          const all = [...s.results.values()];
          const first = all[0]!;
          if (all.some((r) => r.publicKey !== first.publicKey)) {
            return this.end(msg.sessionId, { errorClass: 'protocol-violation', code: 'RESULT_MISMATCH', reason: 'The participants reported different public keys.' });
          }
          if (all.some((r) => r.auxId !== first.auxId)) {
            return this.end(msg.sessionId, { errorClass: 'protocol-violation', code: 'RESULT_MISMATCH', reason: 'The participants reported different auxiliary data.' });
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

  /**
   * Opens the session a node requested and signed. The coordinator chooses nothing: it checks
   * that the request is the connected requester's own, for this cluster, with every party
   * connected, and relays it unchanged in the invites.
   */
  private create(from: string, msg: Extract<ReturnType<typeof clientMessage.parse>, { t: 'create' }>): void {
    const key = `${from}/${msg.idempotencyKey}`;
    const existing = this.store.byIdempotencyKey(key);
    if (existing) {
      const info = JSON.parse(existing.info) as SessionInfo;
      this.send(from, { t: 'created', reqId: msg.reqId, session: info, state: existing.state });
      if (existing.state === 'completed' || existing.state === 'failed') {
        this.send(from, {
          t: 'session-end',
          session: info,
          state: existing.state,
          ...(existing.result ? { result: JSON.parse(existing.result) as PublicResult } : {}),
          ...(existing.state === 'failed'
            ? { failure: { errorClass: existing.error_class as SessionEndFailure['errorClass'], code: existing.error_code ?? 'FAILED', reason: existing.error_reason ?? '', ...(existing.blamed_node ? { blamedNode: existing.blamed_node } : {}) } }
            : {}),
        });
      }
      return;
    }
    const request = msg.request;
    const body = request.body;
    const refuse = (code: string, message: string) => void this.send(from, { t: 'error', reqId: msg.reqId, code, message });
    const signer = this.keys.get(from);
    if (body.requester !== from || !signer || !verifyBytes(signer, requestBytes(body), Buffer.from(request.signature, 'hex'))) {
      return refuse('REQUEST_NOT_SIGNED', 'A session request must be signed by the node that sends it.');
    }
    if (body.clusterId !== this.options.clusterId) return refuse('WRONG_CLUSTER', `This coordinator serves cluster "${this.options.clusterId}", not "${body.clusterId}".`);
    const now = Date.now();
    if (body.deadlineAt <= now + 500) return refuse('DEADLINE_PASSED', 'The session request is already past its deadline.');
    if (this.store.get(body.sessionId)) return refuse('SESSION_EXISTS', 'A session with that id already exists.');
    const info = sessionInfoOf(body);
    const missing = body.parties.filter((p) => !this.connections.has(p.nodeId));
    if (missing.length > 0) {
      const reason = `Quorum unavailable: ${body.parties.length - missing.length} of the ${body.parties.length} chosen parties are connected (not connected: ${missing.map((p) => p.nodeId).join(', ')}).`;
      this.store.insertFailed(key, info, now, 'QUORUM_UNAVAILABLE', reason);
      return refuse('QUORUM_UNAVAILABLE', reason);
    }
    this.store.insert(key, info, now);
    const timer = setTimeout(() => this.end(info.sessionId, { errorClass: 'transient', code: 'TIMEOUT', reason: 'The session passed its deadline.' }), body.deadlineAt - now);
    timer.unref();
    this.live.set(info.sessionId, { info, accepted: new Set(), results: new Map(), attestations: new Map(), timer });
    this.send(from, { t: 'created', reqId: msg.reqId, session: info, state: 'inviting' });
    for (const p of info.parties) this.send(p.nodeId, { t: 'invite', session: info, request });
    this.log(`session ${info.sessionId.slice(0, 12)} ${info.protocol} with ${info.parties.map((p) => p.partyIndex).join(',')}`);
  }

  /** Ends a live session once: records it and tells every participant and the requester. */
  protected end(sessionId: string, failure: SessionEndFailure | null, reporter?: string, result?: PublicResult): void {
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
    const attestations = [...s.attestations.values()];
    const message: ServerMessage = failure ? { t: 'session-end', session: info, state: 'failed', failure } : { t: 'session-end', session: info, state: 'completed', result: result ?? {}, ...(attestations.length ? { attestations } : {}) };
    const told = new Set([...info.parties.map((p) => p.nodeId), info.requester]);
    for (const node of told) this.send(node, message);
  }
}
