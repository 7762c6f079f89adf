/**
 * Who acts in the safe direction (revoking an execution authorization, freezing all signing),
 * proven rather than typed: the operator by confirming the vault passphrase, or one guardian by
 * signing a statement naming the operation with their own key (Ledger or key file) here and now.
 * One of them is enough; the audit row carries the proof (for a guardian, the signed statement
 * and its signature, which anyone can check against the guardian's registered address later).
 */
import { randomBytes } from 'node:crypto';
import { getAddress, hexlify, type TypedDataField } from 'ethers';
import { fail } from '../errors';
import type { GuardianService, RequesterProof } from '../guardians/guardian-service';
import type { GuardianRow } from '../guardians/registry';
import { recoverSigner } from '../guardians/typed-data';
import type { VaultService } from '../vault/vault-service';

export const REVOCATION_TYPES: Record<string, TypedDataField[]> = {
  Revocation: [
    { name: 'vaultId', type: 'string' },
    { name: 'operation', type: 'string' },
    { name: 'subject', type: 'string' },
    { name: 'reason', type: 'string' },
    { name: 'challenge', type: 'bytes32' },
    { name: 'issuedAt', type: 'uint64' },
  ],
};

/** The operations one person may do at once because they only stop things. */
export type SafeOperation = 'execution-authorization.revoke' | 'signing.freeze';

export interface RevocationStatement {
  vaultId: string;
  operation: SafeOperation;
  subject: string;
  reason: string;
  challenge: string;
  issuedAt: number;
}

/** A revoker whose identity this node checked itself. */
export interface VerifiedRevoker {
  /** Written to the authorization row and the audit actor. */
  actor: string;
  proof: { kind: 'vault-passphrase' } | { kind: 'guardian-signature'; guardianId: string; address: string; statement: RevocationStatement; signature: string };
}

export interface RevokerVerifier {
  prove(proof: RequesterProof, subject: string, reason: string, operation?: SafeOperation): Promise<VerifiedRevoker>;
}

/** The guardian's statement is signed by the guardian's registered key, or it proves nothing. */
export function checkRevocationSignature(guardian: Pick<GuardianRow, 'name' | 'address'>, statement: RevocationStatement, signature: string): void {
  const recovered = recoverSigner(REVOCATION_TYPES, statement, signature);
  if (!recovered || recovered !== getAddress(guardian.address)) {
    const what = statement.operation === 'signing.freeze' ? 'freeze' : 'revocation';
    fail('REVOCATION_SIGNATURE_INVALID', `The ${what} was not signed by ${guardian.name}'s registered key ${guardian.address}${recovered ? ` (it recovers to ${recovered})` : ''}. Nothing was ${statement.operation === 'signing.freeze' ? 'frozen' : 'revoked'}.`);
  }
}

export class GuardianOrOperatorRevoker implements RevokerVerifier {
  constructor(private readonly o: { vault: Pick<VaultService, 'confirmPassphrase'>; guardians: Pick<GuardianService, 'registryStore' | 'signers' | 'currentVaultId'>; now(): number }) {}

  async prove(proof: RequesterProof, subject: string, reason: string, operation: SafeOperation = 'execution-authorization.revoke'): Promise<VerifiedRevoker> {
    if (proof.as === 'operator') {
      await this.o.vault.confirmPassphrase(proof.vaultPassphrase);
      return { actor: 'operator (vault passphrase confirmed)', proof: { kind: 'vault-passphrase' } };
    }
    const guardian = this.o.guardians.registryStore.active().find((g) => g.id === proof.guardianId);
    const freeze = operation === 'signing.freeze';
    if (!guardian) fail('GUARDIAN_NOT_FOUND', freeze ? 'Whoever freezes signing must be one of the current guardians or the operator. Pick a current guardian, or freeze as the operator.' : 'The revoker is not one of the current guardians. Pick a current guardian, or revoke as the operator with the vault passphrase.');
    const signer = proof.signer;
    if (signer.method === 'remote') {
      fail('VALIDATION_FAILED', freeze
        ? `Freezing acts at once: ${guardian.name} signs it here with their Ledger or key file. Without them, the operator freezes signing from this console.`
        : `A revocation acts at once: ${guardian.name} signs it here with their Ledger or key file. Without them, the operator revokes with the vault passphrase, or engages the kill switch.`);
    }
    const statement: RevocationStatement = {
      vaultId: this.o.guardians.currentVaultId(),
      operation,
      subject,
      reason,
      challenge: hexlify(randomBytes(32)),
      issuedAt: this.o.now(),
    };
    const signature = await this.o.guardians.signers.signAs(guardian, signer, REVOCATION_TYPES, { ...statement });
    checkRevocationSignature(guardian, statement, signature);
    const address = getAddress(guardian.address);
    return { actor: `guardian ${guardian.name} (${address})`, proof: { kind: 'guardian-signature', guardianId: guardian.id, address, statement, signature } };
  }
}
