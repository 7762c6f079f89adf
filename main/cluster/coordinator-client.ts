/**
 * This node's connection to the coordinator: proves its identity on a fresh challenge, sends
 * signed session requests, presence queries and relays, and hands invites, envelopes and session ends to the cluster service.
 */
import WebSocket from 'ws';
import { HELLO_LABEL, MAX_FRAME_BYTES, type ClientMessage, type ServerMessage } from '../coordinator/protocol';
import { transcript } from './keys';
import type { LocalIdentity } from './identity';
import { presentAmong } from './presence';
import { CertificatePinError, pinnedTlsConnect } from './coordinator-tls';

export interface ClientEvents {
  onMessage(message: ServerMessage): void;
  onClose(): void;
}

export class CoordinatorClient {
  private ws: WebSocket | null = null;
  private reqId = 0;
  /** Set by close(): a link this node closed is not reported as lost. */
  private closing = false;
  private readonly pending = new Map<number, { resolve: (m: ServerMessage) => void; reject: (e: Error) => void }>();

  constructor(
    readonly url: string,
    private readonly me: LocalIdentity,
    private readonly events: ClientEvents,
    /** SHA-256 of the coordinator's TLS certificate, for wss:// addresses: only that certificate is accepted. */
    private readonly certSha256: string | null = null,
  ) {}

  /** Connects and authenticates; rejects after `timeoutMs`. */
  connect(clusterIdHint: string | null = null, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.certSha256 && !this.url.startsWith('wss:')) return reject(new Error('A certificate pin needs a wss:// coordinator address.'));
      const ws = new WebSocket(this.url, { maxPayload: MAX_FRAME_BYTES, ...(this.certSha256 ? { createConnection: pinnedTlsConnect(this.certSha256) as never } : {}) });
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`The coordinator at ${this.url} did not answer within ${timeoutMs / 1000} s.`));
      }, timeoutMs);
      let welcomed = false;
      ws.on('message', (data) => {
        let msg: ServerMessage;
        try {
          msg = JSON.parse(data.toString()) as ServerMessage;
        } catch {
          return;
        }
        if (!welcomed) {
          if (msg.t === 'challenge') {
            if (clusterIdHint !== null && msg.clusterId !== clusterIdHint) {
              ws.terminate();
              return reject(new Error(`The coordinator at ${this.url} serves cluster "${msg.clusterId}", not "${clusterIdHint}".`));
            }
            this.hello(msg.nonce, msg.clusterId);
          } else if (msg.t === 'welcome') {
            welcomed = true;
            clearTimeout(timer);
            resolve(msg.clusterId);
          }
          return;
        }
        if ((msg.t === 'created' || msg.t === 'error' || msg.t === 'presence') && msg.reqId !== undefined) {
          const p = this.pending.get(msg.reqId);
          if (p) {
            this.pending.delete(msg.reqId);
            p.resolve(msg);
            return;
          }
        }
        this.events.onMessage(msg);
      });
      ws.on('close', (code, reason) => {
        clearTimeout(timer);
        if (!welcomed) reject(new Error(`The coordinator at ${this.url} refused this node (${code} ${reason.toString() || 'closed'}).`));
        for (const p of this.pending.values()) p.reject(new Error('The connection to the coordinator closed.'));
        this.pending.clear();
        if (welcomed && !this.closing) this.events.onClose();
      });
      ws.on('error', (error) => {
        clearTimeout(timer);
        if (welcomed) return;
        if (error instanceof CertificatePinError) reject(error);
        else reject(new Error(`Cannot reach the coordinator at ${this.url} (${(error as NodeJS.ErrnoException).code ?? error.name}).`));
      });
    });
  }

  private hello(nonce: string, clusterId: string): void {
    this.send({ t: 'hello', nodeId: this.me.nodeId, signingPublicKey: this.me.card.signingPublicKey, signature: this.me.sign(transcript(HELLO_LABEL, nonce, this.me.nodeId, clusterId)).toString('hex') });
  }

  send(message: ClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  request(message: Omit<Extract<ClientMessage, { t: 'create' }>, 'reqId'> | Omit<Extract<ClientMessage, { t: 'presence' }>, 'reqId'>, timeoutMs = 10_000): Promise<ServerMessage> {
    const reqId = ++this.reqId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new Error('The coordinator did not answer the request in time.'));
      }, timeoutMs);
      this.pending.set(reqId, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send({ ...message, reqId } as ClientMessage);
    });
  }

  /**
   * Which of `nodes` the coordinator has connected now. Its answer is a claim: it may hide a
   * member (that quorum is not tried), name a member that is away (that session times out and
   * another quorum is tried) or name nodes nobody asked about (ignored). It cannot hide this node:
   * this node is connected, it is asking over that connection.
   */
  async presence(nodes: string[]): Promise<string[]> {
    const answer = await this.request({ t: 'presence', nodes });
    return presentAmong(answer, nodes, this.me.nodeId);
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Closes with the WebSocket closing handshake, so what was just sent (a session's cancel line)
   * reaches the coordinator before the socket goes; a destroyed socket may drop its unsent bytes.
   * Settles once closed, or after `graceMs` with the socket destroyed.
   */
  close(graceMs = 1_000): Promise<void> {
    const ws = this.ws;
    this.ws = null;
    this.closing = true;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    if (ws.readyState !== WebSocket.OPEN) {
      ws.terminate();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, graceMs);
      timer.unref();
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, 'node leaving');
    });
  }
}
