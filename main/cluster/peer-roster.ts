/**
 * Changes to who is in the cluster, as an operator makes them: enrolling a peer from its card file
 * once the fingerprint words are confirmed, and removing or replacing a peer under a guardian
 * quorum. A removed node stays on a list, so its card cannot come back (replayed from an old file)
 * — a replacement machine makes a new identity and is enrolled as a new node.
 */
import { fail } from '../errors';
import type { OperationGuard } from '../guardians/guard';
import type { ClusterDeps } from './deps';
import { isoNow } from './deps';
import { normalizeWords, parseNodeCardFile, type NodeCardFile } from './card-file';
import type { Membership, NodeRecord } from './membership';

export interface RemovedPeer {
  nodeId: string;
  name: string;
  removedAt: string;
  requestId: string;
  replacedBy: string | null;
}

export class PeerRoster {
  constructor(
    private readonly d: ClusterDeps,
    private readonly membership: Membership,
  ) {}

  /**
   * Reads a peer's card file and says what enrolling it would do, without changing anything: the
   * screen shows the card and asks for the words. Refuses this node's own card, a card already
   * enrolled and a removed node's card.
   */
  async inspect(text: string | Buffer): Promise<NodeCardFile> {
    this.d.vault.keyRing();
    const file = parseNodeCardFile(text);
    await this.refuseKnown(file);
    return file;
  }

  /** Enrols the card once the words the operator confirmed are the card's words. */
  async enrol(text: string | Buffer, confirmedWords: string): Promise<NodeRecord> {
    const file = await this.inspect(text);
    return this.membership.enrolPeer(file.card, normalizeWords(confirmedWords));
  }

  private async refuseKnown(file: NodeCardFile): Promise<void> {
    const me = await this.membership.identity();
    if (file.card.nodeId === me.nodeId) fail('PEER_IS_SELF', 'That is this node\'s own card. Import the card of the other node (from its screen or its node-card.json).');
    const known = this.membership.node(file.card.nodeId);
    if (known) fail('PEER_ALREADY_ENROLLED', `Node ${known.name} (${known.nodeId}) is already enrolled on this node; nothing was changed. To change its card, replace it (needs the guardians).`, { nodeId: known.nodeId });
  }

  removed(): RemovedPeer[] {
    return (this.d.db.prepare('SELECT node_id, name, removed_at, request_id, replaced_by FROM mpc_removed_nodes ORDER BY removed_at').all() as Array<Record<string, string | null>>).map((r) => ({
      nodeId: String(r.node_id),
      name: String(r.name),
      removedAt: String(r.removed_at),
      requestId: String(r.request_id),
      replacedBy: r.replaced_by ?? null,
    }));
  }

  /** What a guardian request to remove `nodeId` carries (and the guard checks again at removal). */
  removeParameters(nodeId: string): Record<string, string> {
    const peer = this.requirePeer(nodeId);
    return { nodeId: peer.nodeId, name: peer.name, fingerprint: peer.fingerprint };
  }

  /** What a guardian request to replace `nodeId` by the card in `text` carries. */
  async replaceParameters(nodeId: string, text: string | Buffer, confirmedWords: string): Promise<Record<string, string>> {
    const old = this.requirePeer(nodeId);
    const file = await this.inspect(text);
    if (normalizeWords(confirmedWords) !== file.fingerprint) fail('FINGERPRINT_MISMATCH', 'The fingerprint you confirmed does not match this card. Do not enrol it: compare the words on both screens again.', { nodeId: file.card.nodeId });
    return { nodeId: old.nodeId, name: old.name, fingerprint: old.fingerprint, newNodeId: file.card.nodeId, newName: file.card.name, newFingerprint: file.fingerprint };
  }

  /** Removes a peer under an approved guardian request; the request is consumed with the change. */
  remove(nodeId: string, requestId: string, guard: OperationGuard): RemovedPeer {
    this.d.vault.keyRing();
    const parameters = this.removeParameters(nodeId);
    guard.checkApproval('cluster.peer.remove', nodeId, parameters, requestId);
    this.d.db.transaction(() => {
      const { approvers } = guard.requireApproval('cluster.peer.remove', nodeId, parameters, requestId);
      this.retire(nodeId, requestId, null);
      this.d.audit.append({ type: 'PEER_REMOVED', actor: 'operator', subject: nodeId, details: { name: parameters.name!, fingerprint: parameters.fingerprint!, requestId, approvers } });
    })();
    return this.removed().find((r) => r.nodeId === nodeId)!;
  }

  /** Replaces a peer by a new node's card (words confirmed) under an approved guardian request, in one step. */
  async replace(nodeId: string, text: string | Buffer, confirmedWords: string, requestId: string, guard: OperationGuard): Promise<NodeRecord> {
    this.d.vault.keyRing();
    const parameters = await this.replaceParameters(nodeId, text, confirmedWords);
    const file = parseNodeCardFile(text);
    guard.checkApproval('cluster.peer.replace', nodeId, parameters, requestId);
    this.d.db.transaction(() => {
      const { approvers } = guard.requireApproval('cluster.peer.replace', nodeId, parameters, requestId);
      this.retire(nodeId, requestId, file.card.nodeId);
      this.membership.enrolPeer(file.card, file.fingerprint);
      this.d.audit.append({ type: 'PEER_REPLACED', actor: 'operator', subject: nodeId, details: { name: parameters.name!, newNodeId: file.card.nodeId, newFingerprint: file.fingerprint, requestId, approvers } });
    })();
    return this.membership.node(file.card.nodeId)!;
  }

  private retire(nodeId: string, requestId: string, replacedBy: string | null): void {
    const row = this.d.db.prepare('SELECT name, card FROM mpc_nodes WHERE node_id = ? AND is_self = 0').get(nodeId) as { name: string; card: string } | undefined;
    if (!row) fail('PEER_NOT_FOUND', `Node ${nodeId} is not a peer of this node.`, { nodeId });
    const key = (JSON.parse(row.card) as { signingPublicKey: string }).signingPublicKey;
    this.d.db.prepare('INSERT INTO mpc_removed_nodes (node_id, signing_public_key, name, removed_at, request_id, replaced_by) VALUES (?, ?, ?, ?, ?, ?)').run(nodeId, key, row.name, isoNow(this.d.clock), requestId, replacedBy);
    this.d.db.prepare('DELETE FROM mpc_nodes WHERE node_id = ?').run(nodeId);
  }

  private requirePeer(nodeId: string): NodeRecord {
    this.d.vault.keyRing();
    const peer = this.membership.node(nodeId);
    if (!peer || peer.isSelf) fail('PEER_NOT_FOUND', `Node ${nodeId} is not a peer of this node.`, { nodeId });
    return peer;
  }
}
