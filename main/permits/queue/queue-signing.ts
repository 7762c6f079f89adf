/**
 * Signing approved permits through the cluster, one at a time, each re-verified right before it
 * is sent. The row moves approved → signing before the request leaves, and signing → signed with
 * the signature and the raw signed transaction as soon as the result is back, so a crash at any
 * point leaves a row that recovery settles: the signature this node's own engine recorded for
 * the session is taken from the store (and checked again), or the permit is marked failed with
 * a reason. A permit in 'signing' is never sent to the cluster a second time.
 */
import type { SigningProgressView } from '../../../preload/contract';
import type { AuditLog } from '../../audit/audit-log';
import { decodePayload } from '../../chains/payload';
import { assembleSignedTransaction } from '../../chains/signed-transaction';
import type { SignOptions, SignOutcome } from '../../cluster/cluster-service';
import { signatureMatchesKeyset } from '../../cluster/signature-check';
import { signingRound, type RunningSession } from '../../cluster/signing-rounds';
import { isAppFailure } from '../../errors';
import type { Db } from '../../store/database';
import type { PermitChecker } from './permit-checker';
import type { QueueStore } from './queue-store';
import { signedPermitOf } from './queue-views';

/** What the queue needs of the cluster (ClusterService provides it). */
export interface QueueCluster {
  signWithPermit(keysetId: string, permit: unknown, message: Buffer, options?: SignOptions): Promise<SignOutcome>;
  /** Sessions running at this node with the engine's progress (ClusterService.runningSessions). */
  runningSessions?(): RunningSession[];
}

export interface SigningDeps {
  db: Db;
  audit: AuditLog;
  store: QueueStore;
  checker: PermitChecker;
  cluster: () => QueueCluster;
  now: () => number;
}

export class QueueSigner {
  private readonly progress = new Map<string, SigningProgressView>();
  private tail: Promise<void> = Promise.resolve();
  private readonly spentSession;
  private readonly sessionResult;

  constructor(private readonly deps: SigningDeps) {
    this.spentSession = deps.db.prepare('SELECT session_id FROM permits_spent WHERE permit_id = ?');
    this.sessionResult = deps.db.prepare('SELECT state, result FROM mpc_sessions WHERE session_id = ?');
  }

  progressOf(permitId: string): SigningProgressView | null {
    const p = this.progress.get(permitId);
    if (!p || (p.phase !== 'waiting-for-peers' && p.phase !== 'signing')) return p ?? null;
    // Once this node committed the permit, its session is known: this node's engine tells the round.
    const spent = this.spentSession.get(permitId) as { session_id: string } | undefined;
    const row = this.deps.store.get(permitId);
    if (!spent || row?.state !== 'signing') return p;
    const session = `Session ${spent.session_id.slice(0, 12)}…`;
    const running = this.deps.cluster().runningSessions?.().find((r) => r.sessionId === spent.session_id);
    if (!running) return { phase: 'signing', detail: `${session}: this node accepted the permit; the quorum is exchanging rounds.`, round: null, rounds: null };
    const at = signingRound(running);
    if (!at) return { phase: 'waiting-for-peers', detail: `${session}: this node accepted the permit and waits for the other ${running.parties - 1} node${running.parties === 2 ? '' : 's'} of the quorum.`, round: null, rounds: null };
    return { phase: 'signing', detail: `With ${running.parties} nodes (${session}).`, round: at.round, rounds: at.rounds };
  }

  /** Queues the permits for signing, in order; resolves when all of them are settled. */
  enqueue(permitIds: string[]): Promise<void> {
    this.markQueued(permitIds);
    const run = this.tail.then(async () => {
      for (const id of permitIds) await this.signOne(id);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Shows permits as queued behind the one being signed (a bulk signing that signs them one by one). */
  markQueued(permitIds: string[]): void {
    permitIds.forEach((id, i) => this.settle(id, 'waiting-for-peers', i === 0 ? 'Asking the quorum to join the signing session.' : `Queued: ${i} permit${i === 1 ? '' : 's'} ahead.`));
  }

  /** Permits a stopped bulk signing never started: no longer shown as queued (they stay approved). */
  unqueue(permitIds: string[]): void {
    for (const id of permitIds) {
      if (this.progress.get(id)?.phase === 'waiting-for-peers') this.progress.delete(id);
    }
  }

  private settle(permitId: string, phase: SigningProgressView['phase'], detail: string): void {
    this.progress.set(permitId, { phase, detail, round: null, rounds: null });
  }

  private async signOne(permitId: string): Promise<void> {
    const { store, checker, audit, db, now } = this.deps;
    const row = store.get(permitId);
    if (!row || row.state !== 'approved') {
      this.settle(permitId, 'failed', row ? `Not signed: the permit is ${row.state}, not approved.` : 'Not signed: the permit is not in the queue.');
      return;
    }
    const signed = signedPermitOf(row);
    // Right before signing: every check again, on this node's clock and state.
    const inspection = checker.inspect(signed);
    const failed = inspection.checks.find((c) => c.status === 'fail');
    if (failed || !inspection.verified) {
      const reason = failed?.detail ?? 'The permit no longer verifies.';
      if (failed?.code === 'PERMIT_EXPIRED') store.transition(permitId, ['approved'], 'expired', now(), { reason });
      else if (failed?.id === 'single-use' || failed?.id === 'issuer' || failed?.id === 'payload') {
        db.transaction(() => {
          store.transition(permitId, ['approved'], 'failed', now(), { reason });
          audit.append({ type: 'PERMIT_QUEUE_FAILED', actor: 'operator', subject: permitId, details: { code: failed.code, reason } });
        })();
      }
      this.settle(permitId, 'failed', `Not signed: ${reason}`);
      return;
    }
    const keyset = checker.keyset(row.keyset_id)!;
    db.transaction(() => {
      store.transition(permitId, ['approved'], 'signing', now(), { signing_started_at: now() });
      audit.append({ type: 'PERMIT_QUEUE_SIGNING', actor: 'operator', subject: permitId, details: { keysetId: row.keyset_id, txHash: row.tx_hash } });
    })();
    this.settle(permitId, 'waiting-for-peers', 'Asking the quorum to join the signing session.');
    let outcome: SignOutcome;
    try {
      outcome = await this.deps.cluster().signWithPermit(row.keyset_id, signed, inspection.verified.tx.signingPreimage, { operationId: `queue-${row.tx_hash.slice(2, 34)}` });
      const assembled = assembleSignedTransaction(signed.permit.chain, signed.permit.payload, outcome.signature, outcome.recoveryId, keyset.address);
      db.transaction(() => {
        store.recordSigned(permitId, { sessionId: outcome.sessionId, signature: outcome.signature, recoveryId: outcome.recoveryId, signedTx: assembled.raw, signedTxHash: assembled.hash }, now());
        audit.append({ type: 'PERMIT_QUEUE_SIGNED', actor: 'operator', subject: permitId, details: { sessionId: outcome.sessionId, mode: outcome.mode, parties: outcome.parties, transactionHash: assembled.hash } });
      })();
      this.settle(permitId, 'done', `Signed by ${outcome.parties.length} nodes (${outcome.mode === 'presigned' ? 'presignature, one round' : 'full protocol'}); transaction ${assembled.hash}.`);
    } catch (error) {
      const reason = isAppFailure(error) ? error.message : 'The signing failed with an internal error.';
      db.transaction(() => {
        store.transition(permitId, ['signing'], 'failed', now(), { reason });
        audit.append({ type: 'PERMIT_QUEUE_FAILED', actor: 'operator', subject: permitId, details: { code: isAppFailure(error) ? error.code : 'INTERNAL', reason } });
      })();
      this.settle(permitId, 'failed', reason);
    }
  }

  /**
   * After a restart: every permit left in 'signing' is settled. The signature is recovered when
   * this node's engine recorded a completed session for the permit and it verifies under the
   * keyset; otherwise the permit is failed with a reason. Neither path asks the cluster again.
   */
  recover(): { recovered: string[]; failed: string[] } {
    const { store, checker, audit, db, now } = this.deps;
    const recovered: string[] = [];
    const failedIds: string[] = [];
    for (const row of store.inState('signing')) {
      const signed = signedPermitOf(row);
      const keyset = checker.keyset(row.keyset_id);
      const spent = this.spentSession.get(row.permit_id) as { session_id: string } | undefined;
      const session = spent ? (this.sessionResult.get(spent.session_id) as { state: string; result: string | null } | undefined) : undefined;
      let done = false;
      if (keyset && spent && session?.state === 'completed' && session.result) {
        try {
          const result = JSON.parse(session.result) as { signature?: string; recoveryId?: number | null };
          const message = decodePayload(signed.permit.chain, signed.permit.payload).signingPreimage;
          const sig = { signature: result.signature ?? '', recoveryId: result.recoveryId ?? null };
          if (signatureMatchesKeyset(keyset, message, sig)) {
            const assembled = assembleSignedTransaction(signed.permit.chain, signed.permit.payload, sig.signature, sig.recoveryId, keyset.address);
            db.transaction(() => {
              store.recordSigned(row.permit_id, { sessionId: spent.session_id, signature: sig.signature, recoveryId: sig.recoveryId, signedTx: assembled.raw, signedTxHash: assembled.hash }, now());
              audit.append({ type: 'PERMIT_QUEUE_SIGNED', actor: 'system', subject: row.permit_id, details: { sessionId: spent.session_id, recovered: true, transactionHash: assembled.hash } });
            })();
            recovered.push(row.permit_id);
            done = true;
          }
        } catch {
          done = false;
        }
      }
      if (!done) {
        const reason = spent
          ? `This console stopped while permit ${row.permit_id} was being signed (session ${spent.session_id.slice(0, 12)}…) and no complete, valid signature was recorded. The permit is used up on the nodes that accepted it and is never signed again; ask the issuer for a new permit.`
          : `This console stopped before permit ${row.permit_id} reached the signing session. It is not signed again automatically; ask the issuer for a new permit.`;
        db.transaction(() => {
          store.transition(row.permit_id, ['signing'], 'failed', now(), { reason });
          audit.append({ type: 'PERMIT_QUEUE_FAILED', actor: 'system', subject: row.permit_id, details: { code: 'QUEUE_SIGNING_INTERRUPTED', reason } });
        })();
        failedIds.push(row.permit_id);
      }
    }
    return { recovered, failed: failedIds };
  }
}
