/**
 * A coordinator that lies about how a session ended cannot split a keyset across share epochs.
 * Node C fails to keep its refreshed share; the hostile coordinator still tells A and B that the
 * refresh completed. Each node switches only on every party's signed confirmation, so A and B
 * keep their current shares (the new ones stay sealed), record why, and "Finish interrupted
 * refresh" proves the old shares; the keyset keeps signing with every quorum. A confirmation the
 * coordinator forges for C (A's, relabelled) is refused the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Coordinator, type SessionEndFailure } from '../../main/coordinator/server';
import type { PublicResult, ServerMessage } from '../../main/coordinator/protocol';
import { PENDING_SHARE_RECORD } from '../../main/cluster/keyset-refresh';
import { approve, enrolGuardians, makeGuardians, rejectsWith, REQUESTER, type Guardian } from './backup-support';
import { enrolAll, startNode, stopNode, until, type TestNode } from './support';

type End = Extract<ServerMessage, { t: 'session-end' }>;

/** Turns a party's failure of one session into "completed" for everyone once the others finished. */
class LyingCoordinator extends Coordinator {
  /** Session ids whose failure is reported as a completion. */
  readonly lieAbout = new Set<string>();
  /** Rewrites the completed session end sent to every node (e.g. to add a forged confirmation). */
  forgeEnd: ((end: End) => End) | null = null;

  private liveResults(sessionId: string): Map<string, PublicResult> | undefined {
    return (this as unknown as { live: Map<string, { results: Map<string, PublicResult> }> }).live.get(sessionId)?.results;
  }

  protected override send(nodeId: string, message: ServerMessage): boolean {
    if (message.t === 'session-end' && message.state === 'completed' && this.forgeEnd) return super.send(nodeId, this.forgeEnd(message));
    return super.send(nodeId, message);
  }

  protected override end(sessionId: string, failure: SessionEndFailure | null, reporter?: string, result?: PublicResult): void {
    if (!failure || !this.lieAbout.has(sessionId)) return super.end(sessionId, failure, reporter, result);
    // Wait (bounded) until the two honest parties reported done, then claim the session completed.
    let tries = 0;
    const poll = setInterval(() => {
      const results = this.liveResults(sessionId);
      tries += 1;
      if (!results || results.size >= 2 || tries > 250) {
        clearInterval(poll);
        const first = results ? [...results.values()][0] : undefined;
        super.end(sessionId, first ? null : failure, undefined, first);
      }
    }, 20);
  }
}

describe('a coordinator that reports a completion the parties did not all reach', { timeout: 300_000 }, () => {
  let coordinator: LyingCoordinator;
  let nodes: TestNode[] = [];
  let guardians: Guardian[] = [];
  let keysetId = '';
  /** How many refresh sessions each of A and B should have recorded as an unproven completion by now. */
  let expectedUnproven = 0;
  const svc = (i: number) => nodes[i]!.services;
  const id = async (i: number) => (await svc(i).cluster.identity()).nodeId;

  before(async () => {
    guardians = await makeGuardians();
    coordinator = new LyingCoordinator({ storeFile: ':memory:', clusterId: 'test' });
    await coordinator.listen();
    nodes = [await startNode('node-a'), await startNode('node-b'), await startNode('node-c')];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    for (const n of nodes) await enrolGuardians(n.services, guardians);
    keysetId = (await svc(0).cluster.createKeyset('eddsa')).keysetId;
    await until(() => nodes.every((n) => n.services.cluster.keyset(keysetId)?.status === 'active'), 30_000);
  });
  after(async () => {
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator.close();
  });

  /** Runs an approved refresh from A while C cannot keep its new share, under the lying coordinator. */
  async function splitRefresh(forge: ((end: End) => End) | null): Promise<void> {
    const view = await svc(0).refresh.requestApproval(keysetId, { reason: 'node C may be compromised', requester: REQUESTER, ttlMinutes: 60 });
    await approve(svc(0), view.id, [guardians[0]!, guardians[1]!]);
    const c = svc(2).cluster.keysetRefreshes;
    const seal = c.sealPending.bind(c);
    c.sealPending = () => {
      throw new Error('disk full');
    };
    coordinator.forgeEnd = forge;
    try {
      await rejectsWith(
        svc(0).refresh.run(keysetId, view.id, {
          onSession: (sessionId, step) => {
            if (step === 'refresh') coordinator.lieAbout.add(sessionId);
          },
        }),
        'REFRESH_INTERRUPTED',
      );
    } finally {
      c.sealPending = seal;
      coordinator.forgeEnd = null;
    }
  }

  /** A and B did not switch, hold the new share sealed, and recorded why; C never got a new share. */
  async function assertNoSplit(epoch: number): Promise<void> {
    const unproven = (i: number) => svc(i).cluster.sessions().filter((s) => s.protocol === 'eddsa-refresh' && s.state === 'failed' && s.errorCode === 'COMPLETION_UNPROVEN').length;
    // Each node hears the end on its own connection: wait for both to have handled it.
    await until(() => [0, 1].every((i) => unproven(i) >= expectedUnproven), 10_000);
    for (const i of [0, 1]) {
      assert.equal(svc(i).cluster.keyset(keysetId)!.shareEpoch, epoch, `node ${i} kept its current share`);
      assert.equal(svc(i).cluster.keysetRefreshes.pending(keysetId)?.toEpoch, epoch + 1, `node ${i} holds the new share sealed`);
    }
    assert.equal(svc(2).cluster.keyset(keysetId)!.shareEpoch, epoch);
    assert.equal(svc(2).cluster.keysetRefreshes.pending(keysetId), null);
  }

  it('a missing confirmation: no node switches; the old shares prove themselves and every quorum signs', async () => {
    await splitRefresh(null);
    expectedUnproven = 1;
    await assertNoSplit(0);
    assert.ok(svc(0).audit.list({ type: 'MPC_COMPLETION_UNPROVEN' }).total >= 1);
    for (const i of [0, 1]) {
      const out = await svc(i).refresh.finishInterrupted(keysetId);
      assert.equal(out.kept, 'old', `node ${i} keeps the share the others hold`);
      assert.equal(svc(i).vault.records.get(PENDING_SHARE_RECORD.type, keysetId), null);
    }
    const [a, b, c] = [await id(0), await id(1), await id(2)];
    for (const [requester, pair] of [[0, [a, b]], [1, [b, c]], [2, [a, c]]] as const) {
      const check = await svc(requester).cluster.keyCheck(keysetId, 'key-check', { prefer: [...pair] });
      assert.deepEqual([...check.parties].sort(), [...pair].sort());
    }
  });

  it('a forged confirmation for the party that did not finish is refused the same way', async () => {
    const cId = await id(2);
    await splitRefresh((end) => {
      const honest = end.attestations ?? [];
      const copied = honest[0] ? [{ ...honest[0], nodeId: cId }] : [];
      return { ...end, attestations: [...honest, ...copied] };
    });
    expectedUnproven = 2;
    await assertNoSplit(0);
    const rows = svc(0).audit.list({ type: 'MPC_COMPLETION_UNPROVEN' }).entries;
    assert.ok(rows.some((r) => /does not carry its signature/.test(JSON.stringify(r.details))), JSON.stringify(rows.map((r) => r.details)));
    for (const i of [0, 1]) assert.equal((await svc(i).refresh.finishInterrupted(keysetId)).kept, 'old');
  });
});
