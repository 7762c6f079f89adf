/**
 * The HPKE layer binds the envelope context on its own, beside the signature: a sender that signs
 * a new context over a ciphertext sealed for another one (another round, session or sequence)
 * produces an envelope that does not decrypt, refused as UNDECRYPTABLE and blamed on that sender.
 * Also the refusals at the edges of the wire format, and what an accepted envelope reports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { EnvelopeError, EnvelopeOpener, MAX_ENVELOPE_CIPHERTEXT, peerFromCard, sealEnvelope, type Peer, type WireEnvelope } from '../../main/cluster/envelope';
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

  const refusedAs = (code: string, attributable: boolean, sender: string) => (e: unknown) => {
    assert.ok(e instanceof EnvelopeError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.attributable, attributable);
    assert.equal(e.sender, sender);
    return true;
  };
  const opener = () => new EnvelopeOpener(bob, sid, 'eddsa-sign', peersOfBob);
  const sealed = (seq = 0, round = 1) => sealEnvelope(alice, bobAsPeer, { sid, protocol: 'eddsa-sign', round, seq }, Buffer.from(`payload ${seq}`));

  it('reports sender, round, sequence and plaintext of an accepted envelope', async () => {
    const opened = await opener().open(await sealed(4, 3));
    assert.deepEqual({ ...opened, plaintext: opened.plaintext.toString() }, { from: alice.nodeId, round: 3, seq: 4, plaintext: 'payload 4' });
  });

  it('refuses malformed envelopes without blaming anyone it cannot prove sent them', async () => {
    const env = await sealed();
    const malformed: unknown[] = [
      null,
      'envelope',
      { ...env, v: 2 },
      { ...env, extra: 1 },
      { ...env, sid: 'ab' },
      { ...env, protocol: 'EdDSA_sign' },
      { ...env, round: -1 },
      { ...env, seq: 1.5 },
      { ...env, to: 'B'.repeat(32) },
      { ...env, enc: '*'.repeat(10) },
      { ...env, sig: 'A'.repeat(200) },
      { ...env, ct: 'A'.repeat(Math.ceil((MAX_ENVELOPE_CIPHERTEXT * 4) / 3) + 8) },
    ];
    for (const raw of malformed) {
      const claimed = typeof (raw as { from?: unknown })?.from === 'string' ? alice.nodeId : '';
      await assert.rejects(opener().open(raw), refusedAs('MALFORMED_ENVELOPE', false, claimed), JSON.stringify(raw)?.slice(0, 80));
    }
    // A claimed sender longer than a node id is cut to one in the refusal.
    await assert.rejects(opener().open({ ...env, from: `${alice.nodeId}ffff` }), refusedAs('MALFORMED_ENVELOPE', false, alice.nodeId));
    await assert.rejects(opener().open({ ...env, from: 7 }), refusedAs('MALFORMED_ENVELOPE', false, ''));
  });

  it('refuses session ids and protocols with anything around the allowed characters as malformed', async () => {
    const env = await sealed();
    for (const raw of [{ ...env, sid: `x${env.sid}` }, { ...env, sid: `${env.sid}x` }, { ...env, protocol: 'eddsa-sign!' }, { ...env, protocol: '!eddsa-sign' }]) {
      await assert.rejects(opener().open(raw), refusedAs('MALFORMED_ENVELOPE', false, alice.nodeId), JSON.stringify(raw).slice(0, 80));
    }
  });

  it('parses a ciphertext of the largest allowed size (4 MiB) and checks its signature', async () => {
    const env = await sealed();
    const largest = Buffer.alloc(MAX_ENVELOPE_CIPHERTEXT).toString('base64');
    await assert.rejects(opener().open({ ...env, ct: largest }), refusedAs('BAD_SIGNATURE', false, alice.nodeId));
  });

  it('names another session by the first 16 characters of its id only', async () => {
    const env = await sealed();
    const otherSid = randomBytes(32).toString('hex');
    await assert.rejects(new EnvelopeOpener(bob, otherSid, 'eddsa-sign', peersOfBob).open(env), (e: unknown) => {
      assert.ok(e instanceof EnvelopeError);
      assert.match(e.message, new RegExp(`it belongs to session ${sid.slice(0, 16)}…, not this one`));
      assert.ok(!e.message.includes(sid.slice(0, 17)));
      return true;
    });
  });

  it('refuses another protocol of the same session id, an altered enc and a truncated signature', async () => {
    const env = await sealed();
    await assert.rejects(new EnvelopeOpener(bob, sid, 'eddsa-keygen', peersOfBob).open(env), refusedAs('WRONG_SESSION', false, alice.nodeId));
    const enc = Buffer.from(env.enc, 'base64');
    enc[0]! ^= 1;
    await assert.rejects(opener().open({ ...env, enc: enc.toString('base64') }), refusedAs('BAD_SIGNATURE', false, alice.nodeId));
    await assert.rejects(opener().open({ ...env, sig: Buffer.from(env.sig, 'base64').subarray(0, 63).toString('base64') }), refusedAs('BAD_SIGNATURE', false, alice.nodeId));
  });

  it('refuses a second envelope with a sequence number already used, even in another round', async () => {
    const o = opener();
    await o.open(await sealed(0, 1));
    await o.open(await sealed(1, 1));
    await assert.rejects(o.open(await sealed(0, 2)), refusedAs('REPLAYED_ENVELOPE', false, alice.nodeId));
  });

  it('lets only one of two concurrent copies through', async () => {
    const o = opener();
    const env = await sealed(9);
    const results = await Promise.allSettled([o.open(env), o.open(env)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((rejected.reason as EnvelopeError).code, 'REPLAYED_ENVELOPE');
  });

  it('an undecryptable envelope still uses up its sequence number', async () => {
    const o = opener();
    const env = await sealed(5, 1);
    await assert.rejects(o.open(resign(alice, { ...env, round: 2 })), undecryptable);
    await assert.rejects(o.open(env), refusedAs('REPLAYED_ENVELOPE', false, alice.nodeId));
  });
});
