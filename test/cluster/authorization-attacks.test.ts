/**
 * The attack table of signing authorization on a loopback cluster of three nodes. Node A (the
 * console) and node B are honest; node C is compromised (its identity key is in the attacker's
 * hands) and the coordinator may be hostile. Every row asserts that no signature exists anywhere
 * — no completed sign session, no result — and that the honest nodes' state is unchanged except
 * for audit rows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { CoordinatorClient } from '../../main/cluster/coordinator-client';
import type { LocalIdentity } from '../../main/cluster/identity';
import { ed25519PrivateKey, signBytes } from '../../main/cluster/keys';
import { newSessionId, requestBytes } from '../../main/cluster/session-request';
import type { ServerMessage, SessionRequestBody, SignedSessionRequest } from '../../main/coordinator/protocol';
import { Coordinator, type SessionEndFailure } from '../../main/coordinator/server';
import type { PublicResult } from '../../main/coordinator/protocol';
import { AppFailure } from '../../main/errors';
import { nodeIdFromPublicKey } from '../../main/identity/node-identity';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startNode, stopNode, until, type TestNode } from './support';

type End = Extract<ServerMessage, { t: 'session-end' }>;

/** A coordinator under the attacker's control: it can invite anyone to anything, stay silent, or lie about a result. */
class HostileCoordinator extends Coordinator {
  /** When set, it never reports the end of a session (only the nodes' own deadlines end them). */
  silent = false;
  /** Rewrites the result it reports to the requester. */
  forgeResult: ((result: PublicResult) => PublicResult) | null = null;
  readonly invites: Array<Extract<ServerMessage, { t: 'invite' }>> = [];

  inject(nodeId: string, message: ServerMessage): boolean {
    return this.send(nodeId, message);
  }

  protected override send(nodeId: string, message: ServerMessage): boolean {
    if (message.t === 'invite') this.invites.push(message);
    if (message.t === 'session-end' && message.state === 'completed' && message.result && this.forgeResult && nodeId === message.session.requester) {
      return super.send(nodeId, { ...message, result: this.forgeResult(message.result) });
    }
    return super.send(nodeId, message);
  }

  protected override end(sessionId: string, failure: SessionEndFailure | null, reporter?: string, result?: PublicResult): void {
    if (this.silent) return;
    super.end(sessionId, failure, reporter, result);
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

describe('signing authorization: the attack table on a loopback cluster of three nodes', { timeout: 180_000 }, () => {
  let coordinator: HostileCoordinator;
  let nodes: TestNode[] = [];
  let honest: TestNode[] = [];
  let attacker: { identity: LocalIdentity; client: CoordinatorClient; ends: Map<string, End> };
  let keysetId = '';
  let publicKey = '';
  let ids: [string, string, string];
  let tamper: ((relay: { sessionId: string; from: string; to: string; envelope: unknown }) => unknown | null) | null = null;

  /** Everything an honest node holds except its audit log (which records every refusal). */
  const snapshot = (n: TestNode): string => {
    const tables = (n.services.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'audit_log' ORDER BY name`).all() as Array<{ name: string }>).map((t) => t.name);
    return JSON.stringify(tables.map((t) => [t, n.services.db.prepare(`SELECT * FROM "${t}"`).all()]));
  };

  const partiesOf = (nodeIds: string[]) => {
    const keyset = nodes[0]!.services.cluster.keyset(keysetId)!;
    return keyset.participants.filter((p) => nodeIds.includes(p.nodeId));
  };

  /** A request as the compromised node C (or whoever holds `signer`) would build and sign it. */
  const craft = (overrides: Partial<SessionRequestBody>, sign: (bytes: Buffer) => Buffer = (b) => attacker.identity.sign(b)): SignedSessionRequest => {
    const body: SessionRequestBody = {
      v: 1,
      clusterId: 'test',
      sessionId: newSessionId(),
      protocol: 'eddsa-sign',
      keysetId,
      parties: partiesOf([ids[0], ids[1]]),
      threshold: 2,
      message: Buffer.from('send everything to the attacker').toString('hex'),
      permitId: null,
      requester: attacker.identity.nodeId,
      deadlineAt: Date.now() + 10_000,
      ...overrides,
    };
    return { body, signature: sign(requestBytes(body)).toString('hex') };
  };

  /** Sends a crafted request through the coordinator as the compromised node and waits for its end. */
  const attack = async (request: SignedSessionRequest): Promise<End> => {
    const answer = await attacker.client.request({ t: 'create', idempotencyKey: randomBytes(8).toString('hex'), request });
    assert.equal(answer.t, 'created', JSON.stringify(answer));
    await until(() => attacker.ends.has(request.body.sessionId), 15_000);
    return attacker.ends.get(request.body.sessionId)!;
  };

  /** No signature exists anywhere for the session, and honest nodes changed nothing but their audit logs. */
  const assertNothingSigned = (sessionId: string, end: End | null, before: string[]) => {
    if (end) {
      assert.equal(end.state, 'failed');
      assert.equal(end.result, undefined);
    }
    assert.notEqual(coordinator.store.get(sessionId)?.state, 'completed');
    for (const [i, n] of honest.entries()) {
      assert.ok(!n.services.cluster.sessions().some((s) => s.sessionId === sessionId && s.state === 'completed'), `${n.name} completed ${sessionId}`);
      assert.ok(snapshot(n) === before[i], `${n.name} changed state beyond its audit log`);
    }
  };

  const refusals = (n: TestNode, sessionId: string) =>
    n.services.audit
      .list()
      .entries.filter((e) => e.type === 'MPC_SESSION_REFUSED' && e.subject === sessionId)
      .map((e) => (e.details as { code: string }).code);

  before(async () => {
    coordinator = new HostileCoordinator({ storeFile: ':memory:', clusterId: 'test', relayFilter: (r) => (tamper ? tamper(r) : r.envelope) });
    await coordinator.listen();
    nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
    honest = [nodes[0]!, nodes[1]!];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    publicKey = keyset.publicKey!;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'));
    ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId) as [string, string, string];
    // From here on node C is the attacker's: its key speaks through the attacker's own client.
    const identity = await nodes[2]!.services.cluster.identity();
    nodes[2]!.services.cluster.stop();
    const ends = new Map<string, End>();
    const client = new CoordinatorClient(coordinator.url, identity, { onMessage: (m) => void (m.t === 'session-end' && ends.set(m.session.sessionId, m)), onClose: () => undefined });
    await client.connect();
    attacker = { identity, client, ends };
  });

  after(async () => {
    attacker?.client.close();
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('the coordinator fabricates a signing: forged requester, unknown requester, replayed genuine request — every node refuses', async () => {
    // (1) "Requested by A", but signed with a key that is not A's.
    const stranger = ed25519PrivateKey(randomBytes(32));
    const forged = craft({ requester: ids[0] }, (b) => signBytes(stranger, b));
    // (2) From a node nobody enrolled.
    const unknownSecret = randomBytes(32);
    const unknownId = nodeIdFromPublicKey(ed25519.getPublicKey(unknownSecret));
    const unknown = craft({ requester: unknownId }, (b) => signBytes(ed25519PrivateKey(unknownSecret), b));
    // (3) A's own genuine request of an earlier key check, replayed after it finished.
    await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]] });
    const genuine = coordinator.invites.at(-1)!;
    const replayed = genuine.request;
    await until(() => honest.every((n) => n.services.cluster.sessions().some((x) => x.sessionId === replayed.body.sessionId && x.state === 'completed')));
    const before = honest.map(snapshot);
    for (const request of [forged, unknown, replayed]) {
      for (const target of [ids[0], ids[1]]) coordinator.inject(target, { t: 'invite', session: genuine.session.sessionId === request.body.sessionId ? genuine.session : { ...genuine.session, sessionId: request.body.sessionId, requester: request.body.requester }, request });
    }
    await until(() => refusals(nodes[0]!, forged.body.sessionId).length === 1 && refusals(nodes[1]!, forged.body.sessionId).length === 1 && refusals(nodes[1]!, unknown.body.sessionId).length === 1);
    await until(() => refusals(nodes[0]!, replayed.body.sessionId).length === 1 && refusals(nodes[1]!, replayed.body.sessionId).length === 1);
    // A refuses anything naming it as requester that it did not make; B checks A's signature.
    assert.deepEqual(refusals(nodes[0]!, forged.body.sessionId), ['SESSION_REQUEST_NOT_MINE']);
    assert.deepEqual(refusals(nodes[1]!, forged.body.sessionId), ['SESSION_REQUEST_BAD_SIGNATURE']);
    assert.deepEqual(refusals(nodes[0]!, unknown.body.sessionId), ['SESSION_REQUESTER_UNKNOWN']);
    assert.deepEqual(refusals(nodes[1]!, unknown.body.sessionId), ['SESSION_REQUESTER_UNKNOWN']);
    assert.deepEqual(refusals(nodes[0]!, replayed.body.sessionId), ['SESSION_REQUEST_NOT_MINE']);
    assert.deepEqual(refusals(nodes[1]!, replayed.body.sessionId), ['SESSION_REQUEST_REPLAYED']);
    // Nothing new was signed or stored (the replayed session is the earlier completed key check).
    for (const request of [forged, unknown]) assertNothingSigned(request.body.sessionId, null, before);
    assert.ok(honest.every((n, i) => snapshot(n) === before[i]), 'honest nodes changed state beyond their audit logs');
  });

  it('a compromised peer asks two honest nodes to sign without a permit: both refuse, the requester hears why', async () => {
    const before = honest.map(snapshot);
    const request = craft({});
    const end = await attack(request);
    assert.equal(end.failure?.errorClass, 'permanent');
    assert.match(end.failure?.code ?? '', /PERMIT/);
    assert.match(end.failure?.reason ?? '', /refused: /);
    assertNothingSigned(request.body.sessionId, end, before);
  });

  it('a compromised peer replays a permit the honest nodes already signed with: refused, the permit is single use', async () => {
    const message = Buffer.from('pay 1 SOL to alice, once');
    const permit = allowEverywhere(honest, testPermit(keysetId, message));
    const out = await nodes[0]!.services.cluster.signWithPermit(keysetId, permit, message, { prefer: [ids[0], ids[1]] });
    assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), message, Buffer.from(publicKey, 'hex')));
    await until(() => honest.every((n) => n.services.cluster.sessions().every((x) => x.state !== 'running')));
    const before = honest.map(snapshot);
    const replay = craft({ message: message.toString('hex'), permit, permitId: permit.testPermitId });
    const end = await attack(replay);
    assert.equal(end.failure?.code, 'PERMIT_SPENT', end.failure?.reason);
    assertNothingSigned(replay.body.sessionId, end, before);
  });

  it('a compromised peer names its quorum with wrong party indices or threshold, or an over-long deadline: refused before any authorizer', async () => {
    const before = honest.map(snapshot);
    const [pa, pb] = partiesOf([ids[0], ids[1]]) as [{ nodeId: string; partyIndex: number }, { nodeId: string; partyIndex: number }];
    const swapped = craft({ parties: [{ nodeId: pb.nodeId, partyIndex: pa.partyIndex }, { nodeId: pa.nodeId, partyIndex: pb.partyIndex }] });
    const threshold = craft({ threshold: 3, parties: [...partiesOf([ids[0], ids[1]])] });
    const longDeadline = craft({ deadlineAt: Date.now() + 2 * 3600_000 });
    for (const [request, code] of [
      [swapped, 'SESSION_REQUEST_WRONG_PARTIES'],
      [longDeadline, 'SESSION_REQUEST_EXPIRED'],
    ] as const) {
      const end = await attack(request);
      assert.equal(end.failure?.code, code, end.failure?.reason);
      assertNothingSigned(request.body.sessionId, end, before);
    }
    // Fewer parties than the threshold: refused by every invited node.
    const end = await attack(threshold);
    assert.equal(end.failure?.code, 'SESSION_REQUEST_WRONG_PARTIES');
    assertNothingSigned(threshold.body.sessionId, end, before);
  });

  it('the deadline holds for the whole run: a coordinator that withholds messages and never ends the session cannot keep it open', async () => {
    tamper = () => null;
    coordinator.silent = true;
    const first = coordinator.invites.length;
    const failure = await rejectsWith(nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]], timeoutMs: 1_500 }), 'QUORUM_UNAVAILABLE');
    tamper = null;
    coordinator.silent = false;
    assert.match(failure.message, /every quorum that could sign failed/);
    const sid = coordinator.invites[first]!.session.sessionId;
    for (const n of honest) {
      await until(() => n.services.cluster.sessions().some((s) => s.sessionId === sid && s.state === 'failed'), 10_000);
      const row = n.services.cluster.sessions().find((s) => s.sessionId === sid)!;
      assert.equal(row.errorCode, 'DEADLINE_PASSED', `${n.name}: ${row.errorReason}`);
    }
    assert.notEqual(coordinator.store.get(sid)?.state, 'completed');
    assert.ok(honest.every((n) => n.services.cluster.sessions().every((s) => s.state !== 'running')));
  });

  it('a forged envelope "from" an honest peer is dropped and recorded; that peer is not quarantined', async () => {
    let forgedOnce = false;
    tamper = (r) => {
      if (r.from !== ids[1] || r.to !== ids[0] || forgedOnce) return r.envelope;
      forgedOnce = true;
      const env = { ...(r.envelope as Record<string, string>) };
      env.sig = Buffer.alloc(64, 7).toString('base64');
      return env;
    };
    // The session with the forged envelope runs out of time; the retry's quorum has the
    // compromised node, which does not answer either.
    await rejectsWith(nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]], timeoutMs: 1_500 }), 'QUORUM_UNAVAILABLE');
    tamper = null;
    assert.ok(forgedOnce);
    for (const n of honest) assert.equal(n.services.cluster.node(ids[1])!.status, 'enrolled');
    const dropped = nodes[0]!.services.audit.list().entries.filter((e) => e.type === 'MPC_ENVELOPES_DROPPED').at(-1)!;
    assert.deepEqual((dropped.details as { codes: string[]; claimedSenders: string[] }).codes, ['BAD_SIGNATURE']);
    assert.deepEqual((dropped.details as { claimedSenders: string[] }).claimedSenders, [ids[1]]);
    assert.ok(!nodes[0]!.services.audit.list().entries.some((e) => e.type === 'PEER_QUARANTINED'));
  });

  it('a wrong result signature relayed by the coordinator is refused by the requester', async () => {
    coordinator.forgeResult = (r) => ({ ...r, signature: Buffer.from(ed25519.sign(Buffer.from('something else'), randomBytes(32))).toString('hex') });
    const failure = await rejectsWith(nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]] }), 'MPC_RESULT_INVALID');
    coordinator.forgeResult = null;
    assert.match(failure.message, /does not verify under keyset/);
    assert.ok(nodes[0]!.services.audit.list().entries.some((e) => e.type === 'MPC_RESULT_REFUSED'));
    // The genuine key check still verifies under the keyset key.
    const ok = await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]] });
    assert.ok(ed25519.verify(Buffer.from(ok.signature, 'hex'), Buffer.from(ok.message, 'hex'), Buffer.from(publicKey, 'hex')));
  });
});
