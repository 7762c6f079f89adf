/**
 * The guardian replacements a registry file carries, so a signer node that adopted the console's
 * guardians earlier can follow a replacement made at the console since.
 *
 * Each step is the replacement request exactly as the guardians signed it (its id, expiry,
 * parameters naming the replaced and the new guardian with its enrolment proof, and its context
 * naming the requester) and the approving guardians' EIP-712 signatures. A node trusts no step on
 * the console's word: it recomputes the payload hash, counts two distinct approvals from guardians
 * of its OWN current set (the requester's never counts, as at the console), checks the new
 * guardian's proof, and refuses a key it ever registered before: a replaced guardian never comes
 * back. The node must find its own current set on the chain, and the chain must end exactly at
 * the file's guardian list.
 *
 * The request's expiry is not checked against the node's clock: the console applied the
 * replacement before it expired (its guard), and the node may learn of it much later.
 */
import { getAddress } from 'ethers';
import { z } from 'zod';
import { fail } from '../errors';
import { QUORUM, type GuardianContext } from './context';
import type { GuardianRow, ProvenGuardian } from './registry';
import { countApprovals } from './approval-count';
import { ENROLMENT_TYPES, payloadHash, recoverSigner } from './typed-data';

export const REPLACE_OPERATION = 'guardian.replace' as const;
export const MAX_CHAIN_STEPS = 32;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const proof = z.strictObject({ challenge: z.string().regex(/^0x[0-9a-f]{64}$/), signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/) });

/** One guardian as a file names it: public data and the proof its key signed for the vault. */
export const guardianEntrySchema = z.strictObject({
  name: z.string().trim().min(1).max(80),
  kind: z.enum(['ledger', 'software']),
  address,
  derivationPath: z.string().max(64).nullable(),
  proof,
});
export type GuardianEntry = z.infer<typeof guardianEntrySchema>;

/** The parameters of a 'guardian.replace' request, as GuardianService.requestReplacement builds them. */
const replacementParameters = z.strictObject({
  slot: z.number().int().min(1).max(3),
  currentName: z.string().max(80),
  currentAddress: address,
  newName: z.string().trim().min(1).max(80),
  newKind: z.enum(['ledger', 'software']),
  newAddress: address,
  newDerivationPath: z.string().max(64).nullable(),
  newProof: proof,
});

export const replacementStepSchema = z.strictObject({
  requestId: z.string().min(1).max(64),
  subject: z.string().min(1).max(64),
  /** Unix milliseconds: the request's expiry, part of what each approval signed. */
  expiresAt: z.number().int().nonnegative(),
  parameters: replacementParameters,
  context: z.record(z.string(), z.unknown()),
  approvals: z.array(z.strictObject({ address, nonce: z.string().regex(/^0x[0-9a-f]{64}$/), signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/) })).max(3),
});
export type ReplacementStep = z.infer<typeof replacementStepSchema>;

/** The refusal of a whole registry file, with what to do about it. */
export function refuseFile(reason: string): never {
  fail('GUARDIAN_FILE_INVALID', `The guardian registry file cannot be used: ${reason}. Export it again from the console whose guardians this node should know; nothing was changed.`);
}

/** Checks one named guardian's enrolment proof for `vaultId`; the file's list and each step's new guardian pass here. */
export function provenEntry(g: GuardianEntry, vaultId: string): ProvenGuardian {
  const checksummed = getAddress(g.address);
  const signer = recoverSigner(ENROLMENT_TYPES, { vaultId, guardianName: g.name, challenge: g.proof.challenge }, g.proof.signature);
  if (signer !== checksummed) refuseFile(`the enrolment proof of "${g.name}" was not signed by ${checksummed} for vault ${vaultId} under that name`);
  if (g.kind === 'ledger' && !g.derivationPath) refuseFile(`"${g.name}" is a Ledger guardian without a derivation path`);
  return { name: g.name, kind: g.kind, address: checksummed, derivationPath: g.derivationPath, proof: { ...g.proof, vaultId } };
}

const newGuardianOf = (step: ReplacementStep): GuardianEntry => ({
  name: step.parameters.newName, kind: step.parameters.newKind, address: step.parameters.newAddress, derivationPath: step.parameters.newDerivationPath, proof: step.parameters.newProof,
});

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

// --- the console: the replacements it applied, in order ----------------------------------------

interface ExecutedReplacement {
  id: string;
  subject: string;
  parameters: string;
  context: string;
  expires_at: number;
}

/**
 * Every replacement this console applied, oldest first (by the registry epoch recorded when each
 * ran), with the approving signatures. Checked to lead from the first guardians to `active`.
 */
export function appliedReplacements(ctx: GuardianContext, active: readonly string[]): ReplacementStep[] {
  const rows = ctx.db
    .prepare(`SELECT r.id, r.subject, r.parameters, r.context, r.expires_at FROM approval_requests r
              LEFT JOIN approval_request_outcomes o ON o.request_id = r.id
              WHERE r.operation = ? AND r.status = 'executed' ORDER BY o.registry_epoch, r.closed_at, r.rowid`)
    .all(REPLACE_OPERATION) as ExecutedReplacement[];
  const steps = rows.map((row): ReplacementStep => {
    const approvals = ctx.db.prepare("SELECT address, nonce, signature FROM approvals WHERE request_id = ? AND decision = 'approve' ORDER BY received_at, rowid LIMIT 3").all(row.id) as Array<{ address: string; nonce: string; signature: string }>;
    return {
      requestId: row.id,
      subject: row.subject,
      expiresAt: row.expires_at,
      parameters: JSON.parse(row.parameters) as ReplacementStep['parameters'],
      context: JSON.parse(row.context) as Record<string, unknown>,
      approvals: approvals.map((a) => ({ address: a.address, nonce: a.nonce.startsWith('0x') ? a.nonce : `0x${a.nonce}`, signature: a.signature })),
    };
  });
  if (steps.length > MAX_CHAIN_STEPS) fail('GUARDIAN_REGISTRY_INCOMPLETE', `This vault has replaced guardians ${steps.length} times; a registry file carries at most ${MAX_CHAIN_STEPS} replacements. Set the signer node up again from a new data folder with this file's guardians.`);
  setsAlongChain(active, steps);
  return steps;
}

// --- the node: where it stands on the chain, and each step checked on its own terms -------------

/**
 * The guardian sets the chain passes through, first set first, derived backwards from the file's
 * list. Refuses a chain whose steps do not lead exactly to that list.
 */
export function setsAlongChain(finalSet: readonly string[], steps: readonly ReplacementStep[]): string[][] {
  const sets: string[][] = [finalSet.map((a) => getAddress(a))];
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const p = steps[i]!.parameters;
    const after = sets[0]!;
    const added = getAddress(p.newAddress);
    const removed = getAddress(p.currentAddress);
    if (!after.includes(added) || after.includes(removed)) {
      refuseFile(`its guardian list does not match the end of its replacement chain (replacement ${i + 1} of ${steps.length} puts ${added} in place of ${removed}, which the guardians after it do not reflect)`);
    }
    sets.unshift(after.map((a) => (a === added ? removed : a)));
  }
  return sets;
}

/**
 * The replacements this node has still to apply: those after the point where the chain passes
 * through the node's own current set. Refuses a file whose chain never reaches that set.
 */
export function pendingSteps(nodeActive: readonly string[], everRegistered: ReadonlyMap<string, GuardianRow>, finalSet: readonly string[], steps: readonly ReplacementStep[], source: string): ReplacementStep[] {
  const sets = setsAlongChain(finalSet, steps);
  const at = sets.findIndex((set) => sameSet(set, nodeActive));
  if (at >= 0) return steps.slice(at);
  const returning = sets[sets.length - 1]!.map((a) => everRegistered.get(a)).find((row) => row?.status === 'replaced');
  if (returning) {
    fail('GUARDIAN_CHAIN_ROLLBACK', `${source} names ${returning.name} (${returning.address}) as a guardian, but this node replaced that guardian on ${returning.replaced_at ?? 'an earlier date'}; a replaced guardian never comes back. This is an older registry file: export the current one from the console. Nothing was changed.`);
  }
  fail('GUARDIAN_SETUP_CONFLICT', `This node's guardians (${nodeActive.join(', ')}) do not appear in the replacement history ${source} carries, so the file cannot be followed from here. Guardians change only by a replacement two of them approve; export the registry file again from the console these guardians belong to. Nothing was changed.`);
}

/**
 * Checks one replacement against this node's current guardians and returns what it changes:
 * the replaced row, the proven new guardian and the approving addresses.
 */
export function verifyStep(vaultId: string, step: ReplacementStep, active: readonly GuardianRow[], everRegistered: ReadonlyMap<string, GuardianRow>, position: string): { current: GuardianRow; proven: ProvenGuardian; approvers: string[] } {
  const p = step.parameters;
  const current = active.find((g) => g.address === getAddress(p.currentAddress));
  if (!current) fail('GUARDIAN_SETUP_CONFLICT', `Replacement ${position} replaces ${p.currentAddress}, who is not one of this node's guardians at that point. Nothing was changed.`);
  const proven = provenEntry(newGuardianOf(step), vaultId);
  const earlier = everRegistered.get(proven.address);
  if (earlier) {
    fail('GUARDIAN_CHAIN_ROLLBACK', `Replacement ${position} would make ${proven.address} a guardian again, but this node ${earlier.status === 'replaced' ? `replaced that key ("${earlier.name}") on ${earlier.replaced_at ?? 'an earlier date'}` : `already has it as "${earlier.name}"`}; a replaced guardian never comes back. Nothing was changed.`);
  }
  const hash = payloadHash(vaultId, REPLACE_OPERATION, step.subject, p, step.context);
  const requesterAddress = typeof step.context.requesterAddress === 'string' ? step.context.requesterAddress : null;
  const { counted, foreign } = countApprovals({ requestId: step.requestId, payloadHash: hash, operation: REPLACE_OPERATION, expiresAt: step.expiresAt, requesterAddress }, step.approvals, active.map((g) => g.address));
  if (counted.size < QUORUM) {
    const why = step.approvals.length === 0
      ? 'it carries no guardian approval'
      : `${counted.size} of the ${step.approvals.length} approvals it carries verify for exactly this replacement from a distinct guardian of this node (other than the requester)${foreign ? `; ${foreign} are signed by keys this node never had as guardians at that point` : ''}`;
    fail('GUARDIAN_CHAIN_QUORUM', `Replacement ${position} (${p.currentName} → ${p.newName}) needs two of this node's guardians' approval, and ${why}. Nothing was changed; export the registry file again from the console that applied the replacement.`);
  }
  const names = new Map(active.map((g) => [g.address.toLowerCase(), g.name]));
  return { current, proven, approvers: [...counted].map((a) => names.get(a) ?? a) };
}
