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
import { drillSignature, guardiansApprove, nodeName, requireKeyset, type RunbookDef, type StepDef } from './drill-steps';
import { labCheck, nodeCompromised, nodeDied } from './lab-runbooks';

export type { RunbookDef } from './drill-steps';

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
