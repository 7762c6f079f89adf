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
 */
import { getAddress } from 'ethers';
import { z } from 'zod';
import { fail } from '../errors';
import { GUARDIAN_COUNT } from './context';
import type { GuardianRow, ProvenGuardian } from './registry';
import { ENROLMENT_TYPES, recoverSigner } from './typed-data';

export const REGISTRY_FILE_FORMAT = 'vaultkeeper.guardian-registry/1';
const MAX_FILE_BYTES = 16 * 1024;

const fileSchema = z.strictObject({
  format: z.literal(REGISTRY_FILE_FORMAT),
  vaultId: z.string().regex(/^[0-9a-f-]{8,64}$/),
  exportedAt: z.string().max(40),
  guardians: z
    .array(
      z.strictObject({
        name: z.string().trim().min(1).max(80),
        kind: z.enum(['ledger', 'software']),
        address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
        derivationPath: z.string().max(64).nullable(),
        proof: z.strictObject({ challenge: z.string().regex(/^0x[0-9a-f]{64}$/), signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/) }),
      }),
    )
    .length(GUARDIAN_COUNT),
});
export type GuardianRegistryFile = z.infer<typeof fileSchema>;

export interface AdoptableRegistry {
  /** The vault that enrolled these guardians (their proofs name it). */
  vaultId: string;
  guardians: ProvenGuardian[];
}

/** The active guardians of `vaultId` as a file another node can adopt. */
export function registryFile(vaultId: string, active: readonly GuardianRow[], now: number): GuardianRegistryFile {
  if (active.length !== GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_INCOMPLETE', `Only ${active.length} of ${GUARDIAN_COUNT} guardians are enrolled; enrol all three before handing the registry to a signer node.`);
  return {
    format: REGISTRY_FILE_FORMAT,
    vaultId,
    exportedAt: new Date(now).toISOString(),
    guardians: [...active]
      .sort((a, b) => a.slot - b.slot)
      .map((g) => {
        const proof = JSON.parse(g.proof_signature) as { challenge: string; signature: string; vaultId?: string };
        // A guardian adopted from another vault's file proved itself to that vault; a file carries one vault id.
        if (proof.vaultId !== undefined && proof.vaultId !== vaultId) fail('GUARDIAN_FILE_INVALID', `${g.name} was adopted from another vault's registry file; hand that file to the signer node instead.`);
        return { name: g.name, kind: g.kind, address: g.address, derivationPath: g.derivation_path, proof: { challenge: proof.challenge, signature: proof.signature } };
      }),
  };
}

function refuse(reason: string): never {
  fail('GUARDIAN_FILE_INVALID', `The guardian registry file cannot be used: ${reason}. Export it again from the console whose guardians this node should know; nothing was changed.`);
}

/** Parses the file and checks every guardian's enrolment proof; refuses the whole file on any fault. */
export function readRegistryFile(text: string): AdoptableRegistry {
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES) refuse(`it is larger than ${MAX_FILE_BYTES / 1024} KiB`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    refuse('it is not JSON');
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    refuse(`${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'wrong shape'} (a ${REGISTRY_FILE_FORMAT} file lists exactly ${GUARDIAN_COUNT} guardians)`);
  }
  const file = parsed.data;
  const seen = new Set<string>();
  const names = new Set<string>();
  const guardians = file.guardians.map((g): ProvenGuardian => {
    const address = getAddress(g.address);
    if (seen.has(address)) refuse(`${address} is listed twice; each guardian needs a key of their own`);
    if (names.has(g.name)) refuse(`the name "${g.name}" is listed twice`);
    seen.add(address);
    names.add(g.name);
    const signer = recoverSigner(ENROLMENT_TYPES, { vaultId: file.vaultId, guardianName: g.name, challenge: g.proof.challenge }, g.proof.signature);
    if (signer !== address) refuse(`the enrolment proof of "${g.name}" was not signed by ${address} for vault ${file.vaultId} under that name`);
    if (g.kind === 'ledger' && !g.derivationPath) refuse(`"${g.name}" is a Ledger guardian without a derivation path`);
    return { name: g.name, kind: g.kind, address, derivationPath: g.derivationPath, proof: { ...g.proof, vaultId: file.vaultId } };
  });
  return { vaultId: file.vaultId, guardians };
}
