/**
 * The HPKE layer binds the envelope context on its own, beside the signature: a sender that signs
 * a new context over a ciphertext sealed for another one (another round, session or sequence)
 * produces an envelope that does not decrypt, refused as UNDECRYPTABLE and blamed on that sender.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { EnvelopeError, EnvelopeOpener, peerFromCard, sealEnvelope, type Peer, type WireEnvelope } from '../../main/cluster/envelope';
import { LocalIdentity } from '../../main/cluster/identity';
import { transcript } from '../../main/cluster/keys';
import { GOOD_PASSPHRASE, testServices } from '../support/services';

/** The bytes a sender signs for an envelope, as the wire format defines them. */
function resign(sender: LocalIdentity, env: WireEnvelope): WireEnvelope {
  const signed = transcript('vaultkeeper/mpc-envelope/v1/signature', env.sid, env.protocol, env.round, env.seq, env.from, env.to, env.enc, env.ct);
  return { ...env, sig: sender.sign(signed).toString('base64') };
}

describe('HPKE context binding of node-to-node envelopes', () => {
  const services: Array<ReturnType<typeof testServices>> = [];
  let alice: LocalIdentity;
  let bob: LocalIdentity;
  let bobAsPeer: Peer;
  let peersOfBob: Map<string, Peer>;
  const sid = randomBytes(32).toString('hex');

  before(async () => {
    const ids: LocalIdentity[] = [];
    for (const name of ['alice', 'bob']) {
      const s = testServices();
      services.push(s);
      await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      ids.push(await LocalIdentity.load(s.vault, name));
    }
    [alice, bob] = ids as [LocalIdentity, LocalIdentity];
    bobAsPeer = await peerFromCard(bob.card);
    peersOfBob = new Map([[alice.nodeId, await peerFromCard(alice.card)]]);
  });
  after(async () => {
    for (const s of services) await s.cleanup();
  });

  const undecryptable = (e: unknown) => {
    assert.ok(e instanceof EnvelopeError, String(e));
    assert.equal(e.code, 'UNDECRYPTABLE');
    assert.equal(e.attributable, true);
    assert.equal(e.sender, alice.nodeId);
    assert.match(e.message, /does not decrypt for this node/);
    return true;
  };

  it('a validly re-signed envelope opens when the context is unchanged (control)', async () => {
    const env = await sealEnvelope(alice, bobAsPeer, { sid, protocol: 'eddsa-sign', round: 1, seq: 0 }, Buffer.from('round one'));
    const opened = await new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob).open(resign(alice, env));
    assert.equal(opened.plaintext.toString(), 'round one');
  });

  for (const [what, change] of [
    ['another round', { round: 2 }],
    ['another sequence number', { seq: 7 }],
  ] as const) {
    it(`refuses as UNDECRYPTABLE a ciphertext sealed for one context and signed for ${what}`, async () => {
      const env = await sealEnvelope(alice, bobAsPeer, { sid, protocol: 'eddsa-sign', round: 1, seq: 0 }, Buffer.from('round one'));
      const moved = resign(alice, { ...env, ...change });
      await assert.rejects(new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob).open(moved), undecryptable);
    });
  }

  it('refuses as UNDECRYPTABLE a ciphertext from another session signed for this one', async () => {
    const otherSid = randomBytes(32).toString('hex');
    const env = await sealEnvelope(alice, bobAsPeer, { sid: otherSid, protocol: 'eddsa-sign', round: 1, seq: 0 }, Buffer.from('other session'));
    const moved = resign(alice, { ...env, sid });
    await assert.rejects(new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob).open(moved), undecryptable);
  });
});
