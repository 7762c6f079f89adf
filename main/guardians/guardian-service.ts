/**
 * The guardian domain behind one facade: the registry (registry.ts), approval requests
 * (requests.ts), approvals and the guard (approvals.ts) and the ways keys sign (signers.ts).
 * Callers — IPC handlers, the vault's passphrase change — see this class only.
 *
 * A request has an authenticated requester: the console operator, who confirms with the vault
 * passphrase (an unlocked screen proves nothing about who sits at it), or a guardian whose own
 * key signs the request; an approval from that key never counts.
 */
import type { ApprovalDecision, ApprovalRequestList, ApprovalRequestView, GuardianKind, GuardianRegistry, RegistryFileExport, RequestFileExport, SoftwareKeyCreated } from '../../preload/contract';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors';
import { judgePassphrase } from '../vault/passphrase-policy';
import { ApprovalBook } from './approvals';
import { GuardianContext, GUARDIAN_COUNT, type GuardianServiceOptions } from './context';
import type { OperationGuard } from './guard';
import { operationLabel, type GuardedOperationKind } from './guarded-operations';
import { checkKeyFolder, createKeyFile, KEY_FILE_SCRYPT_N, writeKeyFile } from './key-file';
import { GuardianRegistryStore, type ProvenGuardian } from './registry';
import { adoptRegistry, type AdoptionOutcome } from './registry-adoption';
import { readRegistryFile, registryFile } from './registry-file';
import { ApprovalRequests, type NewRequest } from './requests';
import { GuardianSigners, type GuardianSigner, type NewGuardian } from './signers';
import { REQUEST_TYPES, type ApprovalMessage } from './typed-data';

export { GUARDIAN_COUNT, QUORUM, type GuardianServiceOptions } from './context';
export type { GuardianSigner, NewGuardian } from './signers';

/** Who asks for a guarded operation, with the proof of it. */
export type RequesterProof =
  | { as: 'operator'; vaultPassphrase: string }
  | { as: 'guardian'; guardianId: string; signer: GuardianSigner };

export class GuardianService implements OperationGuard {
  private readonly ctx: GuardianContext;
  readonly registryStore: GuardianRegistryStore;
  readonly requests: ApprovalRequests;
  readonly approvals: ApprovalBook;
  readonly signers: GuardianSigners;

  constructor(private readonly options: GuardianServiceOptions) {
    this.ctx = new GuardianContext(options);
    this.registryStore = new GuardianRegistryStore(this.ctx);
    this.requests = new ApprovalRequests(this.ctx, this.registryStore);
    this.approvals = new ApprovalBook(this.ctx, this.registryStore, this.requests);
    this.signers = new GuardianSigners(this.ctx, this.registryStore, this.requests, this.approvals);
  }

  currentVaultId(): string {
    return this.ctx.vaultId();
  }

  // --- registry ------------------------------------------------------------------------------

  registry(): GuardianRegistry {
    this.ctx.requireUnlocked();
    return this.registryStore.view();
  }

  /**
   * A new software key, written only to `targetFolder` (the guardian's removable medium), never
   * into the data folder; this console keeps no copy.
   */
  async createSoftwareKey(passphrase: string, confirmation: string, targetFolder: string): Promise<SoftwareKeyCreated> {
    this.ctx.requireUnlocked();
    if (passphrase !== confirmation) fail('PASSPHRASE_MISMATCH', 'The two key file passphrases do not match. Type the same passphrase in both fields.');
    const verdict = judgePassphrase(passphrase);
    if (!verdict.acceptable) fail('WEAK_PASSPHRASE', verdict.reason);
    // Checked before the slow encryption, and again when writing.
    checkKeyFolder(targetFolder, this.options.dataDir);
    const { address, json } = await createKeyFile(passphrase, this.options.keyFileScryptN ?? KEY_FILE_SCRYPT_N);
    const path = writeKeyFile(targetFolder, this.options.dataDir, address, json);
    this.ctx.audit.append({ type: 'GUARDIAN_KEY_FILE_CREATED', actor: 'operator', subject: address, details: { file: path, copyKept: false } });
    return { address, path };
  }

  /** Initial enrolment: fills the three slots once. After that, guardians change only by replacement. */
  async enrol(candidate: NewGuardian): Promise<GuardianRegistry> {
    this.ctx.requireUnlocked();
    this.registryStore.assertEnrolmentOpen();
    const proven = await this.signers.proveEnrolment(candidate);
    this.registryStore.enrol(proven);
    return this.registry();
  }

  /** The active guardians as a file (public data only) a headless signer node adopts with `--guardians`. */
  registryFileJson(): string {
    this.ctx.requireUnlocked();
    return `${JSON.stringify(registryFile(this.ctx, this.registryStore.active()), null, 2)}\n`;
  }

  /** Writes the registry file into the data folder's exports (0600) for the operator to carry to a signer node. */
  exportRegistryFile(): RegistryFileExport {
    this.ctx.requireUnlocked();
    const file = registryFile(this.ctx, this.registryStore.active());
    const json = `${JSON.stringify(file, null, 2)}\n`;
    const fileName = `guardian-registry-${this.ctx.vaultId().slice(0, 8)}.json`;
    const dir = join(this.options.dataDir, 'exports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, fileName);
    writeFileSync(path, json, { mode: 0o600 });
    this.ctx.audit.append({ type: 'GUARDIAN_REGISTRY_EXPORTED', actor: 'operator', subject: this.ctx.vaultId(), details: { file: path, guardians: this.registryStore.active().map((g) => g.address), replacements: file.replacements.length } });
    return { fileName, path, json, replacements: file.replacements.length };
  }

  /**
   * A signer node's guardians from the console's registry file: all three at first setup; later
   * only the replacements the file carries, each approved by two of this node's own guardians
   * (registry-adoption.ts). "unchanged" when the file names the guardians this node has.
   */
  adoptRegistryFile(text: string, source: string): AdoptionOutcome {
    this.ctx.requireUnlocked();
    return adoptRegistry(this.ctx, this.registryStore, readRegistryFile(text), source);
  }

  // --- requests ------------------------------------------------------------------------------

  /**
   * Opens the follow-up request of an operation the operator is already running in this unlocked
   * session (certifying a ceremony that a guardian-approved start has just finished). Never reached
   * from IPC with a caller-chosen operation; the requester is the operator, who never approves.
   */
  createFollowUpRequest(input: NewRequest): ApprovalRequestView {
    this.ctx.requireUnlocked();
    return this.requests.insert(this.requests.draft(input, null), null);
  }

  /** Opens a request for a guarded operation once its requester is authenticated. */
  async createRequest(input: NewRequest & { requester: RequesterProof }): Promise<ApprovalRequestView> {
    this.ctx.requireUnlocked();
    const { requester, ...request } = input;
    if (requester.as === 'operator') {
      const draft = this.requests.draft(request, null);
      await this.options.vault.confirmPassphrase(requester.vaultPassphrase);
      return this.requests.insert(draft, null);
    }
    const guardian = this.registryStore.active().find((g) => g.id === requester.guardianId);
    if (!guardian) fail('GUARDIAN_NOT_FOUND', 'The requester is not one of the current guardians. Pick a current guardian, or request as the operator.');
    const draft = this.requests.draft(request, guardian);
    // Remote: stored now, inert until the guardian's signature made on their own machine is imported.
    if (requester.signer.method === 'remote') return this.requests.insert(draft, null, true);
    const signature = await this.signers.signAs(guardian, requester.signer, REQUEST_TYPES, { ...this.requests.requesterMessage(draft) });
    return this.requests.insert(draft, signature);
  }

  exportRequesterFile(requestId: string): Promise<RequestFileExport> {
    return this.signers.exportRequesterFile(requestId);
  }

  importRequesterSignature(fileText: string): ApprovalRequestView {
    return this.signers.importRequesterSignature(fileText);
  }

  view(requestId: string): ApprovalRequestView {
    return this.requests.view(requestId);
  }

  listRequests(): ApprovalRequestList {
    return this.requests.list();
  }

  prepareMessage(requestId: string, decision: ApprovalDecision): ApprovalMessage {
    return this.requests.prepareMessage(requestId, decision);
  }

  // --- approvals -----------------------------------------------------------------------------

  submitApproval(message: ApprovalMessage, signature: string, via: 'ledger' | 'software' | 'file'): ApprovalRequestView {
    return this.approvals.submit(message, signature, via);
  }

  signWithLedger(requestId: string, guardianId: string, decision: ApprovalDecision, shownMessageHash?: string): Promise<ApprovalRequestView> {
    return this.signers.signWithLedger(requestId, guardianId, decision, shownMessageHash);
  }

  signWithKeyFile(requestId: string, keyFile: string, passphrase: string, decision: ApprovalDecision): Promise<ApprovalRequestView> {
    return this.signers.signWithKeyFile(requestId, keyFile, passphrase, decision);
  }

  exportRequest(requestId: string): Promise<RequestFileExport> {
    return this.signers.exportRequest(requestId);
  }

  importApproval(fileText: string): ApprovalRequestView {
    return this.signers.importApproval(fileText);
  }

  // --- the guard -----------------------------------------------------------------------------

  checkApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): void {
    this.approvals.checkApproval(operation, subject, parameters, requestId);
  }

  requireApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { approvers: string[] } {
    return this.approvals.requireApproval(operation, subject, parameters, requestId);
  }

  // --- guardian replacement (a guarded operation) ---------------------------------------------

  async requestReplacement(guardianId: string, replacement: NewGuardian, requester: RequesterProof, ttlMinutes: number): Promise<ApprovalRequestView> {
    this.ctx.requireUnlocked();
    const active = this.registryStore.active();
    const current = active.find((g) => g.id === guardianId);
    if (!current) fail('GUARDIAN_NOT_FOUND', 'That guardian is not in the registry. Refresh the list and pick the guardian to replace.');
    if (active.length < GUARDIAN_COUNT) fail('GUARDIAN_REGISTRY_INCOMPLETE', 'Finish enrolling all three guardians before replacing one.');
    const proven = await this.signers.proveEnrolment(replacement);
    this.registryStore.assertNotRegistered(proven.address);
    return this.createRequest({
      operation: 'guardian.replace',
      subject: current.id,
      parameters: {
        slot: current.slot, currentName: current.name, currentAddress: current.address,
        newName: proven.name, newKind: proven.kind, newAddress: proven.address, newDerivationPath: proven.derivationPath, newProof: proven.proof,
      },
      context: {},
      requester,
      ttlMinutes,
    });
  }

  executeReplacement(requestId: string): GuardianRegistry {
    this.ctx.requireUnlocked();
    const row = this.requests.row(requestId);
    if (row.operation !== 'guardian.replace') fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId.slice(0, 8)} is for "${operationLabel(row.operation)}", not a guardian replacement.`);
    const parameters = JSON.parse(row.parameters) as Record<string, unknown>;
    const p = parameters as { slot: number; currentAddress: string; newName: string; newKind: GuardianKind; newAddress: string; newDerivationPath: string | null; newProof: { challenge: string; signature: string } };
    const proven: ProvenGuardian = { name: p.newName, kind: p.newKind, address: p.newAddress, derivationPath: p.newDerivationPath, proof: p.newProof };
    this.checkApproval('guardian.replace', row.subject, parameters, requestId);
    this.registryStore.checkProof(proven);
    this.ctx.db.transaction(() => {
      const current = this.registryStore.active().find((g) => g.id === row.subject);
      if (!current || current.address !== p.currentAddress) fail('GUARDIAN_NOT_FOUND', 'The guardian this request replaces is no longer in the registry. Nothing was changed.');
      // The guard runs on exactly the parameters this replacement applies.
      const { approvers } = this.requireApproval('guardian.replace', current.id, parameters, requestId);
      const added = this.registryStore.replace(current, proven);
      this.ctx.audit.append({
        type: 'GUARDIAN_REPLACED',
        actor: 'operator',
        subject: added.address,
        details: { slot: current.slot, previous: { guardianId: current.id, name: current.name, address: current.address }, next: { guardianId: added.id, name: added.name, kind: added.kind }, requestId, approvers },
      });
    })();
    return this.registry();
  }
}
