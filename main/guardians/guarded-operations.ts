/**
 * The catalogue of guarded operations (seed 001, "Guardian Approval", plus the console's own).
 * Every operation listed here runs only after `GuardianService.requireApproval` has consumed a
 * request that two distinct guardians approved. `wired` marks the operations that exist in the
 * console today; the others are reserved names, so later features (share restore, ceremonies,
 * keysets, withdrawals) call the same guard with the same kind.
 */
export interface GuardedOperation {
  /** Short sentence shown to guardians before they sign. */
  label: string;
  wired: boolean;
}

export const GUARDED_OPERATIONS = {
  'guardian.replace': { label: 'Replace a guardian', wired: true },
  'vault.passphrase.change': { label: 'Change the vault passphrase', wired: true },
  'wallet.rotate': { label: 'Rotate a wallet to a new key', wired: false },
  'share.restore': { label: "Restore this node's MPC key share from backup", wired: true },
  'keyset.exit': { label: 'Emergency exit: rebuild the full private key of a keyset from two backups and export it (the keyset becomes a single point of failure)', wired: true },
  'withdrawal.large': { label: 'Co-sign a large withdrawal (a permit above the keyset\'s guardian threshold)', wired: true },
  'account.recovery': { label: 'Recover an account', wired: false },
  'override.manual': { label: 'Override the automated controls (manual execution)', wired: false },
  'ceremony.run': { label: 'Run a master-seed ceremony', wired: true },
  'ceremony.certify': { label: 'Sign the transcript of a master-seed ceremony', wired: true },
  'ceremony.cold.sign': { label: 'Sign a transaction from a cold-storage account on the Ledger', wired: true },
  'policy.change': { label: 'Change the vault policy of a keyset (limits, allowlist, signing hours, permit TTL)', wired: true },
  'signing.unfreeze': { label: 'Turn the signing kill switch off (resume all signing)', wired: true },
  'permit-issuer.enrol': { label: 'Trust a new permit issuer key', wired: true },
  'permit-issuer.remove': { label: 'Stop trusting a permit issuer key', wired: true },
  'keyset.refresh': { label: 'Refresh the MPC key shares of a keyset on all three nodes (same address; old shares and backups stop working)', wired: true },
  'execution-authorization.enable': { label: 'Let this node co-sign unattended within a scope (execution authorization)', wired: true },
  'cluster.peer.remove': { label: 'Remove a signer node from this cluster (its card can never be enrolled again)', wired: true },
  'keyset.repair': { label: "Give a new machine the lost node's share of an EdDSA keyset, rebuilt by the other nodes (same address; the new node takes the lost node's place)", wired: true },
  'cluster.peer.replace': { label: 'Replace a signer node of this cluster with a new machine (new node card)', wired: true },
} as const satisfies Record<string, GuardedOperation>;

export type GuardedOperationKind = keyof typeof GUARDED_OPERATIONS;

export function isGuardedOperation(kind: string): kind is GuardedOperationKind {
  return Object.prototype.hasOwnProperty.call(GUARDED_OPERATIONS, kind);
}

export function operationLabel(kind: string): string {
  return isGuardedOperation(kind) ? GUARDED_OPERATIONS[kind].label : `Unknown operation "${kind}"`;
}
