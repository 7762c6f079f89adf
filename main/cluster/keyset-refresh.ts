/**
 * A keyset refresh at this node, participant side: the checks before it joins, the new share
 * sealed beside the old one before this node reports it finished, and the switch.
 *
 * The old share stays the keyset's share until the relay reports that every party finished; the
 * new one waits sealed as `mpc-share-pending`. Killed in between, the node comes back on the old
 * share with the new one still sealed: sessions name the share epoch, so a peer already on the new
 * epoch refuses with a sentence naming what to do, and "Finish interrupted refresh" proves the
 * sealed share with a key-check signature (a signature that verifies under the group key shows it
 * matches the peers' current shares) before it switches — or proves the old share and discards
 * the new one. Nothing is switched on a peer's word.
 */
import type { SessionInfo, SignedSessionRequest } from '../coordinator/protocol';
import type { MpcSigner, SessionResult } from '../mpc/index';
import { scrubAfterDelete } from '../store/database';
import { termsOf, UsedRefreshApprovals, verifyRefreshApproval } from '../refresh/refresh-approval';
import type { AuxGroups } from './aux-groups';
import type { ClusterDeps } from './deps';
import { isoNow } from './deps';
import { ClusterError } from './errors';
import { SHARE_RECORD, type Keysets, type KeysetRecord } from './keysets';
import type { PresignaturePool } from './presignatures';
import { RequestRefusal } from './session-request';

export const PENDING_SHARE_RECORD = { type: 'mpc-share-pending', schemaVersion: 1 } as const;

export interface PendingRefresh {
  sessionId: string;
  keysetId: string;
  fromEpoch: number;
  toEpoch: number;
  requester: string;
  newAuxId: string | null;
  startedAt: string;
}

export interface KeysetRefreshDeps extends ClusterDeps {
  keysets: Keysets;
  auxGroups: AuxGroups;
  pool: PresignaturePool;
  signer: () => MpcSigner;
  /** Addresses of the guardians enrolled on this node now (null: no registry to check against). */
  guardianAddresses: () => string[] | null;
}

type Row = Record<string, unknown>;

export class KeysetRefreshes {
  readonly usedApprovals: UsedRefreshApprovals;

  constructor(private readonly d: KeysetRefreshDeps) {
    this.usedApprovals = new UsedRefreshApprovals(d.db);
  }

  pending(keysetId: string): PendingRefresh | null {
    const r = this.d.db.prepare(`SELECT * FROM keyset_refreshes WHERE keyset_id = ? AND state = 'pending' ORDER BY started_at DESC LIMIT 1`).get(keysetId) as Row | undefined;
    return r ? toPending(r) : null;
  }

  pendingEpoch(keysetId: string): number | null {
    return this.pending(keysetId)?.toEpoch ?? null;
  }

  /** Checks a refresh request against this node's guardians and history (request verified otherwise). */
  checkRequest(request: SignedSessionRequest, keyset: KeysetRecord): void {
    const proof = request.body.refresh!;
    const pending = this.pending(keyset.keysetId);
    if (pending) {
      throw new RequestRefusal('REFRESH_INTERRUPTED', `An earlier refresh of keyset ${keyset.keysetId} (to epoch ${pending.toEpoch}) was interrupted on node ${keyset.participants.find((p) => p.partyIndex === keyset.myPartyIndex)?.nodeId.slice(0, 8) ?? 'this'}…; finish it there first (Keysets → Finish interrupted refresh). Nothing was changed.`);
    }
    const guardians = this.d.guardianAddresses();
    if (!guardians || guardians.length === 0) throw new RequestRefusal('REFRESH_APPROVAL_INVALID', 'No guardians are enrolled on this node, so it cannot check the approval of a refresh and takes part in none. Enrol the three guardians here first (a headless node: start it once with --guardians FILE, exported from the console\'s Guardians screen).');
    this.usedApprovals.refuseIfUsed(proof);
    verifyRefreshApproval({ proof, terms: termsOf(request, keyset), guardians, now: this.d.clock.now() });
  }

  /** The node joined a refresh: its approval is spent here. */
  joined(request: SignedSessionRequest): void {
    this.usedApprovals.record(request.body.refresh!, request.body.keysetId, request.body.sessionId, isoNow(this.d.clock));
  }

  /**
   * This node's share for a session: the keyset's, or — for a key check of its own at the epoch
   * of its interrupted refresh — the sealed new share. The caller zeroizes it.
   */
  shareFor(info: SessionInfo): Buffer | undefined {
    const keyset = this.d.keysets.get(info.keysetId);
    const pending = this.pending(info.keysetId);
    if (keyset && pending && info.shareEpoch === pending.toEpoch && info.shareEpoch !== keyset.shareEpoch) {
      return this.d.vault.records.get(PENDING_SHARE_RECORD.type, info.keysetId)?.plaintext;
    }
    return this.d.keysets.share(info.keysetId);
  }

  /**
   * The engine finished a refresh here: the group key and address must be the keyset's (and an
   * auxiliary-data switch must carry the data named); then the new share is sealed beside the old
   * one, durably, before this node tells anyone it finished.
   */
  sealPending(info: SessionInfo, result: SessionResult): void {
    const keyset = this.d.keysets.get(info.keysetId);
    const share = result.share;
    if (!keyset || !share) throw new ClusterError({ errorClass: 'permanent', code: 'REFRESH_KEY_CHANGED', reason: 'The refresh ended without a new share at this node; nothing was changed.' });
    const facts = this.d.signer().shareInfo(share);
    const publicKey = facts.publicKey.toString('hex');
    if (publicKey !== keyset.publicKey || facts.address !== keyset.address || facts.partyIndex !== keyset.myPartyIndex) {
      throw new ClusterError({ errorClass: 'permanent', code: 'REFRESH_KEY_CHANGED', reason: `The refreshed share of keyset ${keyset.keysetId} belongs to another key (${facts.address}, expected ${keyset.address ?? 'none'}); it was not kept and the keyset stays on its current share.` });
    }
    if (info.protocol === 'ecdsa-refresh-shares' && info.auxId && this.d.signer().ecdsaAuxInfo(share).auxId.toString('hex') !== info.auxId) {
      throw new ClusterError({ errorClass: 'permanent', code: 'AUX_MISMATCH', reason: 'The refreshed share does not carry the new auxiliary data the refresh named; it was not kept.' });
    }
    this.d.db.transaction(() => {
      this.d.vault.records.put(PENDING_SHARE_RECORD.type, keyset.keysetId, PENDING_SHARE_RECORD.schemaVersion, share);
      this.d.db
        .prepare(`INSERT INTO keyset_refreshes (session_id, keyset_id, from_epoch, to_epoch, requester, new_aux_id, state, started_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`)
        .run(info.sessionId, keyset.keysetId, keyset.shareEpoch, keyset.shareEpoch + 1, info.requester, info.auxId ?? null, isoNow(this.d.clock));
      this.d.audit.append({ type: 'KEYSET_REFRESH_PENDING', actor: 'system', subject: keyset.keysetId, details: { sessionId: info.sessionId, fromEpoch: keyset.shareEpoch, toEpoch: keyset.shareEpoch + 1, address: keyset.address } });
    })();
  }

  /**
   * Switches the keyset to its sealed new share, in one transaction: the share replaced (the old
   * one overwritten and scrubbed from the file), the epoch raised, presignatures made with the old
   * share discarded. `how` says what confirmed the switch.
   */
  switchToPending(keysetId: string, how: 'session-completed' | 'key-check'): KeysetRecord {
    const pending = this.pending(keysetId);
    const share = this.d.vault.records.get(PENDING_SHARE_RECORD.type, keysetId)?.plaintext;
    if (!pending || !share) throw new ClusterError({ errorClass: 'permanent', code: 'REFRESH_NOT_INTERRUPTED', reason: `Keyset ${keysetId} has no sealed new share waiting here.` });
    const now = isoNow(this.d.clock);
    const auxGroupId = pending.newAuxId ? (this.d.auxGroups.byAuxId(pending.newAuxId)?.auxGroupId ?? null) : undefined;
    try {
      this.d.db.transaction(() => {
        this.d.vault.records.put(SHARE_RECORD.type, keysetId, SHARE_RECORD.schemaVersion, share);
        this.d.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PENDING_SHARE_RECORD.type, keysetId);
        this.d.db.prepare(`UPDATE mpc_keysets SET share_epoch = ?, refreshed_at = ?${auxGroupId !== undefined ? ', aux_group_id = ?' : ''} WHERE keyset_id = ?`).run(...[pending.toEpoch, now, ...(auxGroupId !== undefined ? [auxGroupId] : []), keysetId]);
        this.d.db.prepare(`UPDATE keyset_refreshes SET state = 'switched', finished_at = ?, note = ? WHERE session_id = ?`).run(now, how, pending.sessionId);
        this.d.audit.append({ type: 'KEYSET_REFRESHED', actor: 'system', subject: keysetId, details: { sessionId: pending.sessionId, fromEpoch: pending.fromEpoch, toEpoch: pending.toEpoch, confirmedBy: how, ...(pending.newAuxId ? { newAuxId: pending.newAuxId } : {}) } });
      })();
    } finally {
      share.fill(0);
    }
    scrubAfterDelete(this.d.db);
    // Presignatures made with the old share never meet the new one.
    this.d.pool.discard(keysetId, 'shares refreshed');
    return this.d.keysets.get(keysetId)!;
  }

  /** Drops the sealed new share (the refresh failed everywhere, or the old share proved itself). */
  discardPending(keysetId: string, state: 'failed' | 'discarded', note: string): void {
    const pending = this.pending(keysetId);
    if (!pending) return;
    this.d.db.transaction(() => {
      this.d.db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(PENDING_SHARE_RECORD.type, keysetId);
      this.d.db.prepare(`UPDATE keyset_refreshes SET state = ?, finished_at = ?, note = ? WHERE session_id = ?`).run(state, isoNow(this.d.clock), note.slice(0, 300), pending.sessionId);
      this.d.audit.append({ type: state === 'failed' ? 'KEYSET_REFRESH_FAILED' : 'KEYSET_REFRESH_RESOLVED', actor: 'system', subject: keysetId, details: { sessionId: pending.sessionId, fromEpoch: pending.fromEpoch, toEpoch: pending.toEpoch, kept: 'old share', note: note.slice(0, 300) } });
    })();
    scrubAfterDelete(this.d.db);
  }

  /** The end of a refresh session at this node: switch when every party finished, else drop the new share. */
  sessionEnded(info: SessionInfo, completed: boolean, failureReason: string | null): void {
    const pending = this.pending(info.keysetId);
    if (!pending || pending.sessionId !== info.sessionId) return;
    if (completed) this.switchToPending(info.keysetId, 'session-completed');
    else this.discardPending(info.keysetId, 'failed', failureReason ?? 'the refresh session failed');
  }
}

function toPending(r: Row): PendingRefresh {
  return {
    sessionId: String(r.session_id),
    keysetId: String(r.keyset_id),
    fromEpoch: Number(r.from_epoch),
    toEpoch: Number(r.to_epoch),
    requester: String(r.requester),
    newAuxId: (r.new_aux_id as string | null) ?? null,
    startedAt: String(r.started_at),
  };
}
