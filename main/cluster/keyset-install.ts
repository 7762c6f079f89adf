/**
 * Puts a keyset and this node's share in place from a verified share backup, and takes them out
 * again when the restored share fails to prove itself. Both run in one transaction each: a
 * keyset row never exists without its sealed share, nor a share without its row.
 */
import type { Participant } from '../coordinator/protocol';
import { scrubAfterDelete, type Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { keyRef, SHARE_RECORD, type Scheme } from './cluster-service';

export interface RestoredKeyset {
  keysetId: string;
  clusterId: string;
  scheme: Scheme;
  threshold: number;
  participants: Participant[];
  myPartyIndex: number;
  publicKey: string;
  address: string;
  /** Where it came from, in the place of the keygen session id. */
  source: string;
  /** The share epoch the backup recorded (0 for backups made before epochs were recorded). */
  shareEpoch?: number;
}

/** Inserts the keyset and seals the share; throws if the keyset or its share already exists (nothing is overwritten). */
export function installRestoredKeyset(db: Db, vault: VaultService, k: RestoredKeyset, share: Buffer, now: string): void {
  db.transaction(() => {
    if (vault.records.get(SHARE_RECORD.type, k.keysetId)) throw new Error('a share of this keyset already exists');
    db.prepare(`INSERT INTO mpc_keysets (keyset_id, cluster_id, scheme, key_ref, threshold, participants, my_party_index, public_key, address, status, session_id, created_at, lab, share_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, 0, ?)`).run(
      k.keysetId,
      k.clusterId,
      k.scheme,
      keyRef(k.scheme, k.clusterId, k.keysetId),
      k.threshold,
      JSON.stringify(k.participants),
      k.myPartyIndex,
      k.publicKey,
      k.address,
      k.source,
      now,
      k.shareEpoch ?? 0,
    );
    vault.records.put(SHARE_RECORD.type, k.keysetId, SHARE_RECORD.schemaVersion, share);
  })();
}

/** Removes a restored keyset whose share did not prove itself; the share is scrubbed from the file. */
export function removeRestoredKeyset(db: Db, keysetId: string): void {
  db.transaction(() => {
    db.prepare('DELETE FROM mpc_keysets WHERE keyset_id = ?').run(keysetId);
    db.prepare('DELETE FROM sealed_records WHERE record_type = ? AND record_id = ?').run(SHARE_RECORD.type, keysetId);
  })();
  scrubAfterDelete(db);
}
