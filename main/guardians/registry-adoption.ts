/**
 * A signer node takes the console's guardians from a registry file: all three at first setup; after
 * that only by following the replacements the file carries, each approved by two guardians of this
 * node's own set at that point (replacement-chain.ts). One transaction: a refused step leaves the
 * registry exactly as it was.
 */
import { fail } from '../errors';
import type { GuardianContext } from './context';
import type { GuardianRegistryStore, GuardianRow } from './registry';
import { pendingSteps, verifyStep } from './replacement-chain';
import type { AdoptableRegistry } from './registry-file';

export interface ReplacementApplied {
  slot: number;
  previous: { name: string; address: string };
  next: { name: string; address: string };
  requestId: string;
  approvers: string[];
}

export type AdoptionOutcome =
  | { outcome: 'enrolled' | 'unchanged'; addresses: string[]; replaced: [] }
  | { outcome: 'replaced'; addresses: string[]; replaced: ReplacementApplied[] };

/** The vault the node's current guardians proved themselves to (the one whose file it adopted). */
function vaultOf(rows: readonly GuardianRow[], ownVaultId: string): Set<string> {
  return new Set(rows.map((g) => (JSON.parse(g.proof_signature) as { vaultId?: string }).vaultId ?? ownVaultId));
}

export function adoptRegistry(ctx: GuardianContext, store: GuardianRegistryStore, file: AdoptableRegistry, source: string): AdoptionOutcome {
  const addresses = file.guardians.map((g) => g.address);
  const current = store.all();
  if (current.length === 0) {
    ctx.db.transaction(() => {
      for (const g of file.guardians) store.enrol(g, { file: source, vaultId: file.vaultId });
    })();
    return { outcome: 'enrolled', addresses, replaced: [] };
  }
  const active = current.filter((g) => g.status === 'active');
  const activeAddresses = active.map((g) => g.address);
  if (activeAddresses.length === addresses.length && addresses.every((a) => activeAddresses.includes(a))) return { outcome: 'unchanged', addresses, replaced: [] };
  const vaults = [...vaultOf(active, ctx.vaultId())];
  if (vaults.length !== 1 || vaults[0] !== file.vaultId) {
    fail('GUARDIAN_SETUP_CONFLICT', `This node's guardians (${activeAddresses.join(', ')}) came from vault ${vaults.join(', ')}, and ${source} is from vault ${file.vaultId}. Guardians change only by a replacement two of them approve in their own vault; the file was not applied.`);
  }
  const everRegistered = new Map(current.map((g) => [g.address, g]));
  const steps = pendingSteps(activeAddresses, everRegistered, addresses, file.replacements, source);
  const replaced: ReplacementApplied[] = [];
  ctx.db.transaction(() => {
    const offset = file.replacements.length - steps.length;
    for (const [i, step] of steps.entries()) {
      const position = `${offset + i + 1} of ${file.replacements.length} in ${source}`;
      // Checked against the registry as the previous steps left it, read inside this transaction.
      const rows = store.all();
      const { current: retired, proven, approvers } = verifyStep(file.vaultId, step, rows.filter((g) => g.status === 'active'), new Map(rows.map((g) => [g.address, g])), position);
      const added = store.replace(retired, proven);
      ctx.audit.append({
        type: 'GUARDIAN_REPLACED',
        actor: 'operator',
        subject: added.address,
        details: {
          slot: retired.slot,
          previous: { guardianId: retired.id, name: retired.name, address: retired.address },
          next: { guardianId: added.id, name: added.name, kind: added.kind },
          requestId: step.requestId,
          approvers,
          fromFile: source,
          approvedInVault: file.vaultId,
        },
      });
      replaced.push({ slot: retired.slot, previous: { name: retired.name, address: retired.address }, next: { name: added.name, address: added.address }, requestId: step.requestId, approvers });
    }
  })();
  return { outcome: 'replaced', addresses, replaced };
}
