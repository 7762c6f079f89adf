/**
 * What the cluster benchmarks share: a coordinator and three signer nodes on loopback with the
 * group's auxiliary data ready, untimed warm-up before timed runs, and the checks every signature
 * the cluster returns must pass (it verifies under the keyset key, and it came from the quorum it
 * reports: the coordinator ran that session with exactly those parties, and each of them — and
 * no other member — recorded it completed).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Signature, Transaction } from 'ethers';
import type { KeysetRecord, SignOutcome } from '../../main/cluster/cluster-service';
import type { Coordinator } from '../../main/coordinator/server';
import { testPermit } from '../support/authorizer';
import { allowEverywhere, enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from '../cluster/support';

/** Runs `warmup` untimed runs (negative i), then `count` timed ones; returns the timed durations in ms. */
export async function timed(count: number, warmup: number, run: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i += 1) await run(-1 - i);
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  return times;
}

export interface BenchCluster {
  coordinator: Coordinator;
  nodes: TestNode[];
  close(): Promise<void>;
}

/** The parties a signer reported must be a quorum of the keyset, the one asked for when one was. */
export function assertQuorum(keyset: KeysetRecord, out: Pick<SignOutcome, 'parties'>, asked: readonly string[] | null, what: string): void {
  const members = new Set(keyset.participants.map((p) => p.nodeId));
  const parties = new Set(out.parties);
  const valid = parties.size === out.parties.length && out.parties.length === keyset.threshold && out.parties.every((p) => members.has(p));
  const same = asked === null || (parties.size === asked.length && asked.every((p) => parties.has(p)));
  if (!valid || !same) throw new Error(`${what}: reported parties [${out.parties.join(', ')}] are not ${asked ? `the quorum [${asked.join(', ')}]` : 'a quorum'} of keyset ${keyset.keysetId}`);
}

/**
 * The session behind a signature had exactly the reported parties, at the coordinator and at the
 * nodes: each reported party recorded it completed, the other members never ran it.
 */
export async function assertSessionParties(cluster: BenchCluster, out: Pick<SignOutcome, 'parties' | 'sessionId' | 'signature'>, what: string): Promise<void> {
  const row = cluster.coordinator.store.get(out.sessionId);
  if (!row || row.state !== 'completed') throw new Error(`${what}: the coordinator has no completed session ${out.sessionId}`);
  const ran = (JSON.parse(row.info) as { parties: Array<{ nodeId: string }> }).parties.map((p) => p.nodeId).sort();
  if (ran.join() !== [...out.parties].sort().join()) throw new Error(`${what}: the coordinator ran session ${out.sessionId} with [${ran.join(', ')}], not the reported [${out.parties.join(', ')}]`);
  for (const n of cluster.nodes) {
    const self = n.services.cluster.nodes().find((x) => x.isSelf)!.nodeId;
    const own = () => n.services.cluster.sessions(20).find((s) => s.sessionId === out.sessionId);
    if (out.parties.includes(self)) {
      // The requester hears the end first; the other party records it when its own end arrives.
      await until(() => own()?.state !== undefined && own()?.state !== 'running', 10_000).catch(() => undefined);
      const mine = own();
      if (mine?.state !== 'completed') throw new Error(`${what}: reported party ${n.name} did not record session ${out.sessionId} completed`);
      if (mine.signature !== null && mine.signature !== out.signature) throw new Error(`${what}: reported party ${n.name} recorded another signature for session ${out.sessionId}`);
    } else if (own()?.parties.some((p) => p.nodeId === self)) {
      throw new Error(`${what}: ${n.name} took part in session ${out.sessionId} but is not a reported party`);
    }
  }
}

export function assertEcdsa(keyset: KeysetRecord, tx: Transaction, out: SignOutcome, asked: readonly string[] | null, what: string): void {
  const sig = Buffer.from(out.signature, 'hex');
  if (!secp256k1.verify(sig, Buffer.from(tx.unsignedHash.slice(2), 'hex'), Buffer.from(keyset.publicKey!, 'hex'), { prehash: false, lowS: false })) {
    throw new Error(`${what}: signature does not verify under the keyset public key`);
  }
  const signed = tx.clone();
  signed.signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, yParity: (out.recoveryId ?? 0) as 0 | 1 });
  if (signed.from !== keyset.address) throw new Error(`${what}: recovers to ${signed.from}, not the keyset address ${keyset.address}`);
  assertQuorum(keyset, out, asked, what);
}

export const unsignedTx = (nonce: number) => Transaction.from({ type: 2, chainId: 1, nonce, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21_000n, to: '0x000000000000000000000000000000000000dEaD', value: 1n });
export const preimageOf = (tx: Transaction) => Buffer.from(tx.unsignedSerialized.slice(2), 'hex');

/**
 * A coordinator and three nodes on loopback, enrolled and connected, each with one entry of
 * test-only primes in its prime pool, and the group's auxiliary data generated once (timed).
 */
export async function clusterWithAux(): Promise<BenchCluster & { auxMs: number }> {
  const coordinator = await startCoordinator();
  const primes = testPrimes();
  const nodes = [await startNode('console'), await startNode('node-b'), await startNode('node-c')];
  const close = async () => {
    for (const n of nodes) await stopNode(n);
    await coordinator.close();
  };
  try {
    await enrolAll(nodes);
    for (const [i, n] of nodes.entries()) n.services.cluster.primePool.add(primes[i]!);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    const t0 = performance.now();
    await nodes[0]!.services.cluster.prepareAuxData();
    return { coordinator, nodes, close, auxMs: performance.now() - t0 };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One permitted signature of a fresh transaction through the cluster (only the call timed, through `took`), checked; returns the outcome. */
export async function signChecked(cluster: BenchCluster, keyset: KeysetRecord, nonce: number, what: string, prefer?: string[], took?: (ms: number) => void): Promise<SignOutcome> {
  const tx = unsignedTx(nonce);
  const preimage = preimageOf(tx);
  const permit = allowEverywhere(cluster.nodes, testPermit(keyset.keysetId, preimage));
  const t0 = performance.now();
  const out = await cluster.nodes[0]!.services.cluster.signWithPermit(keyset.keysetId, permit, preimage, prefer ? { prefer } : {});
  took?.(performance.now() - t0);
  assertEcdsa(keyset, tx, out, prefer ?? null, what);
  await assertSessionParties(cluster, out, what);
  return out;
}
