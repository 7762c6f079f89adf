import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionInfo } from '../../main/coordinator/protocol';
import type { Peer } from '../../main/cluster/envelope';
import { ClusterError } from '../../main/cluster/errors';
import { sessionParticipants } from '../../main/cluster/participants';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const info = { parties: [{ nodeId: A, partyIndex: 0 }, { nodeId: C, partyIndex: 2 }] } as unknown as SessionInfo;
const peers = (ids: string[]) => new Map(ids.map((id) => [id, {} as Peer]));

describe('session participants', () => {
  it('maps node ids and party indexes and finds this node', () => {
    const p = sessionParticipants(info, A, peers([B, C]));
    assert.equal(p.myParty, 0);
    assert.equal(p.partyByNode.get(C), 2);
    assert.equal(p.nodeByParty.get(2), C);
  });

  it('refuses a session naming a node that is not an enrolled peer, blaming it', () => {
    assert.throws(
      () => sessionParticipants(info, A, peers([B])),
      (e: unknown) => e instanceof ClusterError && e.code === 'UNKNOWN_PEER' && e.errorClass === 'permanent' && e.blamedNode === C,
    );
  });

  it('refuses a session this node is not part of', () => {
    assert.throws(() => sessionParticipants(info, B, peers([A, C])), (e: unknown) => e instanceof ClusterError && e.code === 'NOT_A_PARTICIPANT');
  });
});
