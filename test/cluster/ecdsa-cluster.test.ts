import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { keccak256, recoverAddress, Signature } from 'ethers';
import { BUNDLE_SUFFIX } from '../../main/cluster/airgap';
import { tempDir } from '../support/temp-dir';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, startPrimedTrio, until, type TestNode, type TestTrio } from './support';

// One ECDSA key generation only: it takes tens of seconds with the current big-integer backend.
describe('ECDSA keyset through the coordinator on loopback', { timeout: 400_000 }, () => {
  let nodes: TestNode[] = [];
  let trio: TestTrio | undefined;

  before(async () => {
    trio = await startPrimedTrio();
    ({ nodes } = trio);
  });
  after(async () => {
    await trio?.stop();
  });

  it('creates a 2-of-3 keyset with an Ethereum address; each of the three quorums, and the air gap, sign digests that recover to it', async () => {
    const keyset = await nodes[0]!.services.cluster.createKeyset('ecdsa');
    assert.match(keyset.keyRef, /^mpc-tecdsa:\/\/test\/ks-/);
    assert.match(keyset.address ?? '', /^0x[0-9a-fA-F]{40}$/);
    await until(() => nodes.every((n) => n.services.cluster.keyset(keyset.keysetId)?.status === 'active'));
    const ids = nodes.map((n) => n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId);
    const recovers = (preimage: Buffer, out: { signature: string; recoveryId: number | null }) => {
      const sig = Buffer.from(out.signature, 'hex');
      const signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, v: 27 + (out.recoveryId ?? 0) });
      return recoverAddress(keccak256(preimage), signature);
    };
    // Every quorum of the 2-of-3 keyset signs a payload each node hashes itself, each recovering
    // to the keyset's address.
    for (const quorum of [[ids[0]!, ids[1]!], [ids[0]!, ids[2]!], [ids[1]!, ids[2]!]]) {
      const payload = Buffer.from(`ecdsa over the cluster ${quorum.join('+')}`);
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, payload));
      const out = await nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, payload, { prefer: quorum });
      assert.deepEqual([...out.parties].sort(), [...quorum].sort());
      assert.equal(out.mode, 'full');
      assert.equal(out.digest, keccak256(payload).slice(2));
      assert.equal(recovers(payload, out), keyset.address);
    }
    // A key check, signed and verified as any other signature.
    const check = await nodes[0]!.services.cluster.keyCheck(keyset.keysetId, 'restore-proof');
    assert.equal(recovers(Buffer.from(check.message, 'hex'), check), keyset.address);

    // The same keyset once over the air gap: bundles carried between two folders by hand.
    const media = tempDir('vk-airgap-ecdsa-');
    try {
      const [here, there] = [join(media.path, 'console'), join(media.path, 'node-c')];
      mkdirSync(here);
      mkdirSync(there);
      const carry = (from: string, to: string) => {
        for (const n of readdirSync(from)) if (n.endsWith(BUNDLE_SUFFIX)) renameSync(join(from, n), join(to, n));
      };
      const payload = Buffer.from('ecdsa across the gap');
      const permit = allowEverywhere(nodes, testPermit(keyset.keysetId, payload));
      const request = await nodes[0]!.services.cluster.airgapRequest(keyset.keysetId, { permit, message: payload }, ids[2]!, here);
      let settled = false;
      void request.result.then(() => (settled = true), () => (settled = true));
      const deadline = Date.now() + 60_000;
      while (!settled && Date.now() < deadline) {
        carry(here, there);
        assert.deepEqual((await nodes[2]!.services.cluster.airgapImport(there)).refused, []);
        carry(there, here);
        assert.deepEqual((await nodes[0]!.services.cluster.airgapImport(here)).refused, []);
        await new Promise((r) => setTimeout(r, 50));
      }
      const out = await request.result;
      assert.equal(recovers(payload, out), keyset.address);
    } finally {
      media.cleanup();
    }
  });
});
