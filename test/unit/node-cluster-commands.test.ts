/**
 * The node's command line picks its coordinator the way the console does: plain ws:// only on this
 * machine, wss:// elsewhere with the certificate pinned, never both a coordinator and the air gap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppFailure } from '../../main/errors';
import { chosenTransport } from '../../main/node/cluster-commands';

const refused = (code: string, sentence: RegExp) => (error: unknown) => error instanceof AppFailure && error.code === code && sentence.test(error.message);
const PIN = 'AB:'.repeat(31) + 'AB';

describe('node command line: coordinator or air gap', () => {
  it('refuses plain ws:// off this machine and wss:// off this machine without a pin', () => {
    assert.throws(() => chosenTransport({ coordinator: 'ws://10.0.0.5:7400' }), refused('COORDINATOR_INSECURE', /Plain ws:\/\/ is refused for 10\.0\.0\.5/));
    assert.throws(() => chosenTransport({ coordinator: 'wss://10.0.0.5:7400' }), refused('COORDINATOR_PIN_REQUIRED', /SHA-256 fingerprint of its TLS certificate/));
  });

  it('takes a pinned wss:// coordinator, a loopback ws:// one, or the air gap — never a coordinator and the air gap', () => {
    assert.deepEqual(chosenTransport({ coordinator: 'wss://10.0.0.5:7400', 'coordinator-cert-sha256': PIN, cluster: 'treasury' }), { kind: 'coordinator', url: 'wss://10.0.0.5:7400', certSha256: 'ab'.repeat(32), clusterId: 'treasury' });
    assert.deepEqual(chosenTransport({ coordinator: 'ws://127.0.0.1:7400' }), { kind: 'coordinator', url: 'ws://127.0.0.1:7400', certSha256: null, clusterId: null });
    assert.deepEqual(chosenTransport({ 'air-gapped': true }), { kind: 'airgap' });
    assert.deepEqual(chosenTransport({}), { kind: 'none' });
    assert.throws(() => chosenTransport({ 'air-gapped': true, coordinator: 'ws://127.0.0.1:7400' }), refused('COORDINATOR_ADDRESS_INVALID', /exclude each other/));
    assert.throws(() => chosenTransport({ 'coordinator-cert-sha256': PIN }), refused('COORDINATOR_ADDRESS_INVALID', /needs --coordinator/));
    assert.throws(() => chosenTransport({ coordinator: 'ws://127.0.0.1:7400', cluster: 'bad name!' }), refused('COORDINATOR_ADDRESS_INVALID', /cluster name/));
  });
});
