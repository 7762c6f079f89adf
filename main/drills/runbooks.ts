/**
 * The runbooks rehearsed as drills (seed 004's "a node died", "a share was lost", "a node was
 * compromised", plus an unavailable guardian and a lost console). Each is a list of real steps
 * against the lab cluster or a real keyset; none moves funds (what is signed is a key-check
 * message, domain separated from every transaction). Cleanup steps put the lab back as it was,
 * whatever happened before them.
 */
import type { RunbookId, RunbookView } from '../../preload/channels/drills';
import { SHARE_RECORD } from '../cluster/cluster-service';
import { removeRestoredKeyset } from '../cluster/keyset-install';
import { fail } from '../errors';
import type { Db } from '../store/database';
import { drillSignature, guardiansApprove, nodeName, requireKeyset, type DrillContext, type StepDef } from './drill-steps';

export interface RunbookDef extends Omit<RunbookView, 'steps'> {
  plan(): StepDef[];
  /** Steps that restore the lab or the vault; they run after the others, also after a failure or cancel. */
  cleanup(): StepDef[];
}

/** The lab peer a drill takes out: the last lab node. */
const VICTIM = 'lab-node-c';

function labCheck(): StepDef {
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

const nodeDied: RunbookDef = {
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

const nodeCompromised: RunbookDef = {
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

const guardianUnavailable: RunbookDef = {
  id: 'guardian-unavailable',
  title: 'A guardian is unavailable',
  summary: 'One of the three guardians cannot be reached. The other two must still be able to approve. The drill has each of the two remaining guardians sign a fresh challenge with their own key (a Ledger or their key file), checked against the registry.',
  needsLab: false,
  needsGuardians: true,
  needsKeyset: false,
  plan: () => {
    return [
      {
        id: 'guardians-ready',
        title: 'Check the registry and who takes part',
        phase: 'setup',
        run: async (c) => {
          const registry = c.deps.guardians.registry();
          if (!registry.complete) fail('DRILL_NOT_READY', `Only ${registry.guardians.length} of 3 guardians are enrolled; enrol all three first.`);
          const away = registry.guardians.find((g) => g.id === c.input.unavailableGuardianId);
          if (!away) fail('DRILL_NOT_READY', 'Choose the guardian who is unavailable for this drill.');
          const chosen = c.input.guardians ?? [];
          const ids = new Set(chosen.map((g) => g.guardianId));
          if (ids.size !== 2 || ids.has(away.id) || chosen.some((g) => !registry.guardians.some((r) => r.id === g.guardianId))) {
            fail('DRILL_NOT_READY', `The two other guardians (not ${away.name}) must each sign; choose them and how they sign.`);
          }
          return `${away.name} is treated as unavailable; ${registry.guardians.filter((g) => ids.has(g.id)).map((g) => g.name).join(' and ')} take part.`;
        },
      },
      {
        id: 'unavailable',
        title: 'The guardian is unavailable',
        phase: 'incident',
        run: async (c) => `${c.deps.guardians.registry().guardians.find((g) => g.id === c.input.unavailableGuardianId)?.name ?? 'The guardian'} does not sign anything during this drill.`,
      },
      ...[0, 1].map((i): StepDef => ({
        id: `guardian-${i + 1}`,
        title: `Guardian ${i + 1} of 2 signs a fresh challenge`,
        phase: 'recovery',
        run: async (c) => {
          const g = c.input.guardians?.[i];
          if (!g) fail('DRILL_NOT_READY', 'Two guardians take part in this drill.');
          const challenge = c.deps.keyChecks.guardianChallenge(g.guardianId);
          const result = await c.deps.keyChecks.guardianSign(challenge.challengeId, g.signer);
          c.participants.add(`guardian ${challenge.guardianName}`);
          return result.detail;
        },
      })),
      {
        id: 'quorum',
        title: 'Check that two guardians can approve',
        phase: 'check',
        run: async (c) => {
          const signed = [...c.participants].filter((p) => p.startsWith('guardian '));
          if (signed.length < 2) fail('DRILL_STEP_FAILED', `Only ${signed.length} guardian(s) proved their key; 2 are needed to approve.`);
          return `${signed.map((s) => s.slice('guardian '.length)).join(' and ')} proved their keys: the quorum of two can approve without the third.`;
        },
      },
    ];
  },
  cleanup: () => [],
};

const consoleLost: RunbookDef = {
  id: 'console-lost',
  title: 'The console machine was lost',
  summary: 'This machine is gone; its shares must come back from the backups with two guardians. The drill checks, without opening any secret, that every keyset this node holds has a current backup that passes the verify-only check, and that the guardians who can open it are enrolled.',
  needsLab: false,
  needsGuardians: false,
  needsKeyset: false,
  plan: () => [
    {
      id: 'inventory',
      title: 'List the shares this node holds',
      phase: 'setup',
      run: async (ctx) => {
        const keysets = ctx.deps.cluster.keysets().filter((k) => k.status === 'active');
        if (!keysets.length) fail('DRILL_NOT_READY', 'This node holds no share yet: there is nothing to recover.');
        const registry = ctx.deps.guardians.registry();
        if (registry.guardians.length < 2) fail('DRILL_STEP_FAILED', `Only ${registry.guardians.length} guardian(s) enrolled: two are needed to open a backup.`);
        return `${keysets.length} keyset share(s) to recover; ${registry.guardians.length} guardians enrolled, any two open a backup.`;
      },
    },
    {
      id: 'machine-lost',
      title: 'The console machine is lost',
      phase: 'incident',
      run: async () => 'From here on, only the backup files and the guardians count.',
    },
    {
      id: 'verify-backups',
      title: 'Verify-only check of a current backup of every share',
      phase: 'check',
      run: async (ctx) => {
        const keysets = ctx.deps.cluster.keysets().filter((k) => k.status === 'active');
        const backups = ctx.deps.backup.backups.list().filter((b) => b.status === 'current');
        const lines: string[] = [];
        const missing: string[] = [];
        for (const k of keysets) {
          const candidates = backups.filter((b) => b.keysetId === k.keysetId);
          let passed = false;
          for (const b of candidates) {
            const r = ctx.deps.keyChecks.checkBackup(b.backupId, `drill ${ctx.drillId.slice(0, 8)}`);
            if (r.outcome === 'passed') {
              passed = true;
              lines.push(`${k.keysetId}: backup ${b.backupId.slice(0, 8)} verifies`);
              break;
            }
          }
          if (!passed) missing.push(k.keysetId);
        }
        if (missing.length) fail('DRILL_STEP_FAILED', `No current backup passes the verify-only check for keyset ${missing.join(', ')}: with this machine lost, that share would be gone. Make a backup (Backups screen).`);
        return `${lines.join('; ')}.`;
      },
    },
  ],
  cleanup: () => [],
};

/** The share is taken out of the vault and kept aside (sealed, as stored) so a failed drill can put it back. */
interface ShareAside {
  keysetRow: Record<string, unknown>;
  sealedRow: Record<string, unknown>;
}

function takeShareAside(db: Db, keysetId: string): ShareAside {
  const keysetRow = db.prepare('SELECT * FROM mpc_keysets WHERE keyset_id = ?').get(keysetId) as Record<string, unknown> | undefined;
  const sealedRow = db.prepare('SELECT * FROM sealed_records WHERE record_type = ? AND record_id = ?').get(SHARE_RECORD.type, keysetId) as Record<string, unknown> | undefined;
  if (!keysetRow || !sealedRow) fail('DRILL_NOT_READY', `This node holds no share of keyset ${keysetId}.`);
  removeRestoredKeyset(db, keysetId);
  return { keysetRow, sealedRow };
}

function putShareBack(db: Db, aside: ShareAside): void {
  db.transaction(() => {
    for (const [table, row] of [['mpc_keysets', aside.keysetRow], ['sealed_records', aside.sealedRow]] as const) {
      const cols = Object.keys(row);
      db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
    }
  })();
}

function shareLost(db: Db): RunbookDef {
  return {
    id: 'share-lost',
    title: 'A share was lost',
    summary: 'This node\'s share of a keyset is gone (disk failure, wiped vault). It comes back from a backup: two guardians approve the restore and open the backup; the restored share must match the keyset and sign with the others. In the lab, the drill takes this node\'s share of a lab keyset out, restores it from the backup and signs with it; a failed restore puts the original share back.',
    needsLab: true,
    needsGuardians: true,
    needsKeyset: true,
    plan: () => [
      labCheck(),
      {
        id: 'backup-ready',
        title: 'Read the backup and check it is current',
        phase: 'setup',
        run: async (c) => {
          const keyset = requireKeyset(c);
          if (!c.input.backupFile || !c.input.vaultPassphrase) fail('DRILL_NOT_READY', 'Choose the backup file of this node\'s share and type the vault passphrase (the operator requests the restore).');
          if ((c.input.guardians ?? []).length !== 2 || c.input.guardians!.some((g) => !g.backupPassphrase)) fail('DRILL_NOT_READY', 'Two guardians take part: each approves with their key and types their backup passphrase.');
          const v = c.deps.backup.backups.verify(c.input.backupFile);
          if (v.keysetId !== keyset.keysetId) fail('DRILL_NOT_READY', `The backup is of keyset ${v.keysetId}, not ${keyset.keysetId}.`);
          if (!v.ok) fail('DRILL_NOT_READY', `The backup does not pass the verify-only check: ${v.checks.filter((x) => !x.ok).map((x) => x.detail).join(' ')}`);
          return `Backup ${v.backupId.slice(0, 8)} is current (epoch ${v.epoch.slice(0, 8)}…) and verifies.`;
        },
      },
      {
        id: 'lose-share',
        title: 'This node\'s share of the keyset is lost',
        phase: 'incident',
        run: async (c) => {
          const keyset = requireKeyset(c);
          c.state.set('aside', takeShareAside(db, keyset.keysetId));
          return `The share of ${keyset.keysetId} was taken out of this vault (kept aside, sealed, until the drill ends).`;
        },
      },
      {
        id: 'approve-restore',
        title: 'Two guardians approve the restore',
        phase: 'recovery',
        run: async (c) => {
          const keyset = requireKeyset(c);
          const request = await c.deps.backup.restore.requestRestore(c.input.backupFile!, keyset.keysetId, `recovery drill ${c.drillId.slice(0, 8)}`, { as: 'operator', vaultPassphrase: c.input.vaultPassphrase! }, 15);
          c.state.set('requestId', request.id);
          c.participants.add('operator');
          await guardiansApprove(c, request.id);
          return 'Two guardians approved restoring this exact backup file.';
        },
      },
      {
        id: 'restore',
        title: 'Restore the share from the backup (it proves itself with the other nodes)',
        phase: 'recovery',
        run: async (c) => {
          const keyset = requireKeyset(c);
          const read = c.deps.backup.backups.read(c.input.backupFile!);
          const unlocks = c.input.guardians!.map((g) => ({ guardianId: g.guardianId, passphrase: g.backupPassphrase! }));
          const out = await c.deps.backup.restore.restore(c.input.backupFile!, keyset.keysetId, c.deps.backup.backups.resolveUnlocks(read.file, unlocks), c.state.get('requestId') as string);
          // The keyset stays what it was: a lab keyset.
          if (keyset.lab) db.prepare('UPDATE mpc_keysets SET lab = 1 WHERE keyset_id = ?').run(keyset.keysetId);
          c.state.delete('aside');
          return `Restored; the share proved itself in session ${out.proofSessionId.slice(0, 12)}…`;
        },
      },
      {
        id: 'sign-restored',
        title: 'Sign with the restored share and check the signature',
        phase: 'check',
        run: async (c) => {
          const me = c.deps.vault.nodeId();
          const detail = await drillSignature(c, { prefer: [me] });
          if (!c.participants.has(`node ${nodeName(c, me)}`)) fail('DRILL_STEP_FAILED', 'The restored share did not take part in the signature.');
          return detail;
        },
      },
    ],
    cleanup: () => [
      {
        id: 'put-back',
        title: 'Put the original share back if the restore did not finish',
        phase: 'cleanup',
        run: async (c) => {
          const aside = c.state.get('aside') as ShareAside | undefined;
          if (!aside) return 'Nothing to put back.';
          if (c.deps.cluster.keyset(String(aside.keysetRow.keyset_id))) {
            c.state.delete('aside');
            return 'The keyset is in place.';
          }
          putShareBack(db, aside);
          c.state.delete('aside');
          return 'The original share was put back as it was.';
        },
      },
    ],
  };
}

export function runbooks(db: Db): Record<RunbookId, RunbookDef> {
  return { 'node-died': nodeDied, 'share-lost': shareLost(db), 'node-compromised': nodeCompromised, 'guardian-unavailable': guardianUnavailable, 'console-lost': consoleLost };
}

/** The runbook as the screen lists it, with its steps in words. */
export function runbookView(def: RunbookDef): RunbookView {
  const { plan, cleanup, ...rest } = def;
  return { ...rest, steps: [...plan(), ...cleanup()].map((s) => s.title) };
}
