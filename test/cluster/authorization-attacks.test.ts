/**
 * The attack table of signing authorization on a loopback cluster of three nodes. Node A (the
 * console) and node B are honest; node C is compromised (its identity key is in the attacker's
 * hands) and the coordinator may be hostile. Every row asserts that no signature exists anywhere
 * — no completed sign session, no result — and that the honest nodes' state is unchanged except
 * for audit rows. A and B run the real PermitAuthorizer, set up as a headless node's operator sets
 * it: one trusted issuer, a Solana policy for the keyset and an execution authorization.
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
import { Keypair } from '@solana/web3.js';
import { buildSolanaTransfer } from '../../main/chains/build';
import { decodePayload } from '../../main/chains/payload';
import { issuePermit, type IssueInput } from '../../main/permits/issue-permit';
import { generateIssuerKey, issuerFingerprint, type IssuerKeyPair } from '../../main/permits/issuer-keys';
import type { SignedPermit } from '../../main/permits/permit-format';
import { ManualClock } from '../../main/platform/clock';
import type { KeysetPolicy } from '../../preload/contract';
import { GOOD_PASSPHRASE } from '../support/services';
import { enrolAll, startNode, stopNode, until, type TestNode } from './support';

type End = Extract<ServerMessage, { t: 'session-end' }>;

/** A coordinator under the attacker's control: it can invite anyone to anything, stay silent, or lie about a result. */
class HostileCoordinator extends Coordinator {
  /** When set, it never reports the end of a session (only the nodes' own deadlines end them). */
  silent = false;
  /** Rewrites the result it reports to every node (the requester and the co-signers). */
  forgeResult: ((result: PublicResult) => PublicResult) | null = null;
  readonly invites: Array<Extract<ServerMessage, { t: 'invite' }>> = [];

  inject(nodeId: string, message: ServerMessage): boolean {
    return this.send(nodeId, message);
  }

  protected override send(nodeId: string, message: ServerMessage): boolean {
    if (message.t === 'invite') this.invites.push(message);
    if (message.t === 'session-end' && message.state === 'completed' && message.result && this.forgeResult) {
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
  let keysetAddress = '';
  /** The honest nodes' clock: permits, policy windows and authorizations run on it. */
  const clock = new ManualClock(Date.now());
  const dirs: Array<TestNode['dir']> = [];

  const solana = { chain: { kind: 'solana', cluster: 'devnet' } as const, recipient: Keypair.generate().publicKey.toBase58() };
  const issuer = generateIssuerKey();
  const strangerIssuer = generateIssuerKey();
  const AUTHORIZATION_ID = '6a1e0c1e-0000-4000-8000-00000000a11c';
  const policyFor = (overrides: Partial<KeysetPolicy> = {}): KeysetPolicy => ({
    keysetId,
    allowlist: [solana.recipient],
    assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '10', dailyCap: '10', guardianApprovalAbove: '5' } },
    dailyCountLimit: null,
    signingHours: null,
    permitTtlSeconds: 60,
    ...overrides,
  });
  const authorization = (id: string, validForMinutes = 60) => ({ id, scope: { keysetId, destinations: [solana.recipient], assets: { native: { perTxMax: '10', dailyCap: '10' } }, validForMinutes } });
  /** What a headless node's operator applies from setup files: issuer, policy, execution authorization. */
  const setUp = (n: TestNode) => {
    n.services.permits.enrolIssuersAtSetup([{ publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'online issuer', lab: false }], false, 'test');
    n.services.policy.applyNodeSetup({ policies: [policyFor()], authorizations: [authorization(AUTHORIZATION_ID)] }, false, 'test');
  };
  const transfer = (sol: number) => buildSolanaTransfer({ type: 'sol', from: keysetAddress, to: solana.recipient, amount: BigInt(Math.round(sol * 1e9)), recentBlockhash: '11111111111111111111111111111111' });
  const permitOf = (sol: number, overrides: Partial<IssueInput> = {}, key: IssuerKeyPair = issuer): SignedPermit => issuePermit({ keysetId, chain: solana.chain, payload: transfer(sol), issuedAt: clock.now(), ...overrides }, key.secretKey);
  const messageOf = (p: SignedPermit) => decodePayload(p.permit.chain, p.permit.payload).signingPreimage;

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
    nodes = [await startNode('console', undefined, undefined, { authorizer: 'permits', clock }), await startNode('node-b', undefined, undefined, { authorizer: 'permits', clock }), await startNode('node-c')];
    honest = [nodes[0]!, nodes[1]!];
    for (const n of nodes) dirs.push(n.dir);
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const keyset = await nodes[0]!.services.cluster.createKeyset('eddsa');
    keysetId = keyset.keysetId;
    publicKey = keyset.publicKey!;
    keysetAddress = keyset.address!;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'));
    for (const n of honest) setUp(n);
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
    for (const d of dirs) d.cleanup();
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

  /** The compromised node asks A and B to sign `message` under `permit`; both must refuse with `code`. */
  const permitAttack = async (permit: unknown, message: Buffer, code: string) => {
    const before = honest.map(snapshot);
    const request = craft({ message: message.toString('hex'), permit, permitId: null });
    const end = await attack(request);
    assert.equal(end.failure?.code, code, end.failure?.reason);
    assertNothingSigned(request.body.sessionId, end, before);
    for (const n of honest) {
      const rejected = n.services.audit.list().entries.find((e) => e.type === 'SIGN_PERMIT_REJECTED' && (e.details as { sessionId?: string }).sessionId === request.body.sessionId);
      assert.equal((rejected?.details as { code?: string } | undefined)?.code, code, `${n.name} audited the refusal`);
    }
    return end;
  };

  it('a permitted transfer signs: the console requests, A and B each verify the permit and co-sign under their execution authorization', async () => {
    const permit = permitOf(2);
    const out = await nodes[0]!.services.cluster.signWithPermit(keysetId, permit, messageOf(permit), { prefer: [ids[0], ids[1]] });
    assert.equal(out.permitId, permit.permit.permitId);
    assert.ok(ed25519.verify(Buffer.from(out.signature, 'hex'), messageOf(permit), Buffer.from(publicKey, 'hex')));
    await until(() => honest.every((n) => n.services.cluster.sessions().every((x) => x.state !== 'running')));
    for (const n of honest) assert.ok(n.services.audit.list().entries.some((e) => e.type === 'SIGN_PERMIT_ACCEPTED' && e.subject === permit.permit.permitId));
    replayable = permit;
  });
  let replayable: SignedPermit | null = null;

  it('permit rows: for another keyset, tampered payload, bytes other than the payload, expired, future-dated, forged and unknown issuer', async () => {
    const other = permitOf(1, { keysetId: 'ks-another-keyset' });
    await permitAttack(other, messageOf(other), 'PERMIT_KEYSET_MISMATCH');
    const genuine = permitOf(1);
    const tampered = { ...genuine, permit: { ...genuine.permit, payload: transfer(3) } };
    await permitAttack(tampered, messageOf(tampered), 'PERMIT_SIGNATURE_INVALID');
    await permitAttack(genuine, messageOf(permitOf(3)), 'PERMIT_MESSAGE_MISMATCH');
    const expired = permitOf(1, { issuedAt: clock.now() - 4 * 60_000 });
    const end = await permitAttack(expired, messageOf(expired), 'PERMIT_EXPIRED');
    assert.match(end.failure?.reason ?? '', /expired 3 min ago/, 'the reason says how long ago');
    const future = permitOf(1, { issuedAt: clock.now() + 5 * 60_000 });
    await permitAttack(future, messageOf(future), 'PERMIT_NOT_YET_VALID');
    const byStranger = permitOf(1, {}, strangerIssuer);
    await permitAttack({ ...byStranger, issuerKey: issuer.publicKey.toString('hex') }, messageOf(byStranger), 'PERMIT_SIGNATURE_INVALID');
    await permitAttack(byStranger, messageOf(byStranger), 'PERMIT_ISSUER_UNKNOWN');
  });

  it('permit rows: a replayed permit is refused, also after every node restarts', async () => {
    assert.ok(replayable, 'the happy path ran first');
    await permitAttack(replayable, messageOf(replayable), 'PERMIT_ALREADY_USED');
    for (const [i, n] of honest.entries()) {
      await stopNode(n, false);
      nodes[i] = await startNode(n.name, undefined, n.dir, { authorizer: 'permits', clock });
      await nodes[i]!.services.cluster.connect(coordinator.url);
    }
    honest = [nodes[0]!, nodes[1]!];
    await until(() => coordinator.connectedNodes.includes(ids[0]) && coordinator.connectedNodes.includes(ids[1]));
    await permitAttack(replayable, messageOf(replayable), 'PERMIT_ALREADY_USED');
    // The same transaction under a fresh permit is refused too: a tx hash is signed once.
    const again = permitOf(2, { permitId: 'permit-fresh-for-the-same-tx' });
    await permitAttack(again, messageOf(again), 'PERMIT_TX_ALREADY_SIGNED');
  });

  it('policy rows: over the per-transaction maximum, over the daily cap, above the guardian threshold, outside signing hours', async () => {
    const big = permitOf(11);
    await permitAttack(big, messageOf(big), 'POLICY_PER_TX_MAX');
    // 2 SOL already co-signed today; the cap is 10.
    const capped = permitOf(9);
    const end = await permitAttack(capped, messageOf(capped), 'POLICY_DAILY_CAP');
    assert.match(end.failure?.reason ?? '', /2 already co-signed in the last 24 h/);
    const large = permitOf(6);
    await permitAttack(large, messageOf(large), 'PERMIT_GUARDIAN_APPROVAL_REQUIRED');
    const hour = new Date(clock.now()).getUTCHours();
    const closed = { start: `${String((hour + 2) % 24).padStart(2, '0')}:00`, end: `${String((hour + 3) % 24).padStart(2, '0')}:00` };
    for (const n of honest) n.services.policy.applyNodeSetup({ policies: [policyFor({ signingHours: closed })], authorizations: [] }, false, 'test');
    const night = permitOf(1);
    await permitAttack(night, messageOf(night), 'POLICY_OUTSIDE_SIGNING_HOURS');
    for (const n of honest) n.services.policy.applyNodeSetup({ policies: [policyFor()], authorizations: [] }, false, 'test');
  });

  it('who says yes: execution authorization revoked, then one expired — the nodes decline with the reason', async () => {
    for (const n of honest) await n.services.policy.revokeExecutionAuthorization(AUTHORIZATION_ID, 'test: revoked', { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE });
    const p1 = permitOf(1);
    await permitAttack(p1, messageOf(p1), 'SIGNING_NOT_APPROVED_HERE');
    const shortLived = '6a1e0c1e-0000-4000-8000-0000000005a0';
    for (const n of honest) n.services.policy.applyNodeSetup({ policies: [], authorizations: [authorization(shortLived, 1)] }, false, 'test');
    clock.advance(2 * 60_000);
    const p2 = permitOf(1);
    await permitAttack(p2, messageOf(p2), 'SIGNING_NOT_APPROVED_HERE');
  });

  it('kill switch on: every permit is refused (key checks still sign, they move no funds)', async () => {
    for (const n of honest) n.services.policy.applyNodeSetup({ policies: [], authorizations: [authorization('6a1e0c1e-0000-4000-8000-0000000000ff')] }, false, 'test');
    for (const n of honest) n.services.policy.engageKillSwitch('test: freeze');
    const p = permitOf(1);
    await permitAttack(p, messageOf(p), 'SIGNING_FROZEN');
    const check = await nodes[0]!.services.cluster.keyCheck(keysetId, 'drill', { prefer: [ids[0], ids[1]] });
    assert.ok(ed25519.verify(Buffer.from(check.signature, 'hex'), Buffer.from(check.message, 'hex'), Buffer.from(publicKey, 'hex')));
    await until(() => honest.every((n) => n.services.cluster.sessions().every((x) => x.state !== 'running')));
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
    const forgedSignature = Buffer.from(ed25519.sign(Buffer.from('something else'), randomBytes(32))).toString('hex');
    coordinator.forgeResult = (r) => ({ ...r, signature: forgedSignature });
    const failure = await rejectsWith(nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]] }), 'MPC_RESULT_INVALID');
    coordinator.forgeResult = null;
    assert.match(failure.message, /does not verify under keyset/);
    assert.ok(nodes[0]!.services.audit.list().entries.some((e) => e.type === 'MPC_RESULT_REFUSED'));
    // The honest co-signer records the signature its own engine made, never the relay's forgery.
    const rowOf = () => nodes[1]!.services.db.prepare('SELECT state, result FROM mpc_sessions WHERE session_id = ?').get(failure.details?.sessionId as string) as { state: string; result: string | null } | undefined;
    await until(() => rowOf()?.state !== undefined && rowOf()?.state !== 'running');
    const row = rowOf();
    assert.equal(row?.state, 'completed');
    assert.notEqual((JSON.parse(row!.result!) as { signature: string }).signature, forgedSignature, 'node-b did not store the relayed forgery');
    // The genuine key check still verifies under the keyset key.
    const ok = await nodes[0]!.services.cluster.keyCheck(keysetId, 'key-check', { prefer: [ids[0], ids[1]] });
    assert.ok(ed25519.verify(Buffer.from(ok.signature, 'hex'), Buffer.from(ok.message, 'hex'), Buffer.from(publicKey, 'hex')));
  });
});
