/**
 * What a drill step can do, shared by the runbooks: sign a key-check message (purpose "drill")
 * with a quorum and check the signature here, and the context a drill's steps share.
 */
import type { DrillStepView, RunbookId, RunbookView } from '../../preload/channels/drills';
import type { BackupDomain } from '../backup';
import type { ClusterService, KeysetRecord } from '../cluster/cluster-service';
import { parseKeyCheck } from '../cluster/key-check';
import type { LabCluster } from '../cluster/lab';
import { signatureMatchesKeyset } from '../cluster/signature-check';
import { fail } from '../errors';
import type { GuardianService } from '../guardians/guardian-service';
import type { RefreshService } from '../refresh/refresh-service';
import type { VaultService } from '../vault/vault-service';
import type { KeyCheckService } from './key-checks';

export type GuardianSignerInput = { method: 'ledger' } | { method: 'software'; keyFile: string; passphrase: string };

/** What the operator gives a drill when starting it (validated by the channel schema). */
export interface DrillInput {
  runbook: RunbookId;
  keysetId?: string;
  unavailableGuardianId?: string;
  guardians?: Array<{ guardianId: string; signer: GuardianSignerInput; backupPassphrase?: string }>;
  backupFile?: string;
  vaultPassphrase?: string;
}

export interface DrillDeps {
  cluster: ClusterService;
  lab: LabCluster;
  vault: VaultService;
  guardians: GuardianService;
  backup: BackupDomain;
  keyChecks: KeyCheckService;
  refresh: RefreshService;
}

export interface DrillContext {
  drillId: string;
  input: DrillInput;
  keyset: KeysetRecord | null;
  deps: DrillDeps;
  /** Who took part, in words ("operator", "node lab-node-b", "guardian Lena"). */
  participants: Set<string>;
  /** Set by cancel: steps that wait check it. */
  signal: AbortSignal;
  /** Facts one step leaves for a later one (a stopped node, a quarantined node). */
  state: Map<string, unknown>;
}

export interface StepDef {
  id: string;
  title: string;
  phase: DrillStepView['phase'];
  /** Runs the step; returns what it showed, in a sentence. Throws an AppFailure when it fails. */
  run(ctx: DrillContext): Promise<string>;
}

/** Each chosen guardian approves request `requestId` with their key (a Ledger or their key file). */
export async function guardiansApprove(ctx: DrillContext, requestId: string): Promise<void> {
  for (const g of ctx.input.guardians ?? []) {
    if (g.signer.method === 'ledger') await ctx.deps.guardians.signWithLedger(requestId, g.guardianId, 'approve');
    else await ctx.deps.guardians.signWithKeyFile(requestId, g.signer.keyFile, g.signer.passphrase, 'approve');
    ctx.participants.add(`guardian ${ctx.deps.guardians.registry().guardians.find((x) => x.id === g.guardianId)?.name ?? g.guardianId}`);
  }
}

export const nodeName = (ctx: DrillContext, nodeId: string) => ctx.deps.cluster.node(nodeId)?.name ?? `${nodeId.slice(0, 8)}…`;

export function requireKeyset(ctx: DrillContext): KeysetRecord {
  if (!ctx.keyset) fail('DRILL_NOT_READY', 'This drill needs a keyset: choose one.');
  return ctx.keyset;
}

/**
 * Signs a fresh key-check message (purpose "drill") with the cluster and checks here that the
 * signature verifies under the keyset's public key over exactly that message, and that no node
 * the drill took out signed. The drill passes only on such a signature.
 */
export async function drillSignature(ctx: DrillContext, options: { prefer?: string[]; without?: string[] } = {}): Promise<string> {
  const keyset = requireKeyset(ctx);
  const out = await ctx.deps.cluster.keyCheck(keyset.keysetId, 'drill', { ...(options.prefer ? { prefer: options.prefer } : {}) });
  const message = Buffer.from(out.message, 'hex');
  const parsed = parseKeyCheck(message);
  if (!parsed || parsed.keysetId !== keyset.keysetId || parsed.purpose !== 'drill') {
    fail('DRILL_STEP_FAILED', 'What the cluster signed is not this drill\'s key-check message; the signature proves nothing.');
  }
  if (!signatureMatchesKeyset(keyset, message, { signature: out.signature, recoveryId: out.recoveryId })) {
    fail('DRILL_STEP_FAILED', `The signature from session ${out.sessionId.slice(0, 12)}… does not verify under keyset ${keyset.keysetId}'s public key: the keyset did not recover.`);
  }
  const excluded = (options.without ?? []).filter((id) => out.parties.includes(id));
  if (excluded.length) fail('DRILL_STEP_FAILED', `${excluded.map((id) => nodeName(ctx, id)).join(', ')} took part in the signature although the drill had taken it out; the drill proves nothing.`);
  for (const p of out.parties) ctx.participants.add(`node ${nodeName(ctx, p)}`);
  return `Signed by ${out.parties.map((p) => nodeName(ctx, p)).join(' and ')} (session ${out.sessionId.slice(0, 12)}…); the signature verifies under the keyset's public key.`;
}

export interface RunbookDef extends Omit<RunbookView, 'steps'> {
  plan(): StepDef[];
  /** Steps that restore the lab or the vault; they run after the others, also after a failure or cancel. */
  cleanup(): StepDef[];
}
