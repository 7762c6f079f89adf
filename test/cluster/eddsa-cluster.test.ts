import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { AppFailure } from '../../main/errors';
import type { Coordinator } from '../../main/coordinator/server';
import { MpcSigner } from '../../main/mpc/index';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, until, type TestNode } from './support';

/** A node whose engine output is garbage, sealed and signed by that node: evidence against it. */
class CorruptingSigner extends MpcSigner {
  corrupt = false;
  override start(options: Parameters<MpcSigner['start']>[0]): ReturnType<MpcSigner['start']> {
    const handle = super.start(options);
    if (!this.corrupt) return handle;
    const next = handle.next.bind(handle);
    handle.next = async () => {
      const snap = await next();
      for (const out of snap.outgoing) out.bytes.fill(0xab);
      return snap;
    };
    return handle;
  }
}

const rejectsWith = async (p: Promise<unknown>, code: string): Promise<AppFailure> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
};

describe('EdDSA keyset through the coordinator on loopback', { timeout: 120_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  const corrupting = new CorruptingSigner();
  let tamper: ((relay: { sessionId: string; from: string; to: string; envelope: unknown }) => unknown | null) | null = null;
  const recorded: Array<{ sessionId: string; from: string; to: string; envelope: unknown }> = [];

  before(async () => {
    coordinator = await startCoordinator({
      relayFilter: (r) => {
        recorded.push(r);
        return tamper ? tamper(r) : r.envelope;
      },
    });
    nodes = [await startNode('console'), await startNode('node-b', undefined, undefined, { signer: corrupting }), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  const ids = () => nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
  let keysetId = '';
  let publicKey = '';

  it('creates a 2-of-3 keyset with a Solana address and a key_ref; every node holds only its sealed share', async () => {
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    publicKey = keyset.publicKey!;
    assert.match(keyset.keyRef, /^mpc-teddsa:\/\/test\/ks-[0-9a-f-]+$/);
    assert.match(keyset.address ?? '', /^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'));
    for (const n of nodes) assert.equal(n.services.cluster.keyset(keysetId)!.publicKey, publicKey);
    const types = nodes[1]!.services.audit.list().entries.map((e) => e.type);
    assert.ok(types.includes('MPC_KEYGEN_STARTED') && types.includes('MPC_KEYGEN_COMPLETED'));
    // The relay only ever saw envelopes: no share or plaintext goes through it.
    const row = coordinator.store.list().find((r) => r.keyset_id === keysetId)!;
    assert.equal(row.state, 'completed');
  });

  it('signs with each of the three quorums; signatures verify under the group key', async () => {
    const [a, b, c] = ids() as [string, string, string];
    for (const quorum of [[a, b], [a, c], [b, c]]) {
      const message = Buffer.from(`transfer for quorum ${quorum.join('+')}`);
      const permit = allowEverywhere(nodes, testPermit(keysetId, message));
      const out = await nodes[0]!.services.cluster.signWithPermit(keysetId, permit, message, { prefer: quorum });
      assert.deepEqual([...out.parties].sort(), [...quorum].sort());
      assert.equal(out.permitId, permit.testPermitId);
      assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), message, Buffer.from(publicKey, 'hex')));
    }
    const check = await nodes[0]!.services.cluster.keyCheck(keysetId, 'drill');
    assert.ok(ed25519.verify(Buffer.from(check.signature, 'hex'), Buffer.from(check.message, 'hex'), Buffer.from(publicKey, 'hex')));
  });

  it('a relay that flips a byte: the envelope is dropped and recorded, its claimed sender is not blamed; the retry signs', async () => {
    const [a, b] = ids() as [string, string, string];
    tamper = (r) => {
      if (r.from !== b || r.to !== a) return r.envelope;
      const env = { ...(r.envelope as Record<string, string>) };
      const ct = Buffer.from(env.ct!, 'base64');
      ct[ct.length >> 1]! ^= 0x01;
      env.ct = ct.toString('base64');
      return env;
    };
    const out = await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [a, b], timeoutMs: 1_500 });
    tamper = null;
    assert.equal(out.attempts, 2);
    assert.ok(!out.parties.includes(b));
    for (const n of nodes) assert.equal(n.services.cluster.node(b)!.status, 'enrolled');
    const dropped = nodes[0]!.services.audit.list().entries.find((e) => e.type === 'MPC_ENVELOPES_DROPPED');
    assert.ok(dropped, 'the dropped envelope is recorded');
    assert.deepEqual((dropped.details as { codes: string[] }).codes, ['BAD_SIGNATURE']);
  });

  it('a peer that signs garbage protocol messages → protocol violation naming it, quarantined, no signature', async () => {
    const [a, b] = ids() as [string, string, string];
    corrupting.corrupt = true;
    const failure = await rejectsWith(nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [a, b] }), 'MPC_PROTOCOL_VIOLATION');
    corrupting.corrupt = false;
    assert.equal(failure.details?.blamedNode, b);
    assert.match(failure.message, new RegExp(b));
    assert.equal(nodes[0]!.services.cluster.node(b)!.status, 'quarantined');
    const audit = nodes[0]!.services.audit.list().entries;
    assert.ok(audit.some((e) => e.type === 'PEER_QUARANTINED' && e.subject === b));
    assert.ok(audit.some((e) => e.type === 'MPC_SIGN_FAILED'));
    // A quarantined peer is left out of the next quorum until an operator releases it.
    const next = await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [a, b] });
    assert.ok(!next.parties.includes(b));
    nodes[0]!.services.cluster.release(b);
    assert.equal(nodes[0]!.services.cluster.node(b)!.status, 'enrolled');
    assert.ok(nodes[0]!.services.audit.list().entries.some((e) => e.type === 'PEER_RELEASED'));
  });

  it('an envelope recorded in one session and replayed into a new one is rejected', async () => {
    const [a, b] = ids() as [string, string, string];
    const old = recorded.find((r) => r.from === b && r.to === a)!;
    let replayed = false;
    tamper = (r) => {
      if (r.from === b && r.to === a && !replayed) {
        replayed = true;
        return old.envelope;
      }
      return r.envelope;
    };
    // The replayed envelope is dropped (not blamed on b); the genuine one never came, so the
    // session times out and the retry on another quorum signs.
    const out = await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [a, b], timeoutMs: 1_500 });
    tamper = null;
    assert.ok(replayed);
    assert.equal(out.attempts, 2);
    assert.equal(nodes[0]!.services.cluster.node(b)!.status, 'enrolled');
    const failed = nodes[0]!.services.cluster.sessions().find((s) => s.state === 'failed' && (s.errorCode === 'TIMEOUT' || s.errorCode === 'DEADLINE_PASSED'));
    assert.ok(failed, 'the session fed the replay ended as a timeout');
  });

  it('with one node stopped signing still succeeds; with two stopped: quorum unavailable, nothing partial', async () => {
    const [a, , c] = ids() as [string, string, string];
    await stopNode(nodes[1]!);
    await until(() => coordinator.connectedNodes.length === 2);
    const out = await nodes[0]!.services.cluster.keyCheck(keysetId);
    assert.deepEqual([...out.parties].sort(), [a, c].sort());
    await stopNode(nodes[2]!);
    await until(() => coordinator.connectedNodes.length === 1);
    const before = nodes[0]!.services.cluster.sessions().length;
    const err = await rejectsWith(nodes[0]!.services.cluster.keyCheck(keysetId), 'QUORUM_UNAVAILABLE');
    assert.match(err.message, /Quorum unavailable: 1 of the 3 members/);
    assert.equal(nodes[0]!.services.cluster.sessions().length, before, 'no session started on the node');
    assert.ok(nodes[0]!.services.cluster.sessions().every((s) => s.state !== 'running'));
  });
});
