/**
 * Share refresh of a keyset, as the operator of one node runs it: the guardian request, the
 * refresh through the cluster with the approval every node checks, the interrupted refresh
 * resolved by proof, and the audit trail. The cluster part lives in main/cluster (keyset-refresh,
 * refresh-requests); the schedule in ./refresh-schedule.
 */
import type { RefreshOutcome, InterruptedRefreshOutcome, KeysetRefreshView } from '../../preload/channels/refresh';
import type { BackupService } from '../backup/backup-service';
import type { Db } from '../store/database';
import { refreshDue } from './refresh-schedule';
import type { ApprovalRequestView } from '../../preload/channels/guardians';
import type { AuditLog } from '../audit/audit-log';
import type { AirgapGroupHandle } from '../cluster/airgap-types';
import type { ClusterService, KeysetRecord } from '../cluster/cluster-service';
import type { RefreshApproval } from '../coordinator/protocol';
import { AppFailure, fail } from '../errors';
import type { GuardianService } from '../guardians/guardian-service';
import { guardedApprovalProof, requestGuardedApproval, spendGuardedApproval, type GuardedAsk } from '../guardians/guarded-approval';
import type { Clock } from '../platform/clock';
import { REFRESH_OPERATION, refreshParameters } from './refresh-approval';

export interface RefreshServiceOptions {
  db: Db;
  backups: BackupService;
  audit: AuditLog;
  clock: Clock;
  guardians: GuardianService;
  cluster: ClusterService;
}

export interface RunRefreshOptions {
  newAux?: boolean;
  timeoutMs?: number;
  onSession?: (sessionId: string, step: 'aux' | 'refresh') => void;
}

export class RefreshService {
  constructor(private readonly o: RefreshServiceOptions) {}

  private async parameters(keyset: KeysetRecord, newAux: boolean): Promise<Record<string, unknown>> {
    const me = await this.o.cluster.identity();
    return refreshParameters({ keysetId: keyset.keysetId, clusterId: keyset.clusterId, publicKey: keyset.publicKey, address: keyset.address, participants: keyset.participants, fromEpoch: keyset.shareEpoch, newAux, requesterNode: me.nodeId });
  }

  /** Every keyset with its share epoch, refresh schedule, interrupted refresh and backups (current / dead). */
  list(): KeysetRefreshView[] {
    const backups = this.o.backups.list();
    return this.o.cluster.keysets().filter((k) => k.status === 'active').map((k) => this.view(k, backups));
  }

  private view(k: KeysetRecord, backups = this.o.backups.list()): KeysetRefreshView {
    const pending = this.o.cluster.keysetRefreshes.pending(k.keysetId);
    const mine = backups.filter((b) => b.keysetId === k.keysetId);
    return {
      keysetId: k.keysetId,
      scheme: k.scheme,
      address: k.address,
      shareEpoch: k.shareEpoch,
      refreshedAt: k.refreshedAt,
      ...refreshDue(k, this.o.clock.now()),
      interrupted: pending ? { toEpoch: pending.toEpoch, sessionId: pending.sessionId, startedAt: pending.startedAt } : null,
      backups: { current: mine.filter((b) => b.status === 'current').length, dead: mine.filter((b) => b.status === 'dead').length },
    };
  }

  /** Sets the keyset's refresh interval in days (null: back to the default). */
  setInterval(keysetId: string, days: number | null): KeysetRefreshView {
    const keyset = this.o.cluster.keyset(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) fail('REFRESH_INTERVAL_INVALID', 'A refresh interval is 1 to 3650 days.', { keysetId });
    this.o.db.transaction(() => {
      this.o.db.prepare('UPDATE mpc_keysets SET refresh_interval_days = ? WHERE keyset_id = ?').run(days, keysetId);
      this.o.audit.append({ type: 'KEYSET_REFRESH_INTERVAL_SET', actor: 'operator', subject: keysetId, details: { days } });
    })();
    return this.view(this.o.cluster.keyset(keysetId)!);
  }

  /** Asks the guardians to approve a refresh of exactly this keyset, from its current epoch. */
  async requestApproval(keysetId: string, input: GuardedAsk & { newAux?: boolean }): Promise<ApprovalRequestView> {
    const newAux = input.newAux ?? false;
    const keyset = this.o.cluster.refreshRequests.precheck(keysetId, newAux);
    const parameters = await this.parameters(keyset, newAux);
    return requestGuardedApproval(this.o, REFRESH_OPERATION, keysetId, parameters, input, { type: 'KEYSET_REFRESH_REQUESTED', details: { fromEpoch: keyset.shareEpoch, newAux } });
  }

  /** The approval as the other nodes check it: this console's request and the guardians' signatures. */
  approvalProof(requestId: string): RefreshApproval {
    return guardedApprovalProof(this.o.guardians, requestId);
  }

  /**
   * Runs the approved refresh. The approval is checked here first, then spent at this console
   * (an approval runs one refresh attempt), and carried in the session request for the others.
   */
  async run(keysetId: string, requestId: string, options: RunRefreshOptions = {}): Promise<RefreshOutcome> {
    const newAux = options.newAux ?? false;
    const before = this.o.cluster.refreshRequests.precheck(keysetId, newAux);
    const parameters = await this.parameters(before, newAux);
    const { proof, approvers } = spendGuardedApproval(this.o.guardians, REFRESH_OPERATION, keysetId, parameters, requestId);
    this.o.audit.append({ type: 'KEYSET_REFRESH_STARTED', actor: 'operator', subject: keysetId, details: { requestId, approvers, fromEpoch: before.shareEpoch, newAux } });
    const discardedBefore = this.o.cluster.presignatures(keysetId).length;
    try {
      const after = await this.o.cluster.refreshRequests.run(keysetId, proof, { newAux, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}), ...(options.onSession ? { onSession: options.onSession } : {}) });
      if (after.publicKey !== before.publicKey || after.address !== before.address) fail('REFRESH_KEY_CHANGED', 'The keyset record changed its key during the refresh; stop using it and check the audit log.', { keysetId });
      return {
        keysetId,
        address: after.address ?? '',
        publicKey: after.publicKey ?? '',
        fromEpoch: before.shareEpoch,
        toEpoch: after.shareEpoch,
        refreshedAt: after.refreshedAt ?? new Date(this.o.clock.now()).toISOString(),
        newAux,
        presignaturesDiscarded: discardedBefore,
        approvers,
      };
    } catch (error) {
      const pending = this.o.cluster.keysetRefreshes.pending(keysetId);
      this.o.audit.append({ type: 'KEYSET_REFRESH_FAILED', actor: 'operator', subject: keysetId, details: { requestId, code: error instanceof AppFailure ? error.code : 'INTERNAL', newShareSealedHere: pending !== null } });
      if (pending && error instanceof AppFailure && error.code !== 'REFRESH_INTERRUPTED') {
        fail(error.code, `${error.message} This node holds the refresh's new share sealed beside the old one: choose "Finish interrupted refresh" to prove which one the other nodes hold.`, { ...error.details, keysetId, pendingEpoch: pending.toEpoch });
      }
      throw error;
    }
  }

  /**
   * Starts the approved refresh by file bundles written into `outDir` (every share holder takes
   * part by importing them). The approval is checked and spent here as for `run`; the keyset
   * switches to its new share once every party's signed completion came back by file.
   */
  async runByFiles(keysetId: string, requestId: string, outDir: string, options: { ttlMs?: number } = {}): Promise<AirgapGroupHandle> {
    const before = this.o.cluster.refreshRequests.precheck(keysetId, false);
    const parameters = await this.parameters(before, false);
    const { proof, approvers } = spendGuardedApproval(this.o.guardians, REFRESH_OPERATION, keysetId, parameters, requestId);
    this.o.audit.append({ type: 'KEYSET_REFRESH_STARTED', actor: 'operator', subject: keysetId, details: { requestId, approvers, fromEpoch: before.shareEpoch, newAux: false, transport: 'airgap' } });
    try {
      return await this.o.cluster.airgapGroup.refresh(keysetId, proof, outDir, options);
    } catch (error) {
      this.o.audit.append({ type: 'KEYSET_REFRESH_FAILED', actor: 'operator', subject: keysetId, details: { requestId, code: error instanceof AppFailure ? error.code : 'INTERNAL', newShareSealedHere: false, transport: 'airgap' } });
      throw error;
    }
  }

  /**
   * A refresh interrupted at this node (killed, or the session's end never confirmed): a key
   * check with the sealed new share; if its signature verifies under the group key the peers hold
   * the new shares too, and this node switches. Otherwise a key check with the old share; if that
   * verifies, the refresh did not happen at the peers and the new share is dropped.
   */
  async finishInterrupted(keysetId: string): Promise<InterruptedRefreshOutcome> {
    const pending = this.o.cluster.keysetRefreshes.pending(keysetId);
    if (!pending) fail('REFRESH_NOT_INTERRUPTED', `No refresh of keyset ${keysetId} is waiting on this node; its share is current.`, { keysetId });
    const me = (await this.o.cluster.identity()).nodeId;
    const peers = this.o.cluster.keyset(keysetId)!.participants.filter((p) => p.nodeId !== me);
    // The new share is tried with each peer in turn: one peer that switched is enough to prove it.
    const refusals: string[] = [];
    let unreachable: string | null = null;
    for (const peer of peers) {
      try {
        const proof = await this.o.cluster.keyCheck(keysetId, 'key-check', { shareEpoch: pending.toEpoch, prefer: [peer.nodeId] });
        const keyset = this.o.cluster.keysetRefreshes.switchToPending(keysetId, 'key-check');
        this.o.audit.append({ type: 'KEYSET_REFRESH_RESOLVED', actor: 'operator', subject: keysetId, details: { kept: 'new share', toEpoch: pending.toEpoch, proofSession: proof.sessionId, parties: proof.parties } });
        return { keysetId, kept: 'new', epoch: keyset.shareEpoch, proofSessionId: proof.sessionId, proofParties: proof.parties };
      } catch (error) {
        const name = this.o.cluster.node(peer.nodeId)?.name ?? peer.nodeId.slice(0, 8);
        // Only a peer that answered "not at that epoch" rules it out; silence proves nothing.
        if (error instanceof AppFailure && error.code === 'MPC_SESSION_REJECTED' && error.details?.code === 'SHARE_EPOCH_MISMATCH') refusals.push(name);
        else unreachable ??= `${name} (${error instanceof AppFailure ? error.message : 'the key check failed'})`;
      }
    }
    if (unreachable) {
      fail('REFRESH_UNRESOLVED', `The refresh of keyset ${keysetId} cannot be settled yet: node ${unreachable} did not answer the key check with the new share, and it may hold the new share too. Nothing was changed; bring every node online and choose "Finish interrupted refresh" again.`, { keysetId, pendingEpoch: pending.toEpoch });
    }
    // No peer holds the new epoch: the refresh did not switch anywhere, and the old share must prove itself.
    try {
      const proof = await this.o.cluster.keyCheck(keysetId, 'key-check', { shareEpoch: pending.fromEpoch });
      this.o.cluster.keysetRefreshes.discardPending(keysetId, 'discarded', `no peer holds epoch ${pending.toEpoch} (${refusals.join(', ')}); the old share proved itself in session ${proof.sessionId.slice(0, 12)}…`);
      return { keysetId, kept: 'old', epoch: pending.fromEpoch, proofSessionId: proof.sessionId, proofParties: proof.parties };
    } catch (error) {
      const why = error instanceof AppFailure ? error.message : 'the key check failed';
      fail('REFRESH_UNRESOLVED', `Neither share of keyset ${keysetId} on this node signs with the other nodes: ${refusals.join(' and ')} refused the new share (epoch ${pending.toEpoch}), and the old share (epoch ${pending.fromEpoch}) failed too: ${why} Restore this node's share from a backup made after the refresh (Backups screen, two guardians), or replace the node (Keysets, Replace a lost node).`, { keysetId, pendingEpoch: pending.toEpoch });
    }
  }
}
