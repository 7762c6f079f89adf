/**
 * The online step of presigned ECDSA as a cluster session: one round. Each quorum party consumes
 * its presignature (durably, through `consume`), issues its partial signature over the preimage,
 * seals it for every other quorum party, and combines the partials it receives into a verified
 * signature. Envelopes are the same sealed, signed envelopes as every other session.
 */
import { MpcError, type MpcSigner, type SessionResult } from '../mpc/index';
import type { SessionInfo } from '../coordinator/protocol';
import { EnvelopeError, EnvelopeOpener, sealEnvelope, type Peer } from './envelope';
import { ClusterError } from './errors';
import { sessionParticipants } from './participants';
import type { LocalIdentity } from './identity';
import type { RunnerTransport } from './session-runner';

/** What a participation needs from its runner, whichever kind it is. */
export interface ParticipationRunner {
  start(): Promise<SessionResult>;
  deliver(raw: unknown): void;
  abort(failure: ClusterError): void;
  readonly finished: boolean;
  /** Envelopes dropped without blame: they prove nothing about their claimed sender. */
  readonly rejected: readonly EnvelopeError[];
  /** The engine's last progress report (long steps: prime search, aux proofs, key generation). */
  readonly progress?: { step: number; total: number; label: string } | null;
}

export interface ConsumedPresignature {
  presignature: Buffer;
  publicData: Buffer;
}

export interface PresignedRunnerOptions {
  me: LocalIdentity;
  info: SessionInfo;
  peers: ReadonlyMap<string, Peer>;
  signer: MpcSigner;
  transport: RunnerTransport;
  share: Buffer;
  /**
   * Marks the presignature used in durable storage and returns it; throws a ClusterError when it
   * is not ready. Called before the partial is issued, so a crash afterwards loses it, never
   * reuses it.
   */
  consume: () => ConsumedPresignature;
  /** Seals this node's partial for one peer; the default is the cluster's envelope (tests hold it to order arrivals). */
  seal?: typeof sealEnvelope;
}

export class PresignedSignRunner implements ParticipationRunner {
  readonly rejected: EnvelopeError[] = [];
  private readonly opener: EnvelopeOpener;
  private readonly partyByNode: ReadonlyMap<string, number>;
  private readonly nodeByParty: ReadonlyMap<number, string>;
  private readonly myParty: number;
  private readonly partials = new Map<number, Buffer>();
  private publicData: Buffer | null = null;
  private started = false;
  private ended = false;
  private settle!: { resolve: (r: SessionResult) => void; reject: (e: ClusterError) => void };
  readonly result: Promise<SessionResult>;

  constructor(private readonly o: PresignedRunnerOptions) {
    ({ myParty: this.myParty, partyByNode: this.partyByNode, nodeByParty: this.nodeByParty } = sessionParticipants(o.info, o.me.nodeId, o.peers));
    if (!o.info.message || !o.info.presignatureId) {
      throw new ClusterError({ errorClass: 'permanent', code: 'MPC_SESSION_REJECTED', reason: 'A presigned signing session needs the preimage and the presignature id.' });
    }
    this.opener = new EnvelopeOpener(o.me, o.info.sessionId, o.info.protocol, o.peers);
    this.result = new Promise<SessionResult>((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined);
  }

  get finished(): boolean {
    return this.ended;
  }

  start(): Promise<SessionResult> {
    if (this.started) return this.result;
    this.started = true;
    void this.issue();
    return this.result;
  }

  private async issue(): Promise<void> {
    const { info } = this.o;
    const preimage = Buffer.from(info.message!, 'hex');
    let consumed: ConsumedPresignature;
    try {
      consumed = this.o.consume();
    } catch (error) {
      return this.fail(error instanceof ClusterError ? error : new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The presignature could not be taken from the pool.' }));
    }
    let partial: Buffer;
    try {
      partial = this.o.signer.issuePartialSignature(consumed.presignature, this.o.share, preimage);
    } catch (error) {
      return this.fail(this.classify(error));
    } finally {
      consumed.presignature.fill(0);
    }
    const others = info.parties.filter((p) => p.nodeId !== this.o.me.nodeId);
    try {
      const seal = this.o.seal ?? sealEnvelope;
      const sealed = await Promise.all(others.map((p) => seal(this.o.me, this.o.peers.get(p.nodeId)!, { sid: info.sessionId, protocol: info.protocol, round: 1, seq: 0 }, partial)));
      if (this.ended) return;
      for (const [i, p] of others.entries()) this.o.transport.send(p.nodeId, sealed[i]!, 1);
      this.o.transport.flush?.(1);
    } catch {
      return this.fail(new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The partial signature could not be sealed for the other parties.' }));
    }
    // Combinable only once this node's partial is on its way: a peer's partial that arrived while
    // it was being sealed must not end the run here before the peer gets ours (the peer would
    // wait until the deadline, and the permit would be spent for nothing).
    this.publicData = consumed.publicData;
    this.partials.set(this.myParty, partial);
    this.tryCombine();
  }

  deliver(raw: unknown): void {
    if (this.ended) return;
    void this.opener.open(raw).then(
      (opened) => {
        if (this.ended) return;
        const party = this.partyByNode.get(opened.from)!;
        if (this.partials.has(party)) return;
        this.partials.set(party, opened.plaintext);
        this.tryCombine();
      },
      (error: unknown) => {
        if (error instanceof EnvelopeError && !error.attributable) {
          this.rejected.push(error);
          return;
        }
        this.fail(this.classify(error));
      },
    );
  }

  private tryCombine(): void {
    if (this.ended || !this.publicData || this.partials.size < this.o.info.parties.length) return;
    const ordered = this.o.info.parties.map((p) => this.partials.get(p.partyIndex)!);
    try {
      const combined = this.o.signer.combinePartialSignatures(ordered, Buffer.from(this.o.info.message!, 'hex'), this.publicData);
      this.ended = true;
      this.settle.resolve({ signature: combined.signature, recoveryId: combined.recoveryId, publicKey: combined.publicKey, address: combined.address });
    } catch (error) {
      this.fail(this.classify(error));
    }
  }

  abort(failure: ClusterError): void {
    this.fail(failure);
  }

  private classify(error: unknown): ClusterError {
    if (error instanceof ClusterError) return error;
    if (error instanceof EnvelopeError) {
      return new ClusterError({ errorClass: 'protocol-violation', code: error.code, reason: `A message from node ${error.sender} failed verification (${error.code}).`, blamedNode: error.sender });
    }
    if (error instanceof MpcError) {
      const blamed = error.party !== undefined ? this.nodeByParty.get(error.party) : undefined;
      if ((error.code === 'BAD_PARTIAL' || error.code === 'PRESIGNATURE_MISMATCH' || error.code === 'MALFORMED_PRESIGNATURE') && blamed && blamed !== this.o.me.nodeId) {
        return new ClusterError({ errorClass: 'protocol-violation', code: error.code, reason: `The partial signature from node ${blamed} failed its check (${error.code}).`, blamedNode: blamed });
      }
      if (error.code === 'PRESIGNATURE_USED') {
        return new ClusterError({ errorClass: 'permanent', code: error.code, reason: 'This node already used that presignature; it will not sign with it again.' });
      }
      if (error.code === 'PRESIGNATURE_MISMATCH') {
        return new ClusterError({ errorClass: 'permanent', code: error.code, reason: "This node's presignature does not match its current key share (the keyset was refreshed); it was discarded." });
      }
      return new ClusterError({ errorClass: 'permanent', code: error.code, reason: `The MPC engine refused the presigned signature (${error.code}).` });
    }
    return new ClusterError({ errorClass: 'permanent', code: 'INTERNAL', reason: 'The session hit an internal error.' });
  }

  private fail(error: ClusterError): void {
    if (this.ended) return;
    this.ended = true;
    this.settle.reject(error);
  }
}
