/**
 * The ways a guardian's key signs: a Ledger plugged into this console, a software key file
 * decrypted here for one signature, and the remote flow (a request file signed on the guardian's
 * own machine, the approval file brought back). The remote flow is the one to prefer for software
 * keys: the key and its passphrase never touch this machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress, hexlify, type TypedDataField } from 'ethers';
import QRCode from 'qrcode';
import type { ApprovalDecision, ApprovalRequestView, GuardianKind, RequestFileExport } from '../../preload/contract';
import { fail } from '../errors';
import type { ApprovalBook } from './approvals';
import { isApprovalMessage } from './approvals';
import type { GuardianContext } from './context';
import { keyFileAddress, withKeyFile } from './key-file';
import type { GuardianRegistryStore, GuardianRow, ProvenGuardian } from './registry';
import type { ApprovalRequests } from './requests';
import {
  APPROVAL_DOMAIN,
  APPROVAL_TYPES,
  approvalTypedData,
  ENROLMENT_TYPES,
  hashedParts,
  ledgerDisplayHex,
  recoverSigner,
  REQUEST_TYPES,
  type EnrolmentMessage,
} from './typed-data';

/** How a guardian's key signs: at this console, or on the guardian's own machine (a file). */
export type GuardianSigner = { method: 'ledger' } | { method: 'software'; keyFile: string; passphrase: string } | { method: 'remote' };

export type NewGuardian =
  | { method: 'ledger'; name: string; derivationPath: string }
  | { method: 'software'; name: string; keyFile: string; passphrase: string };

export class GuardianSigners {
  constructor(
    private readonly ctx: GuardianContext,
    private readonly registry: GuardianRegistryStore,
    private readonly requests: ApprovalRequests,
    private readonly approvals: ApprovalBook,
  ) {}

  /**
   * Has a registered guardian's own key sign typed data. The Ledger is asked for the guardian's
   * registered path and address; a key file must hold the guardian's registered address.
   */
  async signAs(guardian: GuardianRow, signer: Exclude<GuardianSigner, { method: 'remote' }>, types: Record<string, TypedDataField[]>, message: Record<string, unknown>): Promise<string> {
    if (signer.method === 'ledger') {
      if (guardian.kind !== 'ledger' || !guardian.derivation_path) {
        fail('GUARDIAN_WRONG_DEVICE', `${guardian.name} holds a software key, not a Ledger. Sign with their key file instead.`);
      }
      const { signature } = await this.ctx.options.ledger.signTypedDataHash(guardian.derivation_path, guardian.address, () => hashedParts(types, message));
      return signature;
    }
    const claimed = keyFileAddress(signer.keyFile);
    if (!claimed) fail('KEYFILE_INVALID', 'This is not an encrypted guardian key file (expected an Ethereum JSON keystore with an address).');
    if (claimed !== getAddress(guardian.address)) {
      fail('KEYFILE_NOT_GUARDIAN', `This key file holds ${claimed}, not ${guardian.name}'s registered key ${guardian.address}. Nothing was signed.`);
    }
    return withKeyFile(signer.keyFile, signer.passphrase, (wallet) => wallet.signTypedData(APPROVAL_DOMAIN, types, message));
  }

  /** Has the new guardian's key sign a fresh enrolment challenge, and checks the signature. */
  async proveEnrolment(candidate: NewGuardian): Promise<ProvenGuardian> {
    const message: EnrolmentMessage = { vaultId: this.ctx.vaultId(), guardianName: candidate.name, challenge: hexlify(randomBytes(32)) };
    let address: string;
    let signature: string;
    if (candidate.method === 'ledger') {
      ({ address, signature } = await this.ctx.options.ledger.signTypedDataHash(candidate.derivationPath, null, () => hashedParts(ENROLMENT_TYPES, message)));
    } else {
      ({ address, signature } = await withKeyFile(candidate.keyFile, candidate.passphrase, async (wallet) => ({
        address: wallet.address,
        signature: await wallet.signTypedData(APPROVAL_DOMAIN, ENROLMENT_TYPES, message),
      })));
    }
    const recovered = recoverSigner(ENROLMENT_TYPES, message, signature);
    if (!recovered || recovered !== getAddress(address)) {
      fail('ENROLMENT_PROOF_INVALID', `The enrolment signature does not come from ${address}; the key could not prove possession. Nothing was enrolled.`);
    }
    const kind: GuardianKind = candidate.method === 'ledger' ? 'ledger' : 'software';
    return { name: candidate.name, kind, address: recovered, derivationPath: candidate.method === 'ledger' ? candidate.derivationPath.replace(/^m\//, '') : null, proof: { challenge: message.challenge, signature } };
  }

  /**
   * Signs on the Ledger with the pinned nonce. `shownMessageHash` is the message hash the screen
   * showed the operator (the IPC channel requires it); if it is no longer the current one, nothing
   * is sent to the device, so the device never asks about values the operator did not see.
   */
  async signWithLedger(requestId: string, guardianId: string, decision: ApprovalDecision, shownMessageHash?: string): Promise<ApprovalRequestView> {
    this.ctx.requireUnlocked();
    const guardian = this.registry.active().find((g) => g.id === guardianId);
    if (!guardian) fail('GUARDIAN_NOT_FOUND', 'That guardian is not in the registry any more. Refresh the list.');
    if (guardian.kind !== 'ledger' || !guardian.derivation_path) {
      fail('GUARDIAN_WRONG_DEVICE', `${guardian.name} holds a software key, not a Ledger. Approve with their key file instead.`);
    }
    const row = this.requests.openForSigning(requestId);
    const message = this.requests.ledgerMessage(row, decision);
    const parts = hashedParts(APPROVAL_TYPES, message);
    if (shownMessageHash !== undefined && ledgerDisplayHex(shownMessageHash) !== ledgerDisplayHex(parts.hashStruct)) {
      fail('LEDGER_DISPLAY_STALE', `The message hash on screen is out of date (another signature used it). Nothing was sent to the Ledger. Compare the new values now shown with the device, then ${decision} again.`, { requestId });
    }
    const { signature } = await this.ctx.options.ledger.signTypedDataHash(guardian.derivation_path, guardian.address, () => parts);
    const view = this.approvals.submit(message, signature, 'ledger');
    this.requests.ledgerNonceUsed(requestId);
    return view;
  }

  async signWithKeyFile(requestId: string, keyFile: string, passphrase: string, decision: ApprovalDecision): Promise<ApprovalRequestView> {
    this.ctx.requireUnlocked();
    const claimed = keyFileAddress(keyFile);
    if (!claimed) fail('KEYFILE_INVALID', 'This is not an encrypted guardian key file (expected an Ethereum JSON keystore with an address).');
    const guardian = this.registry.active().find((g) => g.address.toLowerCase() === claimed.toLowerCase());
    if (!guardian) fail('KEYFILE_NOT_GUARDIAN', `This key file holds ${claimed}, which is not one of this vault's guardians. Nothing was signed.`);
    this.requests.openForSigning(requestId);
    const signed = await withKeyFile(keyFile, passphrase, async (wallet) => {
      const message = this.requests.prepareMessage(requestId, decision);
      return { message, signature: await wallet.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, message) };
    });
    return this.approvals.submit(signed.message, signed.signature, 'software');
  }

  /** The request file a remote guardian signs on their own machine, and its QR code. */
  async exportRequest(requestId: string): Promise<RequestFileExport> {
    this.ctx.requireUnlocked();
    const message = this.requests.prepareMessage(requestId, 'approve');
    const view = this.requests.view(requestId);
    const typedData = approvalTypedData(message);
    const file = {
      format: 'vaultkeeper.approval-request/1',
      request: {
        id: view.id, operation: view.operation, operationLabel: view.operationLabel, subject: view.subject, summary: view.summary,
        parameters: view.parameters, context: view.context, payloadHash: view.payloadHash, requester: view.requester.name,
        createdAt: view.createdAt, expiresAt: view.expiresAt,
      },
      typedData,
      reply: 'Sign typedData with the guardian key (eth_signTypedData_v4; set message.decision to "reject" to refuse) and return {"format":"vaultkeeper.approval/1","message":<typedData.message>,"signature":"0x…"}.',
    };
    const json = `${JSON.stringify(file, null, 2)}\n`;
    const fileName = `approval-request-${view.id.slice(0, 8)}-${message.nonce.slice(2, 10)}.json`;
    const dir = join(this.ctx.options.dataDir, 'exports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, fileName);
    writeFileSync(path, json, { mode: 0o600 });
    const qrDataUrl = await QRCode.toDataURL(JSON.stringify({ format: 'vaultkeeper.approval-request/1', typedData }), { errorCorrectionLevel: 'M', margin: 2, width: 360 });
    return { fileName, path, json, qrDataUrl };
  }

  /** The file a guardian requester signs on their own machine (remote flow), and its QR code. */
  async exportRequesterFile(requestId: string): Promise<RequestFileExport> {
    this.ctx.requireUnlocked();
    const row = this.requests.openRow(requestId);
    if (!row.requester_address) fail('REQUESTER_SIGNATURE_INVALID', 'The operator requested this operation; no guardian needs to sign it as requester.', { requestId });
    const view = this.requests.view(requestId);
    const typedData = {
      domain: APPROVAL_DOMAIN,
      types: {
        EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }],
        ...REQUEST_TYPES,
      },
      primaryType: 'GuardedRequest' as const,
      message: this.requests.requesterMessageOf(row),
    };
    const file = {
      format: 'vaultkeeper.requester-request/1',
      request: { id: view.id, operationLabel: view.operationLabel, subject: view.subject, summary: view.summary, parameters: view.parameters, context: view.context, requester: view.requester.name, expiresAt: view.expiresAt },
      typedData,
      reply: `Sign typedData with ${view.requester.name}'s guardian key (eth_signTypedData_v4) and return {"format":"vaultkeeper.requester-signature/1","message":<typedData.message>,"signature":"0x…"}.`,
    };
    const json = `${JSON.stringify(file, null, 2)}\n`;
    const fileName = `requester-request-${view.id.slice(0, 8)}.json`;
    const dir = join(this.ctx.options.dataDir, 'exports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, fileName);
    writeFileSync(path, json, { mode: 0o600 });
    const qrDataUrl = await QRCode.toDataURL(JSON.stringify({ format: 'vaultkeeper.requester-request/1', typedData }), { errorCorrectionLevel: 'M', margin: 2, width: 360 });
    return { fileName, path, json, qrDataUrl };
  }

  /** The requester's signed file, brought back from their machine (size bounded by the channel schema). */
  importRequesterSignature(fileText: string): ApprovalRequestView {
    this.ctx.requireUnlocked();
    let parsed: unknown;
    try {
      parsed = JSON.parse(fileText);
    } catch {
      fail('REQUESTER_SIGNATURE_INVALID', 'The signed requester file is not valid JSON. Choose the file the requesting guardian returned.');
    }
    const file = parsed as { message?: { requestId?: unknown }; signature?: unknown } | null;
    const requestId = file?.message?.requestId;
    if (typeof requestId !== 'string' || requestId.length > 64 || typeof file?.signature !== 'string' || file.signature.length > 200) {
      fail('REQUESTER_SIGNATURE_INVALID', 'The file does not hold a signed requester message (message and signature). Choose the file the requesting guardian returned, not an approval file.');
    }
    // Only the request id is taken from the file; what the signature must cover is rebuilt from the stored request.
    return this.requests.recordRequesterSignature(requestId, file.signature);
  }

  /** An approval file a remote guardian returned (its size is bounded by the channel schema). */
  importApproval(fileText: string): ApprovalRequestView {
    this.ctx.requireUnlocked();
    let parsed: unknown;
    try {
      parsed = JSON.parse(fileText);
    } catch {
      fail('APPROVAL_FILE_INVALID', 'The approval file is not valid JSON. Choose the approval file the guardian returned.');
    }
    const file = parsed as { format?: unknown; message?: unknown; typedData?: { message?: unknown }; signature?: unknown } | null;
    const message = file?.message ?? file?.typedData?.message;
    if (!file || typeof file.signature !== 'string' || !isApprovalMessage(message)) {
      fail('APPROVAL_FILE_INVALID', 'The approval file does not hold a signed Vaultkeeper approval (message and signature). Choose the file the guardian returned, not the request file.');
    }
    return this.approvals.submit({ ...message, expiry: Number(message.expiry) }, file.signature, 'file');
  }
}
