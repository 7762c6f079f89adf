/**
 * Animated QR for everything that crosses the air gap. Main builds the UR parts from payloads it
 * holds (the renderer names a payload, never supplies it), and main reassembles what the camera
 * read: the parts go through the checks of UrReceiver, and the bytes then through the very import
 * a file goes through (permit queue, guardian approval, air-gap bundle folder), so nothing is
 * trusted because it came by QR. EIP-4527 requests are remembered by id until their signature
 * is read back.
 * Runtime: main.
 */
import { createHash, randomUUID } from 'node:crypto';
import { renameSync, rmSync, statSync } from 'node:fs';
import { writeFileAtomically } from '../platform/atomic-file';
import { join } from 'node:path';
import type { AirgapReport, AnimatedQrView, QrPayloadRef, QrReceiveKind, QrReceiveOutcome, QrReceiveStartView, QrReceiveView } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { bundleFileName, MAX_BUNDLE_BYTES as MAX_MPC_BUNDLE_BYTES, readBundle } from '../cluster/airgap';
import type { AirgapImportReport } from '../cluster/airgap-sessions';
import { fail, isAppFailure } from '../errors';
import type { GuardianService } from '../guardians/guardian-service';
import { MAX_BUNDLE_BYTES as MAX_PERMIT_BUNDLE_BYTES, readBundle as readPermitBundle, serializeBundle } from '../permits/permit-bundle';
import type { PermitQueue } from '../permits/queue/permit-queue';
import { resultEntry, resultFileText } from '../permits/queue/result-file';
import { signedPermitOf } from '../permits/queue/queue-views';
import type { QueueKeyset } from '../permits/queue/permit-checker';
import { isFolder, readRegularTextFile } from '../platform/safe-file';
import { animatedUr, bytesUr, MAX_QR_PAYLOAD_BYTES } from './animated-ur';
import { ETH_SIGNATURE, ethSignRequest, readEthSignature, readSolSignature, SOL_SIGNATURE, solSignRequest, type EvmSignAsk, type SolanaSignAsk } from './eip4527';
import { payloadOfBytesUr, UrReceiver } from './ur-receiver';
import { keysetSigningPath } from './keyset-path';

/** Vaultkeeper's own UR types: one CBOR byte string holding the same bytes as the file. */
export const UR_TYPES = {
  permitBundle: 'vk-permit-bundle',
  signedResults: 'vk-signed-results',
  approvalRequest: 'vk-approval-request',
  approval: 'vk-approval',
  mpcBundle: 'vk-mpc-bundle',
} as const;

/** An approval file is small; the channel that takes one as text allows 16 KiB. */
const MAX_APPROVAL_BYTES = 16 * 1024;
/** Readings abandoned half-way are dropped after this long. */
const RECEIVE_TTL_MS = 30 * 60_000;
const MAX_OPEN_RECEIVES = 8;
const MAX_OPEN_SIGN_REQUESTS = 64;

interface OpenReceive {
  kind: QrReceiveKind;
  receiver: UrReceiver;
  folder: string | null;
  startedAt: number;
}

type SignAsk = { permitId: string; chain: 'evm'; ask: EvmSignAsk } | { permitId: string; chain: 'solana'; ask: SolanaSignAsk };

export interface QrTransferDeps {
  audit: AuditLog;
  now: () => number;
  /** Throws VAULT_LOCKED when the vault is not open. */
  requireUnlocked: () => void;
  queue: PermitQueue;
  guardians: Pick<GuardianService, 'exportRequest' | 'importApproval'>;
  keyset: (keysetId: string) => QueueKeyset | null;
  airgapImport: (folder: string) => Promise<AirgapImportReport>;
  airgapSessions: () => Array<{ sessionId: string }>;
}

export class QrTransfers {
  private readonly receives = new Map<string, OpenReceive>();
  private readonly asks = new Map<string, SignAsk>();

  constructor(private readonly d: QrTransferDeps) {}

  async frames(ref: QrPayloadRef, fragmentBytes: number): Promise<AnimatedQrView> {
    this.d.requireUnlocked();
    if (ref.kind === 'sign-request') return this.signRequest(ref.permitId, fragmentBytes);
    const { type, label, payload } = await this.payloadOf(ref);
    const animated = animatedUr(bytesUr(type, payload), payload, fragmentBytes);
    return { ...animated, label, requestId: null };
  }

  private async payloadOf(ref: Exclude<QrPayloadRef, { kind: 'sign-request' }>): Promise<{ type: string; label: string; payload: Buffer }> {
    switch (ref.kind) {
      case 'permit-bundle': {
        const permits = [...new Set(ref.permitIds)].map((id) => signedPermitOf(this.d.queue.store.require(id)));
        return { type: UR_TYPES.permitBundle, label: `permit bundle of ${permits.length} permit${permits.length === 1 ? '' : 's'}`, payload: Buffer.from(serializeBundle(permits)) };
      }
      case 'permit-bundle-file': {
        // Only a well-formed bundle is shown; its bytes go out exactly as they are in the file.
        const text = readRegularTextFile(ref.path, { maxBytes: MAX_PERMIT_BUNDLE_BYTES, what: 'permit bundle' });
        const count = readPermitBundle(ref.path).permits.length;
        return { type: UR_TYPES.permitBundle, label: `permit bundle of ${count} permit${count === 1 ? '' : 's'}`, payload: Buffer.from(text) };
      }
      case 'signed-results': {
        const rows = [...new Set(ref.permitIds)].map((id) => this.d.queue.store.require(id));
        for (const row of rows) {
          if (row.state !== 'signed' && row.state !== 'exported') fail('QUEUE_WRONG_STATE', `Permit ${row.permit_id} is ${row.state}; it has no signed transaction to show.`, { permitId: row.permit_id });
        }
        return { type: UR_TYPES.signedResults, label: `signed result${rows.length === 1 ? '' : 's'} of ${rows.length} permit${rows.length === 1 ? '' : 's'}`, payload: Buffer.from(resultFileText(rows.map(resultEntry), this.d.now())) };
      }
      case 'approval-request': {
        const file = await this.d.guardians.exportRequest(ref.requestId);
        return { type: UR_TYPES.approvalRequest, label: `approval request ${ref.requestId.slice(0, 8)}`, payload: Buffer.from(file.json) };
      }
      case 'mpc-bundle': {
        const size = statSync(ref.path).size;
        if (size > MAX_QR_PAYLOAD_BYTES) {
          fail('QR_PAYLOAD_TOO_LARGE', `This round bundle is ${Math.ceil(size / 1024)} KiB; an animated QR carries at most ${MAX_QR_PAYLOAD_BYTES / 1024} KiB. Carry it on a medium as a file.`, { bytes: size, limit: MAX_QR_PAYLOAD_BYTES });
        }
        const bundle = readBundle(ref.path);
        const text = readRegularTextFile(ref.path, { maxBytes: MAX_MPC_BUNDLE_BYTES, what: 'bundle file' });
        return { type: UR_TYPES.mpcBundle, label: `${bundle.header.protocol} round ${bundle.header.round} bundle`, payload: Buffer.from(text) };
      }
    }
  }

  /** EIP-4527: the permit's transaction for an external signer; the request id is kept for its answer. */
  private signRequest(permitId: string, fragmentBytes: number): AnimatedQrView {
    const signed = signedPermitOf(this.d.queue.store.require(permitId));
    const { permit } = signed;
    const keyset = this.d.keyset(permit.keysetId);
    if (!keyset?.address) fail('QUEUE_KEYSET_UNKNOWN', `Keyset ${permit.keysetId} is not a keyset of this node with an address; no signing request can be made for it.`, { permitId });
    const requestId = randomUUID();
    const { path, sourceFingerprint } = keysetSigningPath(keyset);
    let entry: SignAsk;
    let ur;
    if (permit.chain.kind === 'evm') {
      const ask: EvmSignAsk = { requestId, payloadHex: permit.payload, chainId: permit.chain.chainId, address: keyset.address, path, sourceFingerprint };
      ur = ethSignRequest(ask);
      entry = { permitId, chain: 'evm', ask };
    } else {
      const ask: SolanaSignAsk = { requestId, messageBase64: permit.payload, address: keyset.address, path, sourceFingerprint };
      ur = solSignRequest(ask);
      entry = { permitId, chain: 'solana', ask };
    }
    if (this.asks.size >= MAX_OPEN_SIGN_REQUESTS) this.asks.delete(this.asks.keys().next().value!);
    this.asks.set(requestId, entry);
    this.d.audit.append({ type: 'QR_SIGN_REQUEST_SHOWN', actor: 'operator', subject: permitId, details: { requestId, type: ur.type } });
    const animated = animatedUr(ur, ur.cbor, fragmentBytes);
    return { ...animated, label: `${ur.type} for permit ${permitId}`, requestId };
  }

  receiveStart(request: { kind: QrReceiveKind; folder?: string }): QrReceiveStartView {
    this.d.requireUnlocked();
    this.dropStale();
    if (this.receives.size >= MAX_OPEN_RECEIVES) this.receives.delete(this.receives.keys().next().value!);
    const { accepts, limit, what } = receiveRules(request.kind);
    if (request.kind === 'mpc-bundle') requireFolder(request.folder ?? '');
    const receiveId = randomUUID();
    this.receives.set(receiveId, { kind: request.kind, receiver: new UrReceiver(accepts, limit, what), folder: request.folder ?? null, startedAt: this.d.now() });
    return { receiveId, accepts: [...accepts] };
  }

  cancel(receiveId: string): { cancelled: boolean } {
    return { cancelled: this.receives.delete(receiveId) };
  }

  async receivePart(receiveId: string, part: string): Promise<QrReceiveView> {
    this.d.requireUnlocked();
    this.dropStale();
    const open = this.receives.get(receiveId);
    if (!open) fail('QR_RECEIVE_UNKNOWN', 'This QR reading is no longer open (finished, cancelled, or started over 30 minutes ago). Start the scan again.');
    let receipt;
    try {
      receipt = open.receiver.receive(part);
    } catch (error) {
      // A refused frame ends the reading: nothing half-read is kept.
      this.receives.delete(receiveId);
      throw error;
    }
    if (!receipt.done) return { state: 'receiving', progress: receipt.progress };
    this.receives.delete(receiveId);
    const { outcome, payload } = await this.deliver(open, receipt.type, receipt.cbor);
    const sha256 = createHash('sha256').update(payload).digest('hex');
    this.d.audit.append({ type: 'QR_PAYLOAD_RECEIVED', actor: 'operator', subject: receipt.type, details: { kind: open.kind, bytes: payload.length, sha256, frames: receipt.progress.framesRead } });
    return { state: 'done', progress: receipt.progress, type: receipt.type, payloadBytes: payload.length, sha256, outcome };
  }

  /** The reassembled bytes, handed to the import a file of the same kind goes through. */
  private async deliver(open: OpenReceive, type: string, cbor: Buffer): Promise<{ outcome: QrReceiveOutcome; payload: Buffer }> {
    switch (open.kind) {
      case 'permit-bundle': {
        const payload = payloadOfBytesUr(cbor);
        return { payload, outcome: { kind: 'permit-bundle', report: this.d.queue.importFrom({ from: 'qr', text: utf8(payload) }) } };
      }
      case 'approval': {
        const payload = payloadOfBytesUr(cbor);
        return { payload, outcome: { kind: 'approval', request: this.d.guardians.importApproval(utf8(payload)) } };
      }
      case 'mpc-bundle': {
        const payload = payloadOfBytesUr(cbor);
        const file = writeReceivedBundle(open.folder!, utf8(payload));
        const report = await this.d.airgapImport(open.folder!);
        const view: AirgapReport = { sessionId: null, bundles: report.imported, refused: report.refused, joined: [...report.joined, ...report.joinedGroup].map((j) => j.sessionId), waiting: this.d.airgapSessions().map((s) => s.sessionId), pending: report.pending, refusedEarlier: report.refusedEarlier };
        return { payload, outcome: { kind: 'mpc-bundle', file, report: view } };
      }
      case 'sign-result':
        return { payload: cbor, outcome: this.signatureRead(type, cbor) };
    }
  }

  private signatureRead(type: string, cbor: Buffer): QrReceiveOutcome {
    const requestIdOf = (ask: SignAsk) => ask.ask.requestId;
    // The signature names its request; only a request this console showed (and its exact transaction) is accepted.
    const candidates = [...this.asks.values()].filter((a) => (type === ETH_SIGNATURE ? a.chain === 'evm' : a.chain === 'solana'));
    if (candidates.length === 0) fail('QR_SIGN_REQUEST_MISMATCH', `No ${type === ETH_SIGNATURE ? 'Ethereum' : 'Solana'} signing request of this console is waiting for a signature. Show the signing request first.`);
    let lastError: unknown = null;
    for (const entry of candidates) {
      try {
        const signed = entry.chain === 'evm' ? readEthSignature({ type, cbor }, entry.ask) : readSolSignature({ type, cbor }, entry.ask);
        // The queue item is signed as if signed in the console; a permit not approved refuses it.
        this.d.queue.recordExternalSignature(entry.permitId, { requestId: requestIdOf(entry), via: type, signature: signed.signature, recoveryId: signed.recoveryId, signedTx: signed.raw, signedTxHash: signed.hash });
        this.asks.delete(requestIdOf(entry));
        this.d.audit.append({ type: 'QR_SIGNATURE_READ', actor: 'operator', subject: entry.permitId, details: { requestId: requestIdOf(entry), transactionHash: signed.hash } });
        return { kind: 'sign-result', permitId: entry.permitId, requestId: requestIdOf(entry), encoding: signed.encoding, signedTx: signed.raw, signedTxHash: signed.hash };
      } catch (error) {
        lastError = error;
        // Another request's signature: try the next open request; any other refusal is final.
        if (!(isAppFailure(error) && error.code === 'QR_SIGN_REQUEST_MISMATCH')) throw error;
      }
    }
    throw lastError;
  }

  private dropStale(): void {
    const now = this.d.now();
    for (const [id, open] of this.receives) if (now - open.startedAt > RECEIVE_TTL_MS) this.receives.delete(id);
  }
}

function receiveRules(kind: QrReceiveKind): { accepts: readonly string[]; limit: number; what: string } {
  switch (kind) {
    case 'permit-bundle':
      return { accepts: [UR_TYPES.permitBundle], limit: MAX_QR_PAYLOAD_BYTES, what: 'a permit bundle' };
    case 'approval':
      return { accepts: [UR_TYPES.approval], limit: MAX_APPROVAL_BYTES, what: 'a guardian approval file' };
    case 'mpc-bundle':
      return { accepts: [UR_TYPES.mpcBundle], limit: MAX_QR_PAYLOAD_BYTES, what: 'an air-gap round bundle' };
    case 'sign-result':
      return { accepts: [ETH_SIGNATURE, SOL_SIGNATURE], limit: 4096, what: 'an EIP-4527 signature' };
  }
}

function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail('QR_UR_CORRUPT', 'The payload read by QR is not UTF-8 text; it is not a Vaultkeeper file. Nothing was imported.');
  }
}

function requireFolder(path: string): void {
  if (!isFolder(path)) fail('BUNDLE_MALFORMED', `The folder ${path || '(none)'} does not exist or is not a folder. Check that the medium is mounted.`);
}

/**
 * The received bundle lands in the folder under the name a file bundle has (after the structural
 * check a file gets), then the folder is imported as usual: signature and session checks there.
 */
function writeReceivedBundle(folder: string, text: string): string {
  // Checked where it will be read, under a name no bundle has; renamed only when it passed.
  const temporary = writeFileAtomically(folder, `.qr-${randomUUID()}.partial`, text);
  try {
    const bundle = readBundle(temporary);
    const final = join(folder, bundleFileName(bundle.header));
    renameSync(temporary, final);
    return final;
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
