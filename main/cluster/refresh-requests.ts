/**
 * Requesting a keyset refresh, cluster side: every share holder online, a signed request that
 * names the keyset, all its parties at their indices, the share epoch it starts from and the
 * guardians' approval; ECDSA may first renew the group's auxiliary data (the keyset signs with
 * the old data meanwhile) and switch to it in the same refresh.
 */
import type { RefreshApproval } from '../coordinator/protocol';
import { fail } from '../errors';
import type { KeygenCeremonies } from './keygen';
import type { KeysetRefreshes } from './keyset-refresh';
import type { Keysets, KeysetRecord } from './keysets';
import type { Membership } from './membership';
import { newSessionId } from './session-request';
import { sessionFailure, type SessionRequests } from './session-requests';

export interface RefreshRunOptions {
  /** ECDSA: renew the group's auxiliary (Paillier) data first and switch the keyset to it. */
  newAux?: boolean;
  timeoutMs?: number;
  /** Called with the session id once the refresh session is requested (a job's cancel ends it). */
  onSession?: (sessionId: string, step: 'aux' | 'refresh') => void;
}

export class RefreshRequests {
  constructor(private readonly d: { membership: Membership; keysets: Keysets; requests: SessionRequests; keygen: KeygenCeremonies; refreshes: KeysetRefreshes }) {}

  /** What a refresh needs before guardians are asked, and again before it runs. */
  precheck(keysetId: string, newAux = false): KeysetRecord {
    const keyset = this.d.keysets.active(keysetId);
    if (newAux && keyset.scheme !== 'ecdsa') fail('REFRESH_APPROVAL_INVALID', 'Only ECDSA keysets have auxiliary (Paillier) data to renew; refresh this EdDSA keyset without that option.', { keysetId });
    const pending = this.d.refreshes.pending(keysetId);
    if (pending) fail('REFRESH_INTERRUPTED', `A refresh of keyset ${keysetId} to epoch ${pending.toEpoch} was interrupted on this node. Choose "Finish interrupted refresh" first; it proves which share is current.`, { keysetId });
    return keyset;
  }

  async run(keysetId: string, approval: RefreshApproval, options: RefreshRunOptions = {}): Promise<KeysetRecord> {
    const keyset = this.precheck(keysetId, options.newAux);
    const me = await this.d.membership.identity();
    const clusterId = this.d.requests.requireClusterId();
    for (const p of keyset.participants) {
      if (p.nodeId !== me.nodeId && this.d.membership.node(p.nodeId)?.status !== 'enrolled') {
        fail('REFRESH_NEEDS_ALL_NODES', `A refresh changes every share, so all ${keyset.participants.length} share holders take part; node ${p.nodeId.slice(0, 8)}… is not an enrolled, non-quarantined peer here. Nothing was changed.`, { keysetId });
      }
    }
    const connected = new Set(await this.d.requests.requireClient().presence(keyset.participants.map((p) => p.nodeId)));
    const missing = keyset.participants.filter((p) => !connected.has(p.nodeId));
    if (missing.length > 0) {
      fail('REFRESH_NEEDS_ALL_NODES', `A refresh needs all ${keyset.participants.length} share holders online; ${missing.map((p) => `${this.d.membership.node(p.nodeId)?.name ?? p.nodeId.slice(0, 8)}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not connected. Nothing was changed; start ${missing.length === 1 ? 'it' : 'them'} and try again.`, { keysetId });
    }
    let auxId: string | undefined;
    if (options.newAux) {
      options.onSession?.('', 'aux');
      const group = await this.d.keygen.prepareAux({ ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
      auxId = group.auxId;
    }
    const sessionId = newSessionId();
    options.onSession?.(sessionId, 'refresh');
    const end = await this.d.requests.run(`refresh-${sessionId.slice(0, 32)}`, {
      clusterId,
      sessionId,
      protocol: keyset.scheme === 'ecdsa' ? 'ecdsa-refresh-shares' : 'eddsa-refresh',
      keysetId,
      parties: [...keyset.participants].sort((a, b) => a.partyIndex - b.partyIndex),
      threshold: keyset.threshold,
      ...(auxId ? { auxId } : {}),
      shareEpoch: keyset.shareEpoch,
      refresh: approval,
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? (keyset.scheme === 'ecdsa' ? 180_000 : 30_000)),
    });
    if (end.state !== 'completed') sessionFailure(end);
    const after = this.d.keysets.active(keysetId);
    if (after.shareEpoch !== keyset.shareEpoch + 1) fail('REFRESH_INTERRUPTED', `The refresh session of keyset ${keysetId} completed but this node did not switch to its new share. Choose "Finish interrupted refresh".`, { keysetId });
    return after;
  }
}
