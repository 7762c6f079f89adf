/**
 * Drives one MPC session of this node from sealed envelopes, whatever carries them (coordinator
 * WebSocket or air-gap file bundles). Outgoing messages are sealed per recipient; incoming ones
 * are opened and checked (session, recipient, signature, sequence) before the engine sees them.
 * Failures come out as ClusterError with the class of the taxonomy and the peer to blame.
 */
import { keccak256 } from 'ethers';
import { MpcError, type MpcSessionHandle, type MpcSigner, type SessionResult } from '../mpc/index';
import type { SessionInfo } from '../coordinator/protocol';
import { EnvelopeError, EnvelopeOpener, sealEnvelope, type Peer, type WireEnvelope } from './envelope';
import { ClusterError } from './errors';
import { sessionParticipants } from './participants';
import type { LocalIdentity } from './identity';

export interface RunnerTransport {
  send(to: string, envelope: WireEnvelope, round: number): void;
  /** Called after each batch of outgoing messages (file bundles group by round). */
  flush?(round: number): void;
}

export interface RunnerOptions {
  me: LocalIdentity;
  info: SessionInfo;
  /** The other participants, by node id (from this node's enrolled peers, never from the relay). */
  peers: ReadonlyMap<string, Peer>;
  signer: MpcSigner;
  transport: RunnerTransport;
  share?: Buffer;
  primes?: Buffer;
  /** ecdsa-dkg: this node's sealed auxiliary data of the group, attached to the new share. */
  aux?: Buffer;
}

/**
 * What the engine takes for a session's message. A session carries what is signed, never a bare
 * digest: for ECDSA each node hashes the preimage itself (keccak256), so no node signs a digest
 * it could not read.
 */
export function engineMessage(protocol: SessionInfo['protocol'], message: Buffer): Buffer {
  return protocol === 'ecdsa-sign' ? Buffer.from(keccak256(message).slice(2), 'hex') : message;
}

/** eddsa-repair: the index rebuilt; the receiver also names the group key and public share it must get. */
function repairOptions(r: NonNullable<SessionInfo['repair']>, myParty: number): { repairFor: number; expectedPublicKey?: Buffer; expectedPublicShare?: Buffer } {
  if (myParty !== r.partyIndex) return { repairFor: r.partyIndex };
  return { repairFor: r.partyIndex, expectedPublicKey: Buffer.from(r.publicKey, 'hex'), expectedPublicShare: Buffer.from(r.publicShare, 'hex') };
}

const VIOLATIONS = new Set(['MALFORMED_MESSAGE', 'TAMPERED_MESSAGE', 'WRONG_SESSION', 'WRONG_ROUND', 'WRONG_SENDER', 'WRONG_RECIPIENT', 'REPLAYED_MESSAGE', 'PROTOCOL_ABORT']);

export class SessionRunner {
  readonly myParty: number;
  /**
   * Envelopes dropped without blame (bad signatures, replays, other sessions): they prove nothing
   * about their claimed sender, so the relay or a forger made them, not a peer.
   */
  readonly rejected: EnvelopeError[] = [];
  private readonly nodeByParty: ReadonlyMap<number, string>;
  private readonly partyByNode: ReadonlyMap<string, number>;
  private readonly opener: EnvelopeOpener;
  private handle: MpcSessionHandle | null = null;
  private inbox: Promise<void>;
  private begin!: () => void;
  private wake: (() => void) | null = null;
  private fed = false;
  private ended = false;
  private round = 0;
  private readonly seq = new Map<string, number>();
  private settle!: { resolve: (r: SessionResult) => void; reject: (e: ClusterError) => void };
  /** The engine's last progress report. */
  progress: { step: number; total: number; label: string } | null = null;
  readonly result: Promise<SessionResult>;

  constructor(private readonly o: RunnerOptions) {
    ({ myParty: this.myParty, partyByNode: this.partyByNode, nodeByParty: this.nodeByParty } = sessionParticipants(o.info, o.me.nodeId, o.peers));
    this.opener = new EnvelopeOpener(o.me, o.info.sessionId, o.info.protocol, o.peers);
    this.inbox = new Promise<void>((resolve) => (this.begin = resolve));
    this.result = new Promise<SessionResult>((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined);
  }

  /** Starts the engine; messages delivered earlier wait until now. */
  start(): Promise<SessionResult> {
    const { info } = this.o;
    const needsPrimes = info.protocol.endsWith('-keygen') || info.protocol === 'ecdsa-aux';
    const protocol = info.protocol;
    try {
      // The presigned online step has no engine session; PresignedSignRunner drives it.
      if (protocol === 'ecdsa-sign-presigned') throw new ClusterError({ errorClass: 'permanent', code: 'MPC_SESSION_REJECTED', reason: 'A presigned signing cannot run as an engine session.' });
      this.handle = this.o.signer.start({
        protocol,
        sessionId: Buffer.from(info.sessionId, 'hex'),
        partyIndex: this.myParty,
        parties: info.parties.map((p) => p.partyIndex),
        threshold: info.threshold,
        ...(this.o.share ? { share: this.o.share } : {}),
        ...(info.message !== undefined ? { message: engineMessage(protocol, Buffer.from(info.message, 'hex')) } : {}),
        ...(needsPrimes && this.o.primes ? { primes: this.o.primes } : {}),
        ...((protocol === 'ecdsa-dkg' || protocol === 'ecdsa-refresh-shares') && this.o.aux ? { aux: this.o.aux } : {}),
        ...(protocol === 'eddsa-repair' && info.repair ? repairOptions(info.repair, this.myParty) : {}),
      });
    } catch (error) {
      this.fail(this.classify(error));
      return this.result;
    }
    this.begin();
    void this.pump();
    return this.result;
  }

  deliver(raw: unknown): void {
    // Envelopes are verified and decrypted as they arrive, concurrently; the engine is still fed
    // strictly in arrival order, and only once it has started.
    const opened = this.opener.open(raw).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    this.inbox = this.inbox.then(async () => this.receive(await opened));
  }

  /** Ends the session from outside (coordinator said it failed, deadline, shutdown). */
  abort(failure: ClusterError): void {
    this.fail(failure);
  }

  get finished(): boolean {
    return this.ended;
  }

  private async receive(outcome: { ok: true; value: Awaited<ReturnType<EnvelopeOpener['open']>> } | { ok: false; error: unknown }): Promise<void> {
    if (outcome.ok && (this.ended || !this.handle)) outcome.value.plaintext.fill(0);
    if (this.ended || !this.handle) return;
    try {
      if (!outcome.ok) throw outcome.error;
      const opened = outcome.value;
      this.handle.feed(this.partyByNode.get(opened.from)!, opened.plaintext);
      opened.plaintext.fill(0);
      this.fed = true;
      this.wake?.();
    } catch (error) {
      if (error instanceof EnvelopeError && !error.attributable) {
        this.rejected.push(error);
        return;
      }
      this.fail(this.classify(error));
    }
  }

  private async pump(): Promise<void> {
    const handle = this.handle!;
    try {
      while (!this.ended) {
        this.fed = false;
        const snap = await handle.next();
        if (this.ended) return;
        if (snap.phase === 'failed') throw snap.error ? MpcError.fromInfo(snap.error) : new MpcError('INTERNAL', 'session failed');
        this.progress = { step: snap.progress.step, total: snap.progress.total, label: snap.progress.label };
        if (snap.outgoing.length > 0) {
          this.round += 1;
          const round = this.round;
          // Sequence numbers are fixed first, then the round's envelopes are sealed concurrently
          // (WebCrypto work runs off the JS thread) and sent in order.
          const jobs: Array<{ to: string; sealed: Promise<WireEnvelope> }> = [];
          for (const out of snap.outgoing) {
            const targets = out.to === undefined || out.to === null ? this.o.info.parties.filter((p) => p.partyIndex !== this.myParty).map((p) => p.nodeId) : [this.nodeByParty.get(out.to)!];
            for (const to of targets) {
              const seq = this.seq.get(to) ?? 0;
              this.seq.set(to, seq + 1);
              jobs.push({ to, sealed: sealEnvelope(this.o.me, this.o.peers.get(to)!, { sid: this.o.info.sessionId, protocol: this.o.info.protocol, round, seq }, out.bytes) });
            }
          }
          const sealed = await Promise.all(jobs.map((j) => j.sealed));
          for (const out of snap.outgoing) out.bytes.fill(0);
          if (this.ended) return;
          for (const [i, j] of jobs.entries()) this.o.transport.send(j.to, sealed[i]!, round);
          this.o.transport.flush?.(round);
        }
        if (snap.phase === 'done') {
          this.ended = true;
          if (!snap.result) throw new MpcError('INTERNAL', 'session finished without a result');
          this.settle.resolve(snap.result);
          return;
        }
        if (snap.phase === 'awaiting-messages' && !this.fed) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
        }
      }
    } catch (error) {
      this.fail(this.classify(error));
    }
  }

  private classify(error: unknown): ClusterError {
    if (error instanceof ClusterError) return error;
    if (error instanceof EnvelopeError) {
      return new ClusterError({ errorClass: 'protocol-violation', code: error.code, reason: `A message from node ${error.sender} failed verification (${error.code}).`, blamedNode: error.sender });
    }
    if (error instanceof MpcError) {
      const blamed = error.party !== undefined ? this.nodeByParty.get(error.party) : undefined;
      if (VIOLATIONS.has(error.code)) {
        return new ClusterError({ errorClass: 'protocol-violation', code: error.code, reason: `The MPC engine rejected a message${blamed ? ` from node ${blamed}` : ''} (${error.code}).`, ...(blamed ? { blamedNode: blamed } : {}) });
      }
      if (error.code === 'CANCELLED') return new ClusterError({ errorClass: 'transient', code: 'CANCELLED', reason: 'The session was cancelled.' });
      return new ClusterError({ errorClass: 'permanent', code: error.code, reason: `The MPC engine refused the session (${error.code}).` });
    }
    return new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' });
  }

  private fail(error: ClusterError): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.handle?.cancel();
    } catch {
      // already ended inside the engine
    }
    this.wake?.();
    this.settle.reject(error);
  }
}
