/** Requesting ECDSA presignatures for a keyset (each is bound to the share epoch, see share-epoch.ts). */
import { randomBytes } from 'node:crypto';
import { fail } from '../errors';
import type { Keysets } from './keysets';
import type { Membership } from './membership';
import type { PresignaturePool, PresignatureRecord } from './presignatures';
import { newSessionId } from './session-request';
import { sessionFailure, type SessionRequests } from './session-requests';

export class PresignRequests {
  constructor(private readonly d: { membership: Membership; keysets: Keysets; requests: SessionRequests; pool: PresignaturePool }) {}

  /**
   * Runs one presign session for the keyset with a quorum (the preferred members when online).
   * Each quorum party keeps its secret presignature sealed; the requester records the id.
   */
  async presign(keysetId: string, options: { prefer?: string[]; timeoutMs?: number } = {}): Promise<PresignatureRecord> {
    await this.d.membership.identity();
    const keyset = this.d.keysets.get(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    if (keyset.scheme !== 'ecdsa') fail('MPC_SESSION_REJECTED', 'Presignatures exist only for ECDSA keysets.', { keysetId });
    const exclude = this.d.membership.quarantined();
    const parties = await this.d.requests.chooseQuorum(keyset, options.prefer ?? [], exclude);
    const end = await this.d.requests.run(`presign-${randomBytes(16).toString('hex')}`, {
      clusterId: this.d.requests.requireClusterId(),
      sessionId: newSessionId(),
      protocol: 'ecdsa-presign',
      keysetId,
      parties,
      threshold: keyset.threshold,
      shareEpoch: keyset.shareEpoch,
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? 60_000),
    });
    const id = end.result?.presignatureId;
    if (end.state !== 'completed' || !id) sessionFailure(end);
    this.d.pool.recordRequested(id, keysetId, parties);
    return this.d.pool.list(keysetId).find((p) => p.presignatureId === id)!;
  }
}
