/**
 * Who is in this node's cluster: its own identity, the peers its operator enrolled (confirmed by
 * fingerprint), and quarantine of peers that signed evidence of misbehaviour.
 */
import type { KeyObject } from 'node:crypto';
import type { ClusterNodeView } from '../../preload/contract';
import type { Participant, SessionInfo } from '../coordinator/protocol';
import { fail } from '../errors';
import type { ClusterDeps } from './deps';
import { isoNow } from './deps';
import { peerFromCard, type Peer } from './envelope';
import { ClusterError } from './errors';
import { cardFingerprint, LocalIdentity, verifyCard, type NodeCard } from './identity';
import { ed25519PublicKey } from './keys';

/** A node as this node records it: exactly the view the UI shows. */
export type NodeRecord = ClusterNodeView;

type Row = Record<string, unknown>;

export class Membership {
  private me: LocalIdentity | null = null;
  /**
   * Imported keys of a peer, kept across sessions: importing the HPKE and Ed25519 public keys
   * again for every session cost more than a signature. Keyed by the card's keys, so a re-enrolled
   * card with new keys is imported afresh.
   */
  private readonly peerCache = new Map<string, Peer>();

  constructor(
    private readonly d: ClusterDeps,
    private readonly name: string,
  ) {}

  /** This node's identity when already loaded (null while locked or before first use). */
  get current(): LocalIdentity | null {
    return this.me;
  }

  /** Drops the loaded identity (the vault locked or the node stopped). */
  forget(): void {
    this.me = null;
  }

  async identity(): Promise<LocalIdentity> {
    this.d.vault.keyRing();
    if (!this.me) {
      this.me = await LocalIdentity.load(this.d.vault, this.name);
      this.d.db
        .prepare(`INSERT INTO mpc_nodes (node_id, name, card, fingerprint, is_self, status, enrolled_at) VALUES (?, ?, ?, ?, 1, 'enrolled', ?) ON CONFLICT (node_id) DO UPDATE SET card = excluded.card, name = excluded.name`)
        .run(this.me.nodeId, this.me.card.name, JSON.stringify(this.me.card), this.me.fingerprint, isoNow(this.d.clock));
    }
    return this.me;
  }

  /** Enrols a peer after the operator compared its fingerprint words with the peer's own screen. */
  enrolPeer(card: NodeCard, confirmedFingerprint: string): NodeRecord {
    this.d.vault.keyRing();
    if (!verifyCard(card)) fail('PEER_CARD_INVALID', 'That node card is not self-consistent (its keys do not match its node id). Ask the peer for its card again.');
    // On every path (screen, command line, lab): never this node, never a removed node again.
    if (card.nodeId === this.d.vault.nodeId()) fail('PEER_IS_SELF', 'That is this node\'s own card. Import the card of the other node (from its screen or its node-card.json).');
    const removed = this.d.db.prepare('SELECT name, removed_at, request_id FROM mpc_removed_nodes WHERE node_id = ? OR signing_public_key = ?').get(card.nodeId, card.signingPublicKey) as { name: string; removed_at: string; request_id: string } | undefined;
    if (removed) {
      fail('PEER_REMOVED', `Node ${removed.name} (${card.nodeId}) was removed from this cluster on ${removed.removed_at.slice(0, 10)} with the guardians' approval; its card cannot be enrolled again. A replacement machine makes a new node card.`, { nodeId: card.nodeId, requestId: removed.request_id });
    }
    const fingerprint = cardFingerprint(card);
    if (fingerprint !== confirmedFingerprint.trim().toLowerCase()) {
      fail('FINGERPRINT_MISMATCH', 'The fingerprint you confirmed does not match this card. Do not enrol it: compare the words on both screens again.', { nodeId: card.nodeId });
    }
    this.d.db.transaction(() => {
      this.d.db
        .prepare(`INSERT INTO mpc_nodes (node_id, name, card, fingerprint, is_self, status, enrolled_at) VALUES (?, ?, ?, ?, 0, 'enrolled', ?) ON CONFLICT (node_id) DO UPDATE SET card = excluded.card, name = excluded.name`)
        .run(card.nodeId, card.name, JSON.stringify(card), fingerprint, isoNow(this.d.clock));
      this.d.audit.append({ type: 'PEER_ENROLLED', actor: 'operator', subject: card.nodeId, details: { name: card.name, fingerprint } });
    })();
    return this.node(card.nodeId)!;
  }

  node(nodeId: string): NodeRecord | null {
    const r = this.d.db.prepare('SELECT * FROM mpc_nodes WHERE node_id = ?').get(nodeId) as Row | undefined;
    return r ? toNode(r) : null;
  }

  nodes(): NodeRecord[] {
    return (this.d.db.prepare('SELECT * FROM mpc_nodes ORDER BY is_self DESC, enrolled_at').all() as Row[]).map(toNode);
  }

  /** Node ids this node has quarantined. */
  quarantined(): Set<string> {
    return new Set(this.nodes().filter((n) => n.status === 'quarantined').map((n) => n.nodeId));
  }

  private card(nodeId: string): NodeCard | null {
    const r = this.d.db.prepare('SELECT card FROM mpc_nodes WHERE node_id = ?').get(nodeId) as { card: string } | undefined;
    return r ? (JSON.parse(r.card) as NodeCard) : null;
  }

  quarantine(nodeId: string, reason: string, sessionId: string): void {
    this.d.db.transaction(() => {
      const n = this.d.db.prepare(`UPDATE mpc_nodes SET status = 'quarantined', quarantine_reason = ?, quarantined_at = ? WHERE node_id = ? AND is_self = 0 AND status = 'enrolled'`).run(reason, isoNow(this.d.clock), nodeId).changes;
      if (n > 0) this.d.audit.append({ type: 'PEER_QUARANTINED', actor: 'system', subject: nodeId, details: { reason, sessionId } });
    })();
  }

  release(nodeId: string): NodeRecord {
    this.d.vault.keyRing();
    const n = this.node(nodeId);
    if (!n || n.status !== 'quarantined') fail('PEER_NOT_QUARANTINED', `Node ${nodeId} is not quarantined.`, { nodeId });
    this.d.db.transaction(() => {
      this.d.db.prepare(`UPDATE mpc_nodes SET status = 'enrolled', quarantine_reason = NULL, quarantined_at = NULL WHERE node_id = ?`).run(nodeId);
      this.d.audit.append({ type: 'PEER_RELEASED', actor: 'operator', subject: nodeId, details: { previousReason: n.quarantineReason } });
    })();
    return this.node(nodeId)!;
  }

  /** The transport keys of every other party of a session; unknown or quarantined parties are refused. */
  async peersFor(info: SessionInfo, me: LocalIdentity): Promise<Map<string, Peer>> {
    const peers = new Map<string, Peer>();
    for (const p of info.parties) {
      if (p.nodeId === me.nodeId) continue;
      const node = this.node(p.nodeId);
      const card = this.card(p.nodeId);
      if (!node || !card) throw new ClusterError({ errorClass: 'permanent', code: 'UNKNOWN_PEER', reason: `Node ${p.nodeId} is not enrolled on this node.`, blamedNode: p.nodeId });
      if (node.status === 'quarantined') throw new ClusterError({ errorClass: 'permanent', code: 'PEER_QUARANTINED', reason: `Node ${p.nodeId} is quarantined on this node.`, blamedNode: p.nodeId });
      peers.set(p.nodeId, await this.peerKeys(card));
    }
    return peers;
  }

  private async peerKeys(card: NodeCard): Promise<Peer> {
    const key = `${card.nodeId}/${card.signingPublicKey}/${card.hpkePublicKey}`;
    let peer = this.peerCache.get(key);
    if (!peer) {
      peer = await peerFromCard(card);
      this.peerCache.set(key, peer);
    }
    return peer;
  }

  /** Ed25519 key of this node or of an enrolled, non-quarantined peer. */
  nodeKey(nodeId: string): KeyObject | null {
    const node = this.node(nodeId);
    const card = this.card(nodeId);
    if (!node || !card || node.status !== 'enrolled') return null;
    return ed25519PublicKey(Buffer.from(card.signingPublicKey, 'hex'));
  }

  /** This node and its enrolled, non-quarantined peers, numbered in enrolment order. */
  members(): Participant[] {
    const me = this.me!;
    const peers = this.nodes().filter((n) => !n.isSelf && n.status === 'enrolled');
    return [me.nodeId, ...peers.map((p) => p.nodeId)].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
  }
}

function toNode(r: Row): NodeRecord {
  return { nodeId: String(r.node_id), name: String(r.name), fingerprint: String(r.fingerprint), isSelf: r.is_self === 1, status: r.status as NodeRecord['status'], quarantineReason: (r.quarantine_reason as string | null) ?? null };
}
