/**
 * Who is who in one session: node id ↔ party index, and this node's index. Both session runners
 * start here, so a session naming a node that is not an enrolled peer is refused the same way
 * (a typed UNKNOWN_PEER) before anything is sealed to it.
 */
import type { SessionInfo } from '../coordinator/protocol';
import type { Peer } from './envelope';
import { ClusterError } from './errors';

export interface SessionParticipants {
  myParty: number;
  partyByNode: ReadonlyMap<string, number>;
  nodeByParty: ReadonlyMap<number, string>;
}

export function sessionParticipants(info: SessionInfo, myNodeId: string, peers: ReadonlyMap<string, Peer>): SessionParticipants {
  const partyByNode = new Map<string, number>();
  const nodeByParty = new Map<number, string>();
  for (const p of info.parties) {
    partyByNode.set(p.nodeId, p.partyIndex);
    nodeByParty.set(p.partyIndex, p.nodeId);
  }
  const myParty = partyByNode.get(myNodeId);
  if (myParty === undefined) throw new ClusterError({ errorClass: 'permanent', code: 'NOT_A_PARTICIPANT', reason: 'This node is not a participant of the session.' });
  for (const p of info.parties) {
    if (p.nodeId !== myNodeId && !peers.has(p.nodeId)) {
      throw new ClusterError({ errorClass: 'permanent', code: 'UNKNOWN_PEER', reason: `Node ${p.nodeId} is not an enrolled peer of this node.`, blamedNode: p.nodeId });
    }
  }
  return { myParty, partyByNode, nodeByParty };
}
