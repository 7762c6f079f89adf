/** Keysets this node holds a share of: their records, key references and the lab mark. */
import type { Participant } from '../coordinator/protocol';
import { fail } from '../errors';
import type { ClusterDeps } from './deps';

export type Scheme = 'ecdsa' | 'eddsa';
export const SHARE_RECORD = { type: 'mpc-share', schemaVersion: 1 } as const;

export function keyRef(scheme: Scheme, clusterId: string, keysetId: string): string {
  return `${scheme === 'ecdsa' ? 'mpc-tecdsa' : 'mpc-teddsa'}://${clusterId}/${keysetId}`;
}

export interface KeysetRecord {
  keysetId: string;
  clusterId: string;
  scheme: Scheme;
  keyRef: string;
  threshold: number;
  participants: Participant[];
  myPartyIndex: number;
  publicKey: string | null;
  address: string | null;
  status: 'active' | 'failed';
  createdAt: string;
  /** Made while this console served the embedded lab cluster: never for real funds, permanently. */
  lab: boolean;
  /** ECDSA: the group auxiliary data its shares carry (null when made with its own, in one session). */
  auxGroupId: string | null;
  /** Refreshes this node's share went through; every session of the keyset names it. */
  shareEpoch: number;
  /** When the last refresh switched here (null: never refreshed). */
  refreshedAt: string | null;
  /** The keyset's refresh schedule in days (null: the default). */
  refreshIntervalDays: number | null;
}

type Row = Record<string, unknown>;

export class Keysets {
  constructor(private readonly d: ClusterDeps) {}

  get(keysetId: string): KeysetRecord | null {
    const r = this.d.db.prepare('SELECT * FROM mpc_keysets WHERE keyset_id = ?').get(keysetId) as Row | undefined;
    return r ? toKeyset(r) : null;
  }

  list(): KeysetRecord[] {
    return (this.d.db.prepare('SELECT * FROM mpc_keysets ORDER BY created_at DESC').all() as Row[]).map(toKeyset);
  }

  active(keysetId: string): KeysetRecord {
    const keyset = this.get(keysetId);
    if (!keyset || keyset.status !== 'active') fail('KEYSET_NOT_FOUND', `No active keyset ${keysetId} on this node.`, { keysetId });
    return keyset;
  }

  /** Keysets made while this console served the embedded lab cluster carry the permanent lab mark. */
  isLab(keyset: { keysetId: string }): boolean {
    return this.get(keyset.keysetId)?.lab === true;
  }

  /** This node's sealed share of the keyset (the caller zeroizes it), or undefined. */
  share(keysetId: string): Buffer | undefined {
    return this.d.vault.records.get(SHARE_RECORD.type, keysetId)?.plaintext;
  }
}

function toKeyset(r: Row): KeysetRecord {
  return {
    keysetId: String(r.keyset_id),
    clusterId: String(r.cluster_id),
    scheme: r.scheme as Scheme,
    keyRef: String(r.key_ref),
    threshold: Number(r.threshold),
    participants: JSON.parse(String(r.participants)) as Participant[],
    myPartyIndex: Number(r.my_party_index),
    publicKey: (r.public_key as string | null) ?? null,
    address: (r.address as string | null) ?? null,
    status: r.status as KeysetRecord['status'],
    createdAt: String(r.created_at),
    lab: r.lab === 1,
    auxGroupId: (r.aux_group_id as string | null | undefined) ?? null,
    shareEpoch: Number(r.share_epoch ?? 0),
    refreshedAt: (r.refreshed_at as string | null | undefined) ?? null,
    refreshIntervalDays: r.refresh_interval_days === null || r.refresh_interval_days === undefined ? null : Number(r.refresh_interval_days),
  };
}
