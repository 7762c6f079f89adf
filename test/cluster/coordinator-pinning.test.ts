/**
 * Reaching the cluster's coordinator: plain ws:// only on this machine, wss:// elsewhere with the
 * certificate's SHA-256 pinned. A coordinator presenting another certificate never hears this
 * node's hello; one serving another cluster is refused; nothing is saved when the check fails;
 * the configuration survives a lock and the console reconnects by itself.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validCoordinator } from '../../main/cluster/cluster-config';
import type { Coordinator } from '../../main/coordinator/server';
import { AppFailure } from '../../main/errors';
import { callChannel, GOOD_PASSPHRASE } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { startCoordinator, startNode, stopNode, until, type TestNode } from './support';

function selfSignedCertificate(dir: string, name: string): { cert: Buffer; key: Buffer; sha256: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  const cert = readFileSync(certFile);
  return { cert, key: readFileSync(keyFile), sha256: new X509Certificate(cert).fingerprint256 };
}

const refused = (code: string, sentence: RegExp) => (error: unknown) => error instanceof AppFailure && error.code === code && sentence.test(error.message);

describe('coordinator address and certificate pin', { timeout: 120_000 }, () => {
  const dir = tempDir('vk-pin-');
  let tlsCoordinator: Coordinator;
  let plainCoordinator: Coordinator;
  let node: TestNode;
  let good: ReturnType<typeof selfSignedCertificate>;
  let other: ReturnType<typeof selfSignedCertificate>;

  before(async () => {
    good = selfSignedCertificate(dir.path, 'coordinator');
    other = selfSignedCertificate(dir.path, 'impostor');
    tlsCoordinator = await startCoordinator({ clusterId: 'treasury', tls: { cert: good.cert, key: good.key } });
    plainCoordinator = await startCoordinator({ clusterId: 'treasury' });
    node = await startNode('console');
  });

  after(async () => {
    await stopNode(node);
    await tlsCoordinator?.close();
    await plainCoordinator?.close();
    dir.cleanup();
  });

  it('refuses plain ws:// off this machine, and wss:// off this machine without a pin', () => {
    assert.throws(() => validCoordinator('ws://10.0.0.5:7400', null), refused('COORDINATOR_INSECURE', /Plain ws:\/\/ is refused for 10\.0\.0\.5/));
    assert.throws(() => validCoordinator('ws://coordinator.example:7400', null), refused('COORDINATOR_INSECURE', /not this machine/));
    assert.throws(() => validCoordinator('wss://10.0.0.5:7400', ''), refused('COORDINATOR_PIN_REQUIRED', /give the SHA-256 fingerprint/));
    assert.throws(() => validCoordinator('wss://10.0.0.5:7400', 'abcd'), refused('COORDINATOR_ADDRESS_INVALID', /64 hex characters/));
    assert.throws(() => validCoordinator('https://10.0.0.5:7400', good.sha256), refused('COORDINATOR_ADDRESS_INVALID', /must start with wss:\/\//));
    assert.deepEqual(validCoordinator('wss://10.0.0.5:7400', good.sha256), { url: 'wss://10.0.0.5:7400', certSha256: good.sha256.replace(/:/g, '').toLowerCase() });
    assert.deepEqual(validCoordinator('ws://127.0.0.1:7400', null), { url: 'ws://127.0.0.1:7400', certSha256: null });
    assert.deepEqual(validCoordinator('ws://[::1]:7400', null), { url: 'ws://[::1]:7400', certSha256: null });
  });

  it('talks to the pinned certificate only: another certificate never hears this node\'s hello', async () => {
    const me = await node.services.cluster.identity();
    assert.match(tlsCoordinator.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(node.services.cluster.connect(tlsCoordinator.url, { certSha256: other.sha256.replace(/:/g, '').toLowerCase() }), /not the pinned .* This node did not identify itself to it/);
    assert.ok(!tlsCoordinator.connectedNodes.includes(me.nodeId));
    // Without a pin, the usual certificate authorities decide: a self-signed certificate is refused.
    await assert.rejects(node.services.cluster.connect(tlsCoordinator.url), /Cannot reach the coordinator/);
    assert.ok(!tlsCoordinator.connectedNodes.includes(me.nodeId));
    await node.services.cluster.connect(tlsCoordinator.url, { certSha256: good.sha256.replace(/:/g, '').toLowerCase(), clusterId: 'treasury' });
    await until(() => tlsCoordinator.connectedNodes.includes(me.nodeId));
    node.services.cluster.disconnect();
  });

  it('saves nothing when the check fails: wrong pin, wrong cluster, insecure address', async () => {
    const pinned = await callChannel(node.services, 'membership.configure', { name: 'treasury', airgapped: false, coordinatorUrl: tlsCoordinator.url, certSha256: other.sha256 });
    assert.ok(!pinned.ok);
    assert.equal(pinned.error.code, 'COORDINATOR_UNAVAILABLE');
    assert.match(pinned.error.message, /^Nothing was saved: .*not the pinned/);
    const named = await callChannel(node.services, 'membership.configure', { name: 'payroll', airgapped: false, coordinatorUrl: plainCoordinator.url, certSha256: null });
    assert.ok(!named.ok);
    assert.match(named.error.message, /serves cluster "treasury", not "payroll"/);
    const insecure = await callChannel(node.services, 'membership.configure', { name: 'treasury', airgapped: false, coordinatorUrl: 'ws://192.168.1.20:7400', certSha256: null });
    assert.ok(!insecure.ok);
    assert.equal(insecure.error.code, 'COORDINATOR_INSECURE');
    const status = await callChannel(node.services, 'membership.status', {});
    assert.ok(status.ok);
    assert.equal(status.value.configured, null);
    assert.equal(node.services.cluster.mode, 'none');
  });

  it('configures the cluster, keeps it through a lock, and reconnects after unlocking', async () => {
    const done = await callChannel(node.services, 'membership.configure', { name: 'treasury', airgapped: false, coordinatorUrl: tlsCoordinator.url, certSha256: good.sha256 });
    assert.ok(done.ok, JSON.stringify(!done.ok && done.error));
    assert.equal(done.value.configured?.name, 'treasury');
    assert.equal(done.value.configured?.certSha256, good.sha256.replace(/:/g, '').toLowerCase());
    assert.equal(done.value.connected, true);
    assert.equal(node.services.cluster.mode, 'configured');
    const me = done.value.members.find((m) => m.isSelf);
    assert.equal(me?.online, true, 'this node is live');
    await node.services.vault.lock();
    assert.equal(node.services.cluster.connected, false);
    await node.services.vault.unlock(GOOD_PASSPHRASE);
    await until(() => node.services.cluster.connected, 10_000);
    assert.equal(node.services.cluster.clusterId, 'treasury');
    const airgapped = await callChannel(node.services, 'membership.configure', { name: 'treasury', airgapped: true });
    assert.ok(airgapped.ok);
    assert.equal(airgapped.value.configured?.transport, 'airgap');
    assert.equal(airgapped.value.connected, false);
    assert.deepEqual(node.services.audit.list({ type: 'CLUSTER_CONFIGURED' }).entries.map((e) => e.details.transport), ['airgap', 'coordinator'], 'newest first');
  });
});
