/**
 * Replacing a lost node's share of an EdDSA keyset (share repair), at one node — a helper that
 * holds a share, or the new machine that receives the lost index's share. Each decides for itself:
 *
 * - a helper joins only for an EdDSA keyset it holds at the request's share epoch, where the lost
 *   index is held by the node the request names, the new node is enrolled here as that node's
 *   replacement (the guarded peer replacement), every other share holder helps, and the group key
 *   and the lost index's public share are its own record's; and only with two of its own
 *   guardians' approval of exactly those terms;
 * - the new node joins only as the replacement named, for a keyset it does not hold, with two of
 *   its own guardians' approval; its engine accepts the rebuilt share only if it matches the
 *   approved public share of its index under the approved group key, and it installs the share
 *   only when every party finished. Otherwise nothing is written.
 *
 * ECDSA keysets are refused: the threshold-ECDSA engine (cggmp24) has no audited repair or
 * re-sharing, so a lost ECDSA share comes back only from its backup (native/README.md).
 */
import type { SessionInfo, SignedSessionRequest } from '../coordinator/protocol';
import type { MpcSigner, SessionResult } from '../mpc/index';
import { eddsaAddress, repairParameters, verifyRepairApproval } from '../repair/repair-approval';
import type { ClusterDeps } from './deps';
import { isoNow } from './deps';
import { ClusterError } from './errors';
import { installRestoredKeyset } from './keyset-install';
import type { KeysetRecord, Keysets } from './keysets';
import type { Membership } from './membership';
import type { PeerRoster } from './peer-roster';
import { RequestRefusal } from './session-request';

export const ECDSA_REPAIR_REFUSAL = (keysetId: string) =>
  `Keyset ${keysetId} is ECDSA: its lost share cannot be rebuilt by the other nodes, because the threshold-ECDSA engine has no audited share repair or re-sharing. Restore the lost node's share from its backup onto the new machine instead (Backups → Restore, with two guardians); nothing was changed.`;

export interface ShareRepairDeps extends ClusterDeps {
  keysets: Keysets;
  membership: Membership;
  roster: PeerRoster;
  signer: () => MpcSigner;
  /** Addresses of the guardians enrolled on this node now (null: no registry to check against). */
  guardianAddresses: () => string[] | null;
}

export class ShareRepairs {
  constructor(private readonly d: ShareRepairDeps) {}

  /** True when this node is the one receiving the rebuilt share in that session. */
  isReceiver(info: SessionInfo, me: string): boolean {
    return info.protocol === 'eddsa-repair' && info.repair?.newNode === me;
  }

  /**
   * Every repair-specific check of a verified request (its signature, cluster, deadline and party
   * list are checked before). Returns the keyset for a helper, null for the receiver.
   */
  checkRequest(request: SignedSessionRequest): KeysetRecord | null {
    const b = request.body;
    const r = b.repair!;
    const me = this.d.membership.current?.nodeId;
    const target = b.parties.find((p) => p.partyIndex === r.partyIndex);
    if (!me || !target || target.nodeId !== r.newNode) {
      throw new RequestRefusal('REPAIR_WRONG_NODE', `The repair request must list the new node ${r.newNode.slice(0, 8)}… as party ${r.partyIndex}; it does not. Nothing was sent.`);
    }
    const guardians = this.d.guardianAddresses();
    if (!guardians) throw new RequestRefusal('REPAIR_APPROVAL_INVALID', 'This node has no guardian registry, so it cannot check the approval of a share repair and takes part in none. Nothing was sent.');
    const helpers = b.parties.filter((p) => p.partyIndex !== r.partyIndex);
    const terms = { keysetId: b.keysetId, clusterId: b.clusterId, partyIndex: r.partyIndex, lostNode: r.lostNode, newNode: r.newNode, helpers, fromEpoch: b.shareEpoch ?? 0, requesterNode: b.requester };
    const proof = r.approval;
    if (me === r.newNode) {
      if (this.d.keysets.get(b.keysetId)) throw new RequestRefusal('REPAIR_KEYSET_EXISTS', `This node already holds keyset ${b.keysetId}; a repair only gives a share to a node that has none. Nothing was changed.`);
      // The receiver has no record yet: it checks that its own guardians approved exactly what the request says.
      verifyRepairApproval({ proof, keysetId: b.keysetId, parameters: repairParameters({ ...terms, publicKey: r.publicKey, publicShare: r.publicShare }), guardians, now: this.d.clock.now() });
      return null;
    }
    const keyset = this.d.keysets.get(b.keysetId);
    if (!keyset || keyset.status !== 'active') throw new RequestRefusal('KEYSET_NOT_FOUND', `The repair request is for keyset ${b.keysetId}, which this node does not hold.`);
    if (keyset.scheme === 'ecdsa') throw new RequestRefusal('REPAIR_NOT_FOR_ECDSA', ECDSA_REPAIR_REFUSAL(keyset.keysetId));
    if (keyset.clusterId !== b.clusterId || b.threshold !== keyset.threshold) {
      throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', `The repair request does not match keyset ${b.keysetId} on this node (cluster or threshold).`);
    }
    const lost = keyset.participants.find((p) => p.partyIndex === r.partyIndex);
    // The new node already at the index: this node saw an earlier repair end, which the new node
    // may not have stored; it refuses by itself if it holds the share.
    if (!lost || (lost.nodeId !== r.lostNode && lost.nodeId !== r.newNode) || lost.nodeId === me || r.lostNode === me) {
      throw new RequestRefusal('REPAIR_WRONG_NODE', `On this node party ${r.partyIndex} of keyset ${b.keysetId} is ${lost ? `node ${lost.nodeId.slice(0, 8)}…` : 'nobody'}, not the lost node ${r.lostNode.slice(0, 8)}… the request names. Nothing was sent.`);
    }
    // Every other share holder helps, each at its own index: the new node then knows the whole keyset.
    const others = keyset.participants.filter((p) => p.partyIndex !== r.partyIndex);
    if (helpers.length !== others.length || others.some((o) => !helpers.some((h) => h.nodeId === o.nodeId && h.partyIndex === o.partyIndex))) {
      throw new RequestRefusal('SESSION_REQUEST_WRONG_PARTIES', `A repair of keyset ${b.keysetId} needs every other share holder at its own index; the request's parties do not match this node's record. Nothing was sent.`);
    }
    const replaced = this.d.roster.removed().find((x) => x.nodeId === r.lostNode);
    if (this.d.membership.node(r.newNode)?.status !== 'enrolled' || replaced?.replacedBy !== r.newNode) {
      throw new RequestRefusal('REPAIR_NOT_REPLACEMENT', `Node ${r.newNode.slice(0, 8)}… is not enrolled on this node as the replacement of the lost node ${r.lostNode.slice(0, 8)}…. Replace the lost node by the new machine's card first (Cluster → Peers → Replace, with two guardians); nothing was sent.`);
    }
    if ((b.shareEpoch ?? 0) !== keyset.shareEpoch) {
      throw new RequestRefusal('SHARE_EPOCH_MISMATCH', `The repair request is for share epoch ${b.shareEpoch ?? 0} of keyset ${b.keysetId}; this node holds epoch ${keyset.shareEpoch}. Nothing was sent.`);
    }
    if (keyset.publicKey !== r.publicKey || r.publicShare !== this.publicShareOf(keyset, r.partyIndex)) {
      throw new RequestRefusal('REPAIR_WRONG_NODE', `The repair request names another group key or public share for party ${r.partyIndex} than keyset ${b.keysetId} has on this node. Nothing was sent.`);
    }
    verifyRepairApproval({ proof, keysetId: keyset.keysetId, parameters: this.parameters(keyset, { ...terms, publicShare: r.publicShare }), guardians, now: this.d.clock.now() });
    return keyset;
  }

  /** The parameters the guardians approve, from this node's record of the keyset. */
  parameters(keyset: KeysetRecord, t: { partyIndex: number; lostNode: string; newNode: string; helpers: { nodeId: string; partyIndex: number }[]; requesterNode: string; publicShare: string }): Record<string, unknown> {
    return repairParameters({ keysetId: keyset.keysetId, clusterId: keyset.clusterId, publicKey: keyset.publicKey ?? '', fromEpoch: keyset.shareEpoch, ...t });
  }

  /** The public share of `partyIndex` in this node's own share of the keyset (hex). */
  publicShareOf(keyset: KeysetRecord, partyIndex: number): string {
    const share = this.d.keysets.share(keyset.keysetId);
    if (!share) return '';
    try {
      return this.d.signer().groupPublicShares(share)[partyIndex]?.toString('hex') ?? '';
    } finally {
      share.fill(0);
    }
  }

  /**
   * The session ended. Only when every party finished: the receiver installs the rebuilt share
   * (checked once more against the approved public share), a helper records the new node at the
   * lost index. Anything else changes nothing.
   */
  sessionEnded(info: SessionInfo, me: string, completed: boolean, pending: SessionResult | undefined): void {
    const r = info.repair;
    if (!r || !completed) return;
    if (me === r.newNode) {
      try {
        return this.install(info, pending);
      } catch (error) {
        const reason = error instanceof ClusterError ? error.reason : 'The rebuilt share could not be stored.';
        this.d.audit.append({ type: 'KEYSET_SHARE_REPAIR_REFUSED', actor: 'system', subject: info.keysetId, details: { sessionId: info.sessionId, partyIndex: r.partyIndex, reason } });
        return;
      }
    }
    const keyset = this.d.keysets.get(info.keysetId);
    if (!keyset || !keyset.participants.some((p) => p.nodeId === r.lostNode && p.partyIndex === r.partyIndex)) return;
    const participants = keyset.participants.map((p) => (p.partyIndex === r.partyIndex ? { nodeId: r.newNode, partyIndex: p.partyIndex } : p));
    this.d.db.transaction(() => {
      this.d.db.prepare('UPDATE mpc_keysets SET participants = ? WHERE keyset_id = ?').run(JSON.stringify(participants), keyset.keysetId);
      this.d.audit.append({ type: 'KEYSET_SHARE_REPAIRED', actor: 'system', subject: keyset.keysetId, details: { sessionId: info.sessionId, partyIndex: r.partyIndex, lostNode: r.lostNode, newNode: r.newNode, address: keyset.address, role: 'helper' } });
    })();
  }

  private install(info: SessionInfo, pending: SessionResult | undefined): void {
    const r = info.repair!;
    const share = pending?.share;
    if (!share) throw new ClusterError({ errorClass: 'permanent', code: 'REPAIR_SHARE_MISMATCH', reason: 'The repair ended without a share at this node; nothing was stored.' });
    const facts = this.d.signer().shareInfo(share);
    if (facts.publicKey.toString('hex') !== r.publicKey || facts.publicShare.toString('hex') !== r.publicShare || facts.partyIndex !== r.partyIndex) {
      throw new ClusterError({ errorClass: 'permanent', code: 'REPAIR_SHARE_MISMATCH', reason: `The rebuilt share does not match the approved public share of party ${r.partyIndex}; it was not stored.` });
    }
    this.d.db.transaction(() => {
    installRestoredKeyset(this.d.db, this.d.vault, {
      keysetId: info.keysetId,
      clusterId: info.clusterId,
      scheme: 'eddsa',
      threshold: info.threshold,
      participants: info.parties,
      myPartyIndex: r.partyIndex,
      publicKey: r.publicKey,
      address: eddsaAddress(r.publicKey),
      source: `repair:${info.sessionId}`,
      shareEpoch: info.shareEpoch ?? 0,
    }, share, isoNow(this.d.clock));
    this.d.audit.append({ type: 'KEYSET_SHARE_REPAIRED', actor: 'system', subject: info.keysetId, details: { sessionId: info.sessionId, partyIndex: r.partyIndex, lostNode: r.lostNode, newNode: r.newNode, address: eddsaAddress(r.publicKey), role: 'receiver' } });
    })();
  }
}
