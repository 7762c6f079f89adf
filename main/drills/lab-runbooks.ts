/**
 * The runbooks that take a lab signer node out: "a signer node died" stops its process, "a node
 * was compromised" quarantines it, then refreshes every share with the guardians' approval. Both
 * run only on a lab keyset while the lab cluster runs, and put the node back in their cleanup.
 */
import { fail } from '../errors';
import { drillSignature, guardiansApprove, nodeName, requireKeyset, type DrillContext, type RunbookDef, type StepDef } from './drill-steps';

/** The lab peer a drill takes out: the last lab node. */
const VICTIM = 'lab-node-c';

export function labCheck(): StepDef {
  return {
    id: 'lab-ready',
    title: 'Check the lab cluster and the lab keyset',
    phase: 'setup',
    run: async (ctx) => {
      const keyset = requireKeyset(ctx);
      if (!ctx.deps.lab.status().running || ctx.deps.cluster.mode !== 'lab') fail('DRILL_NEEDS_LAB', 'This drill stops or quarantines a node: start the lab cluster (Keysets → Start lab cluster) and choose a lab keyset.');
      if (!keyset.lab) fail('DRILL_NEEDS_LAB', `Keyset ${keyset.keysetId} is not a lab keyset; this drill takes a node out and runs only on lab keysets.`);
      const down = ctx.deps.lab.peers().filter((p) => !p.running);
      if (down.length) fail('DRILL_NOT_READY', `Lab node ${down.map((p) => p.name).join(', ')} is not running; restart the lab cluster first.`);
      return `Lab cluster running with three nodes; keyset ${keyset.keysetId} is a lab keyset (${keyset.threshold}-of-${keyset.participants.length}).`;
    },
  };
}

function victimId(ctx: DrillContext): string {
  const peer = ctx.deps.lab.peers().find((p) => p.name === VICTIM);
  if (!peer?.nodeId) fail('DRILL_NOT_READY', `The lab node ${VICTIM} has no node card yet; restart the lab cluster.`);
  return peer.nodeId;
}

export const nodeDied: RunbookDef = {
  id: 'node-died',
  title: 'A signer node died',
  summary: 'One of the three signer nodes stops for good. The other two must keep signing (2-of-3). In the lab, the drill stops a signer node, signs with the remaining two, checks the signature, and brings the node back.',
  needsLab: true,
  needsGuardians: false,
  needsKeyset: true,
  plan: () => [
    labCheck(),
    {
      id: 'stop-node',
      title: `Stop signer node ${VICTIM}`,
      phase: 'incident',
      run: async (ctx) => {
        ctx.state.set('victim', victimId(ctx));
        await ctx.deps.lab.stopPeer(VICTIM);
        ctx.state.set('stopped', VICTIM);
        return `The process of ${VICTIM} was stopped; it no longer answers the coordinator.`;
      },
    },
    {
      id: 'sign-two',
      title: 'Sign 2-of-3 with the two remaining nodes and check the signature',
      phase: 'check',
      run: (ctx) => drillSignature(ctx, { prefer: [ctx.deps.vault.nodeId()], without: [ctx.state.get('victim') as string] }),
    },
  ],
  cleanup: () => [
    {
      id: 'restart-node',
      title: `Bring ${VICTIM} back`,
      phase: 'cleanup',
      run: async (ctx) => {
        if (!ctx.state.has('stopped')) return 'Nothing to bring back.';
        await ctx.deps.lab.startPeer(VICTIM);
        ctx.state.delete('stopped');
        return `${VICTIM} runs again on its own data and is connected.`;
      },
    },
  ],
};

export const nodeCompromised: RunbookDef = {
  id: 'node-compromised',
  title: 'A node was compromised',
  summary: 'A signer node may be in an attacker\'s hands. This node stops working with it at once (quarantine) and signs with the other two. Once the node is rebuilt and enrolled again, two guardians approve a refresh: every share changes while the key and address stay, so a share copied off the compromised node no longer signs. In the lab, the drill quarantines a lab node, signs without it, releases it, refreshes the lab keyset with two guardians\' approval and signs with the new shares.',
  needsLab: true,
  needsGuardians: true,
  needsKeyset: true,
  plan: () => [
    labCheck(),
    {
      id: 'refresh-ready',
      title: 'Check who approves the refresh',
      phase: 'setup',
      run: async (ctx) => {
        const keyset = requireKeyset(ctx);
        if (!ctx.input.vaultPassphrase) fail('DRILL_NOT_READY', 'Type the vault passphrase: you request the refresh that ends this drill.');
        if ((ctx.input.guardians ?? []).length !== 2) fail('DRILL_NOT_READY', 'Two guardians take part: each approves the refresh with their key.');
        ctx.deps.cluster.refreshRequests.precheck(keyset.keysetId);
        return `Keyset ${keyset.keysetId} can be refreshed (share epoch ${keyset.shareEpoch}); two guardians will approve.`;
      },
    },
    {
      id: 'quarantine',
      title: `Quarantine ${VICTIM} as compromised`,
      phase: 'incident',
      run: async (ctx) => {
        const id = victimId(ctx);
        ctx.state.set('victim', id);
        ctx.deps.cluster.quarantine(id, `recovery drill ${ctx.drillId.slice(0, 8)}: treated as compromised`, `drill:${ctx.drillId}`);
        if (ctx.deps.cluster.node(id)?.status !== 'quarantined') fail('DRILL_STEP_FAILED', `${VICTIM} could not be quarantined on this node.`);
        ctx.state.set('quarantined', id);
        return `${VICTIM} is quarantined on this node: no session includes it.`;
      },
    },
    {
      id: 'sign-without',
      title: 'Sign with the two remaining nodes and check the signature',
      phase: 'check',
      run: (ctx) => drillSignature(ctx, { prefer: [ctx.deps.vault.nodeId()], without: [ctx.state.get('victim') as string] }),
    },
    {
      id: 'rebuilt',
      title: `${VICTIM} is rebuilt and enrolled again`,
      phase: 'recovery',
      run: async (ctx) => releaseVictim(ctx, 'rebuilt from a clean install (in the lab it was never really compromised) and enrolled again'),
    },
    {
      id: 'approve-refresh',
      title: 'Two guardians approve refreshing every share of the keyset',
      phase: 'recovery',
      run: async (ctx) => {
        const keyset = requireKeyset(ctx);
        const request = await ctx.deps.refresh.requestApproval(keyset.keysetId, { reason: `recovery drill ${ctx.drillId.slice(0, 8)}: ${VICTIM} was treated as compromised`, requester: { as: 'operator', vaultPassphrase: ctx.input.vaultPassphrase! }, ttlMinutes: 15 });
        ctx.state.set('refreshRequest', request.id);
        await guardiansApprove(ctx, request.id);
        return 'Two guardians approved this exact refresh (keyset, all three share holders, the epoch it starts from).';
      },
    },
    {
      id: 'refresh',
      title: 'Refresh: every share changes, the key and address stay',
      phase: 'recovery',
      run: async (ctx) => {
        const keyset = requireKeyset(ctx);
        const out = await ctx.deps.refresh.run(keyset.keysetId, ctx.state.get('refreshRequest') as string);
        return `Every node switched from share epoch ${out.fromEpoch} to ${out.toEpoch}; the public key is unchanged, so a share copied before the refresh no longer signs with the new ones.`;
      },
    },
    {
      id: 'sign-refreshed',
      title: `Sign with the refreshed shares, ${VICTIM} included, and check the signature`,
      phase: 'check',
      run: (ctx) => drillSignature(ctx, { prefer: [ctx.deps.vault.nodeId(), ctx.state.get('victim') as string] }),
    },
  ],
  cleanup: () => [
    {
      id: 'release',
      title: `Release ${VICTIM} from quarantine`,
      phase: 'cleanup',
      run: (ctx) => releaseVictim(ctx, 'enrolled again (the lab node was never really compromised)'),
    },
  ],
};

async function releaseVictim(ctx: DrillContext, how: string): Promise<string> {
  const id = ctx.state.get('quarantined') as string | undefined;
  if (!id) return 'Nothing to release.';
  ctx.deps.cluster.release(id);
  ctx.state.delete('quarantined');
  return `${nodeName(ctx, id)} is ${how}.`;
}
