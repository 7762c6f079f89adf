import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { EnvelopeError, EnvelopeOpener, peerFromCard, sealEnvelope, type Peer, type WireEnvelope } from '../../main/cluster/envelope';
import { LocalIdentity, verifyCard } from '../../main/cluster/identity';
import { GOOD_PASSPHRASE, testServices } from '../support/services';

type S = ReturnType<typeof testServices>;

describe('node-to-node envelopes', () => {
  const services: S[] = [];
  let alice: LocalIdentity;
  let bob: LocalIdentity;
  let carol: LocalIdentity;
  let bobAsPeer: Peer;
  let peersOfBob: Map<string, Peer>;
  const sid = randomBytes(32).toString('hex');

  before(async () => {
    const ids: LocalIdentity[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const s = testServices();
      services.push(s);
      await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      ids.push(await LocalIdentity.load(s.vault, name));
    }
    [alice, bob, carol] = ids as [LocalIdentity, LocalIdentity, LocalIdentity];
    bobAsPeer = await peerFromCard(bob.card);
    peersOfBob = new Map([
      [alice.nodeId, await peerFromCard(alice.card)],
      [carol.nodeId, await peerFromCard(carol.card)],
    ]);
  });
  after(async () => {
    for (const s of services) await s.cleanup();
  });

  const refused = async (p: Promise<unknown>, code: string, attributable: boolean, sender: string) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof EnvelopeError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.attributable, attributable);
      assert.equal(e.sender, sender);
      assert.match(e.message, new RegExp(sender));
      return true;
    });
  };

  it('cards are self-consistent and the HPKE key survives a lock/unlock (sealed in the vault)', async () => {
    assert.ok(verifyCard(alice.card));
    const forged = { ...alice.card, hpkePublicKey: bob.card.hpkePublicKey };
    assert.equal(verifyCard(forged), false);
    await services[0]!.vault.lock();
    await services[0]!.vault.unlock(GOOD_PASSPHRASE);
    const again = await LocalIdentity.load(services[0]!.vault, 'alice');
    assert.deepEqual(again.card, alice.card);
  });

  it('round-trips, and the relay sees only ciphertext', async () => {
    const secret = Buffer.from('mpc round 1 payload');
    const env = await sealEnvelope(alice, bobAsPeer, { sid, protocol: 'eddsa-sign', round: 1, seq: 0 }, secret);
    assert.ok(!JSON.stringify(env).includes(secret.toString('base64')));
    const opener = new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob);
    const opened = await opener.open(env);
    assert.equal(opened.from, alice.nodeId);
    assert.deepEqual(opened.plaintext, secret);
  });

  it('refuses tampering (blaming the sender), replays, wrong session and wrong recipient', async () => {
    const env = await sealEnvelope(alice, bobAsPeer, { sid, protocol: 'eddsa-sign', round: 1, seq: 0 }, Buffer.from('x'));
    const flipped = Buffer.from(env.ct, 'base64');
    flipped[0]! ^= 1;
    const tampered: WireEnvelope = { ...env, ct: flipped.toString('base64') };
    await refused(new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob).open(tampered), 'BAD_SIGNATURE', false, alice.nodeId);
    await refused(new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob).open({ ...env, round: 2 }), 'BAD_SIGNATURE', false, alice.nodeId);

    const opener = new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob);
    await opener.open(env);
    await refused(opener.open(env), 'REPLAYED_ENVELOPE', false, alice.nodeId);

    const otherSession = new EnvelopeOpener(bob, randomBytes(32).toString('hex'), 'eddsa-sign', peersOfBob);
    await refused(otherSession.open(env), 'WRONG_SESSION', false, alice.nodeId);
    await refused(new EnvelopeOpener(carol, sid, 'eddsa-sign', new Map([[alice.nodeId, peersOfBob.get(alice.nodeId)!]])).open(env), 'WRONG_RECIPIENT', false, alice.nodeId);
    await refused(new EnvelopeOpener(bob, sid, 'eddsa-sign', new Map()).open(env), 'UNKNOWN_SENDER', false, alice.nodeId);
    // Re-addressing to carol breaks the signature; so does claiming carol sent it.
    await refused(new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob).open({ ...env, from: carol.nodeId }), 'BAD_SIGNATURE', false, carol.nodeId);
  });
});
