/**
 * Key generation as a job owned by main: one at a time, cancellable, and ended by locking the
 * vault — failed with "vault locked during key generation" on every node (the peers are told
 * through the coordinator) and in each node's audit log, with nothing left running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { keygenJob } from '../../main/jobs/cluster-jobs';
import { createHandlers } from '../../main/ipc/handlers';
import { GOOD_PASSPHRASE } from '../support/services';
import { enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

const keygenSessions = (n: TestNode) => n.services.cluster.sessions(20).filter((s) => s.protocol === 'ecdsa-keygen');

describe('key generation jobs', { timeout: 300_000 }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];

  before(async () => {
    coordinator = await startCoordinator();
    const primes = testPrimes();
    nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1]), await startNode('node-c', primes[2])];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  it('an EdDSA key generation runs as a job to its result; a second one waits its turn', async () => {
    const { jobs, cluster, vault } = nodes[0]!.services;
    const job = jobs.start(keygenJob(cluster, vault, 'eddsa'));
    assert.equal(job.state, 'running');
    assert.throws(() => jobs.start(keygenJob(cluster, vault, 'ecdsa')), (e: unknown) => e instanceof AppFailure && e.code === 'JOB_CONFLICT' && /still running/.test(e.message));
    await jobs.settled();
    const done = jobs.list().find((j) => j.id === job.id)!;
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    assert.ok(done.result?.keysetId && cluster.keyset(done.result.keysetId)?.status === 'active');
  });

  it('the operator cancels an ECDSA key generation: it ends failed on every node with that reason', async () => {
    const { jobs, cluster, vault } = nodes[0]!.services;
    const job = jobs.start(keygenJob(cluster, vault, 'ecdsa'));
    await until(() => nodes.every((n) => keygenSessions(n).some((s) => s.state === 'running')), 30_000);
    const cancelled = jobs.cancel(job.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.match(cancelled.error?.message ?? '', /cancelled by the operator/);
    await until(() => nodes.every((n) => keygenSessions(n).every((s) => s.state === 'failed')), 15_000);
    for (const n of nodes) assert.match(keygenSessions(n)[0]!.errorReason ?? '', /^cancelled by the operator at /, n.name);
    await jobs.settled();
    assert.equal(jobs.list().find((j) => j.id === job.id)?.state, 'cancelled', 'a late session end does not overwrite the cancel');
  });

  it('locking the vault during key generation ends it as failed with "vault locked during key generation" on every node and in the audit logs', async () => {
    const { jobs, cluster, vault } = nodes[0]!.services;
    const handlers = createHandlers(nodes[0]!.services);
    const job = jobs.start(keygenJob(cluster, vault, 'ecdsa'));
    await until(() => nodes.every((n) => keygenSessions(n).filter((s) => s.state === 'running').length === 1), 30_000);
    const sessionId = keygenSessions(nodes[0]!).find((s) => s.state === 'running')!.sessionId;

    await handlers['vault.lock']({} as never, {} as never);
    assert.equal(vault.status().state, 'locked');
    const ended = jobs.list().find((j) => j.id === job.id)!;
    assert.equal(ended.state, 'failed');
    assert.equal(ended.error?.code, 'VAULT_LOCKED');
    assert.match(ended.error?.message ?? '', /vault locked during key generation/);

    const reasonOn = (n: TestNode) => n.services.db.prepare('SELECT state, error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId) as { state: string; error_reason: string } | undefined;
    await until(() => nodes.every((n) => reasonOn(n)?.state === 'failed'), 15_000);
    for (const n of nodes) {
      assert.deepEqual(reasonOn(n), { state: 'failed', error_reason: 'vault locked during key generation' }, n.name);
      const failed = n.services.audit.list({ type: 'MPC_KEYGEN_FAILED' }).entries.find((e) => e.subject === sessionId);
      assert.equal(failed?.details.reason, 'vault locked during key generation', `${n.name} audited the failure with the reason`);
    }
    const cancelledEntry = nodes[0]!.services.audit.list({ type: 'JOB_CANCELLED' }).entries.find((e) => e.subject === job.id);
    assert.equal(cancelledEntry?.details.reason, 'vault locked during key generation');
    await vault.unlock(GOOD_PASSPHRASE);
    await cluster.connect(coordinator.url);
  });

  it('an idle lock (no request from the screen) ends a running key generation the same way', async () => {
    const { jobs, cluster, vault } = nodes[0]!.services;
    const job = jobs.start(keygenJob(cluster, vault, 'ecdsa'));
    await until(() => nodes.every((n) => keygenSessions(n).filter((s) => s.state === 'running').length === 1), 30_000);
    const sessionId = keygenSessions(nodes[0]!).find((s) => s.state === 'running')!.sessionId;
    await vault.lock('idle');
    assert.equal(jobs.list().find((j) => j.id === job.id)?.error?.code, 'VAULT_LOCKED');
    const reasonOn = (n: TestNode) => (n.services.db.prepare('SELECT error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId) as { error_reason: string | null } | undefined)?.error_reason;
    await until(() => nodes.every((n) => reasonOn(n) === 'vault locked during key generation'), 15_000);
    await vault.unlock(GOOD_PASSPHRASE);
    await cluster.connect(coordinator.url);
  });

  it('locking the vault ends the sessions this node joined for a peer: failed at once, not left running until a restart', async () => {
    const [a, b] = nodes;
    const started = b!.services.cluster.createKeyset('ecdsa').catch((e: unknown) => e);
    await until(() => nodes.every((n) => keygenSessions(n).filter((s) => s.state === 'running').length === 1), 30_000);
    const sessionId = keygenSessions(a!).find((s) => s.state === 'running')!.sessionId;
    await a!.services.vault.lock('operator');
    const row = a!.services.db.prepare('SELECT state, error_reason FROM mpc_sessions WHERE session_id = ?').get(sessionId) as { state: string; error_reason: string };
    assert.deepEqual(row, { state: 'failed', error_reason: 'The vault of this node was locked.' });
    // The requester hears of it from the coordinator and fails too, with the same reason.
    assert.ok((await started) instanceof Error);
    const onB = () => b!.services.db.prepare('SELECT state FROM mpc_sessions WHERE session_id = ?').get(sessionId) as { state: string };
    await until(() => onB().state === 'failed', 15_000);
    await a!.services.vault.unlock(GOOD_PASSPHRASE);
    await a!.services.cluster.connect(coordinator.url);
  });
});
