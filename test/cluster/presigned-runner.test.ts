/**
 * The one-round presigned online step, between two real node identities with a stand-in engine:
 * a peer's partial that arrives while this node is still sealing its own must not end the run
 * here before the peer has ours (the peer would wait until the deadline and the permit would be
 * spent for nothing: found with headless signer nodes, where the peer is often the faster one).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SessionInfo } from '../../main/coordinator/protocol';
import { peerFromCard, sealEnvelope, type Peer, type WireEnvelope } from '../../main/cluster/envelope';
import { LocalIdentity } from '../../main/cluster/identity';
import { PresignedSignRunner } from '../../main/cluster/presigned-runner';
import type { MpcSigner } from '../../main/mpc/index';
import { GOOD_PASSPHRASE, testServices } from '../support/services';

/** Stands in for the engine: a partial names its party; combining checks both are there, in party order. */
const engine = (party: number) =>
  ({
    issuePartialSignature: () => Buffer.from(`partial-${party}`),
    combinePartialSignatures: (partials: Buffer[]) => {
      assert.deepEqual(partials.map(String), ['partial-0', 'partial-2']);
      return { signature: Buffer.alloc(64, 7), recoveryId: 0, publicKey: Buffer.alloc(33, 2), address: '0x0000000000000000000000000000000000000001' };
    },
  }) as unknown as MpcSigner;

describe('presigned signing runner', () => {
  const services: Array<ReturnType<typeof testServices>> = [];
  let alice: LocalIdentity;
  let carol: LocalIdentity;
  let info: SessionInfo;

  before(async () => {
    const ids: LocalIdentity[] = [];
    for (const name of ['alice', 'carol']) {
      const s = testServices();
      services.push(s);
      await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      ids.push(await LocalIdentity.load(s.vault, name));
    }
    [alice, carol] = ids as [LocalIdentity, LocalIdentity];
    info = {
      sessionId: randomBytes(32).toString('hex'), protocol: 'ecdsa-sign-presigned', keysetId: 'ks-test', threshold: 2, requester: alice.nodeId,
      parties: [{ nodeId: alice.nodeId, partyIndex: 0 }, { nodeId: carol.nodeId, partyIndex: 2 }],
      message: Buffer.from('preimage').toString('hex'), presignatureId: randomBytes(32).toString('hex'),
    } as SessionInfo;
  });
  after(async () => {
    for (const s of services) await s.cleanup();
  });

  it("sends its own partial even when the peer's arrived (and would complete the signature) while it was sealing", async () => {
    const carolPeer: Peer = await peerFromCard(carol.card);
    const sent: Array<{ to: string; envelope: WireEnvelope }> = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const runner = new PresignedSignRunner({
      me: alice, info, peers: new Map([[carol.nodeId, carolPeer]]), signer: engine(0),
      transport: { send: (to, envelope) => sent.push({ to, envelope }) },
      share: Buffer.alloc(32), consume: () => ({ presignature: Buffer.alloc(32, 1), publicData: Buffer.alloc(32, 3) }),
      seal: async (...args) => {
        await held;
        return sealEnvelope(...args);
      },
    });
    const result = runner.start();
    // Carol was faster: her partial reaches Alice while Alice's is still being sealed.
    runner.deliver(await sealEnvelope(carol, await peerFromCard(alice.card), { sid: info.sessionId, protocol: info.protocol, round: 1, seq: 0 }, Buffer.from('partial-2')));
    const early = await Promise.race([result.then(() => 'combined'), new Promise((r) => setTimeout(() => r('waiting'), 1_500))]);
    assert.equal(early, 'waiting', 'no signature is combined before this node has sent its own partial');
    release();
    const out = await result;
    assert.equal(out.signature?.length, 64);
    assert.equal(sent.length, 1, 'the partial went to the other quorum party');
    assert.equal(sent[0]!.to, carol.nodeId);
  });
});
