/**
 * The guardian registry as a file, so a headless signer node can know the same three guardians as
 * the console. Every node checks guarded cluster operations (refresh, repair) against its own
 * registry; a node without one can never take part in them.
 *
 * The file holds only public data: each guardian's name, kind, address and the enrolment proof the
 * key signed when the exporting vault enrolled it (EIP-712 over that vault's id, the name and a
 * random challenge). A node adopting the file checks every proof itself, so the file cannot name
 * an address whose key never proved possession, nor rename a guardian. Which vault's guardians to
 * adopt is the node operator's decision at first setup, like its trusted issuers; after that the
 * registry changes only by a replacement two guardians approve.
 *
 * Format /2 also carries every replacement the console applied since its first three guardians
 * (replacement-chain.ts), so a node set up earlier follows them, checking each itself. /1 files
 * (no replacements) are still read.
 */
import { getAddress } from 'ethers';
import { z } from 'zod';
import { fail } from '../errors';
import { GUARDIAN_COUNT, type GuardianContext } from './context';
import type { GuardianRow, ProvenGuardian } from './registry';
import { appliedReplacements, guardianEntrySchema, MAX_CHAIN_STEPS, provenEntry, refuseFile, replacementStepSchema, type ReplacementStep } from './replacement-chain';

export const REGISTRY_FILE_FORMAT = 'vaultkeeper.guardian-registry/2';
export const REGISTRY_FILE_FORMAT_V1 = 'vaultkeeper.guardian-registry/1';
/** Room for the full chain of replacements; the file is public data. */
export const MAX_REGISTRY_FILE_BYTES = 128 * 1024;

const common = {
  vaultId: z.string().regex(/^[0-9a-f-]{8,64}$/),
  exportedAt: z.string().max(40),
  guardians: z.array(guardianEntrySchema).length(GUARDIAN_COUNT),
};
const fileSchema = z.discriminatedUnion('format', [
  z.strictObject({ format: z.literal(REGISTRY_FILE_FORMAT_V1), ...common }),
  z.strictObject({ format: z.literal(REGISTRY_FILE_FORMAT), ...common, replacements: z.array(replacementStepSchema).max(MAX_CHAIN_STEPS) }),
]);
export type GuardianRegistryFile = Extract<z.infer<typeof fileSchema>, { format: typeof REGISTRY_FILE_FORMAT }>;

export interface AdoptableRegistry {
  /** The vault that enrolled these guardians (their proofs name it). */
  vaultId: string;
  guardians: ProvenGuardian[];
  /** The replacements that led from the vault's first guardians to these, oldest first (none in a /1 file). */
  replacements: ReplacementStep[];
}

/** The active guardians of `vaultId` and the replacements that led to them, as a file another node can adopt. */
export function registryFile(ctx: GuardianContext, active: readonly GuardianRow[]): GuardianRegistryFile {
  const vaultId = ctx.vaultId();
  if (active.length !== GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_INCOMPLETE', `Only ${active.length} of ${GUARDIAN_COUNT} guardians are enrolled; enrol all three before handing the registry to a signer node.`);
  const guardians = [...active]
    .sort((a, b) => a.slot - b.slot)
    .map((g) => {
      const proof = JSON.parse(g.proof_signature) as { challenge: string; signature: string; vaultId?: string };
      // A guardian adopted from another vault's file proved itself to that vault; a file carries one vault id.
      if (proof.vaultId !== undefined && proof.vaultId !== vaultId) fail('GUARDIAN_FILE_INVALID', `${g.name} was adopted from another vault's registry file; hand that file to the signer node instead.`);
      return { name: g.name, kind: g.kind, address: g.address, derivationPath: g.derivation_path, proof: { challenge: proof.challenge, signature: proof.signature } };
    });
  return {
    format: REGISTRY_FILE_FORMAT,
    vaultId,
    exportedAt: new Date(ctx.now()).toISOString(),
    guardians,
    replacements: appliedReplacements(ctx, guardians.map((g) => g.address)),
  };
}

/** Parses the file and checks every guardian's enrolment proof; refuses the whole file on any fault. */
export function readRegistryFile(text: string): AdoptableRegistry {
  if (Buffer.byteLength(text, 'utf8') > MAX_REGISTRY_FILE_BYTES) refuseFile(`it is larger than ${MAX_REGISTRY_FILE_BYTES / 1024} KiB`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    refuseFile('it is not JSON');
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    refuseFile(`${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'wrong shape'} (a ${REGISTRY_FILE_FORMAT} file lists exactly ${GUARDIAN_COUNT} guardians and at most ${MAX_CHAIN_STEPS} replacements)`);
  }
  const file = parsed.data;
  const seen = new Set<string>();
  const names = new Set<string>();
  const guardians = file.guardians.map((g): ProvenGuardian => {
    const address = getAddress(g.address);
    if (seen.has(address)) refuseFile(`${address} is listed twice; each guardian needs a key of their own`);
    if (names.has(g.name)) refuseFile(`the name "${g.name}" is listed twice`);
    seen.add(address);
    names.add(g.name);
    return provenEntry(g, file.vaultId);
  });
  return { vaultId: file.vaultId, guardians, replacements: file.format === REGISTRY_FILE_FORMAT ? file.replacements : [] };
}
