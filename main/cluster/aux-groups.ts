/**
 * ECDSA auxiliary data (Paillier keys, ring-Pedersen parameters) this node holds for its signer
 * groups: generated once per group of three, sealed in the vault, and attached to every ECDSA
 * keyset that group generates afterwards. A group is the exact set of nodes with their party
 * indices; auxiliary data is never attached for another group, another index or another size.
 */
import type { Participant } from '../coordinator/protocol';
import type { MpcSigner } from '../mpc/index';
import type { ClusterDeps } from './deps';
import { isoNow } from './deps';
import { ClusterError } from './errors';

export const AUX_RECORD = { type: 'mpc-aux', schemaVersion: 1 } as const;

export interface AuxGroupRecord {
  auxGroupId: string;
  clusterId: string;
  participants: Participant[];
  myPartyIndex: number;
  /** Hash of the group's public auxiliary data, hex: the same at every member. */
  auxId: string;
  status: 'active' | 'retired';
  createdAt: string;
  retiredAt: string | null;
}

type Row = Record<string, unknown>;

/** Same set of nodes, whatever their party indices. */
export function sameNodes(a: readonly Participant[], b: readonly Participant[]): boolean {
  const key = (ps: readonly Participant[]) => ps.map((p) => p.nodeId).sort().join(',');
  return a.length === b.length && key(a) === key(b);
}

/** Same nodes with the same party indices (order of the lists does not matter). */
export function sameGroup(a: readonly Participant[], b: readonly Participant[]): boolean {
  if (a.length !== b.length) return false;
  const key = (ps: readonly Participant[]) => [...ps].sort((x, y) => x.partyIndex - y.partyIndex).map((p) => `${p.partyIndex}:${p.nodeId}`).join(',');
  return key(a) === key(b);
}

export class AuxGroups {
  constructor(private readonly d: ClusterDeps & { signer: () => MpcSigner }) {}

  get(auxGroupId: string): AuxGroupRecord | null {
    const r = this.d.db.prepare('SELECT * FROM mpc_aux_groups WHERE aux_group_id = ?').get(auxGroupId) as Row | undefined;
    return r ? toAuxGroup(r) : null;
  }

  list(): AuxGroupRecord[] {
    return (this.d.db.prepare('SELECT * FROM mpc_aux_groups ORDER BY created_at DESC').all() as Row[]).map(toAuxGroup);
  }

  /**
   * The active auxiliary data of these nodes in this cluster, or null. A key generation that
   * reuses it takes the party indices it was made with (whichever node requests it).
   */
  activeFor(clusterId: string, participants: readonly Participant[]): AuxGroupRecord | null {
    return this.list().find((g) => g.status === 'active' && g.clusterId === clusterId && sameNodes(g.participants, participants)) ?? null;
  }

  /** The active record whose public auxiliary data hashes to `auxId`, or null. */
  byAuxId(auxId: string): AuxGroupRecord | null {
    const r = this.d.db.prepare(`SELECT * FROM mpc_aux_groups WHERE aux_id = ? AND status = 'active'`).get(auxId) as Row | undefined;
    return r ? toAuxGroup(r) : null;
  }

  /** Throws unless the blob is this node's auxiliary data, for this group size, with this id. */
  check(input: { participants: readonly Participant[]; myPartyIndex: number; aux: Buffer; auxId: string }): void {
    const facts = this.d.signer().ecdsaAuxInfo(input.aux);
    if (facts.partyIndex !== input.myPartyIndex || facts.parties !== input.participants.length || facts.auxId.toString('hex') !== input.auxId) {
      throw new ClusterError({ errorClass: 'permanent', code: 'AUX_MISMATCH', reason: 'The auxiliary data this node produced does not match its party index, group size or reported id; it was not stored.' });
    }
  }

  /**
   * Stores a finished auxiliary-data session: the sealed blob and its row, in one transaction;
   * an earlier active record of the same group is retired (its keysets keep their own copy).
   * The blob is checked first: this node's party index, the group size, and the aux id the
   * engine reports for it.
   */
  store(input: { auxGroupId: string; clusterId: string; participants: Participant[]; myPartyIndex: number; sessionId: string; aux: Buffer; auxId: string }): void {
    this.check(input);
    const now = isoNow(this.d.clock);
    const earlier = this.list().filter((g) => g.status === 'active' && g.clusterId === input.clusterId && sameNodes(g.participants, input.participants));
    this.d.db.transaction(() => {
      const retire = this.d.db.prepare(`UPDATE mpc_aux_groups SET status = 'retired', retired_at = ? WHERE aux_group_id = ?`);
      for (const g of earlier) retire.run(now, g.auxGroupId);
      this.d.vault.records.put(AUX_RECORD.type, input.auxGroupId, AUX_RECORD.schemaVersion, input.aux);
      this.d.db
        .prepare(`INSERT INTO mpc_aux_groups (aux_group_id, cluster_id, participants, my_party_index, aux_id, status, session_id, created_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)`)
        .run(input.auxGroupId, input.clusterId, JSON.stringify(input.participants), input.myPartyIndex, input.auxId, input.sessionId, now);
    })();
  }

  /**
   * This node's sealed auxiliary data for a key generation that names `auxId` with `parties`:
   * refused unless it is the active data of exactly that group and the blob really hashes to
   * `auxId` at this node's own party index. The caller zeroizes the buffer.
   */
  forKeygen(auxId: string, parties: readonly Participant[], myNodeId: string): Buffer {
    const group = this.byAuxId(auxId);
    if (!group) throw new ClusterError({ errorClass: 'permanent', code: 'AUX_NOT_FOUND', reason: `This node holds no active auxiliary data with id ${auxId.slice(0, 16)}…; run the group's auxiliary-data session first.` });
    if (!sameGroup(group.participants, parties)) {
      throw new ClusterError({ errorClass: 'permanent', code: 'AUX_WRONG_GROUP', reason: `Auxiliary data ${auxId.slice(0, 16)}… was made by another group of nodes (or with other party indices); it is not reused for this one.` });
    }
    const mine = parties.find((p) => p.nodeId === myNodeId);
    if (!mine || mine.partyIndex !== group.myPartyIndex) throw new ClusterError({ errorClass: 'permanent', code: 'AUX_WRONG_GROUP', reason: 'The key generation gives this node another party index than its auxiliary data.' });
    const blob = this.d.vault.records.get(AUX_RECORD.type, group.auxGroupId)?.plaintext;
    if (!blob) throw new ClusterError({ errorClass: 'permanent', code: 'AUX_NOT_FOUND', reason: `The sealed auxiliary data of group ${group.auxGroupId} is missing from this node's vault.` });
    const facts = this.d.signer().ecdsaAuxInfo(blob);
    if (facts.auxId.toString('hex') !== auxId || facts.partyIndex !== mine.partyIndex) {
      blob.fill(0);
      throw new ClusterError({ errorClass: 'permanent', code: 'AUX_MISMATCH', reason: `The sealed auxiliary data of group ${group.auxGroupId} does not hash to the id the key generation names; it is not attached.` });
    }
    return blob;
  }
}

function toAuxGroup(r: Row): AuxGroupRecord {
  return {
    auxGroupId: String(r.aux_group_id),
    clusterId: String(r.cluster_id),
    participants: JSON.parse(String(r.participants)) as Participant[],
    myPartyIndex: Number(r.my_party_index),
    auxId: String(r.aux_id),
    status: r.status as AuxGroupRecord['status'],
    createdAt: String(r.created_at),
    retiredAt: (r.retired_at as string | null) ?? null,
  };
}
