/**
 * Cold-storage signing: a transaction from an account of the master seed (the master wallet,
 * index 0) is signed on the Ledger, never by the console, after the guardian quorum approved
 * exactly that transaction. hw-app-eth gets resolution `null`, so nothing reaches for Ledger's
 * network services; the device shows the transaction itself and the console shows beforehand
 * what it will display.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatEther, getAddress, keccak256, Signature, Transaction, ZeroAddress } from 'ethers';
import type { ApprovalRequestView, ColdPreview, ColdSigned } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import type { RequesterProof } from '../guardians/guardian-service';
import type { Db } from '../store/database';
import type { CeremonyRecords } from './ceremony-records';
import { evmPath, MASTER_WALLET_INDEX } from './derivation-plan';
import type { CeremonyGuardians } from './guardian-capability';
import { devicePath, refuseMismatch } from './ledger-verification';

const OPERATION = 'ceremony.cold.sign';

export interface ColdTxInput {
  ceremonyId: string;
  to: string;
  valueWei: string;
  chainId: number;
  nonce: number;
  gasLimit: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  data: string;
  reason: string;
  requester: RequesterProof;
  ttlMinutes: number;
}

export interface ColdSigningOptions {
  db: Db;
  /** Signed transactions are exported under <dataDir>/exports for the online side. */
  dataDir: string;
  audit: AuditLog;
  clock: Clock;
  ledger: LedgerDevice;
  guardians: CeremonyGuardians;
  records: CeremonyRecords;
}

/** The unsigned EIP-1559 transaction exactly as the guardians approved it. */
function buildTx(p: Record<string, unknown>): Transaction {
  return Transaction.from({
    type: 2,
    chainId: BigInt(String(p.chainId)),
    nonce: Number(p.nonce),
    to: String(p.to),
    value: BigInt(String(p.valueWei)),
    gasLimit: BigInt(String(p.gasLimit)),
    maxFeePerGas: BigInt(String(p.maxFeePerGas)),
    maxPriorityFeePerGas: BigInt(String(p.maxPriorityFeePerGas)),
    data: String(p.data),
  });
}

export function deviceScreens(tx: Transaction): string[] {
  const fee = tx.gasLimit * (tx.maxFeePerGas ?? 0n);
  return [
    'Review transaction',
    ...(tx.data !== '0x' ? ['Blind signing: contract data present'] : []),
    `Amount: ETH ${formatEther(tx.value)}`,
    `Address: ${tx.to}`,
    `Network: chain id ${tx.chainId}`,
    `Max fees: ETH ${formatEther(fee)}`,
    'Accept and send / Reject',
  ];
}

export class ColdSigning {
  constructor(private readonly options: ColdSigningOptions) {}

  private masterOf(ceremonyId: string): { address: string; path: string } {
    const record = this.options.records.sealed(ceremonyId);
    if (record.row.status !== 'certified') fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${ceremonyId.slice(0, 8)} is ${record.row.status}; cold accounts sign only after the guardians certified the ceremony.`);
    const master = record.material.addresses.find((a) => a.chain === 'evm' && a.index === MASTER_WALLET_INDEX);
    if (!master) fail('CEREMONY_NOT_FOUND', 'This ceremony recorded no master wallet.');
    return { address: master.address, path: evmPath(MASTER_WALLET_INDEX) };
  }

  async request(input: ColdTxInput): Promise<ApprovalRequestView> {
    const master = this.masterOf(input.ceremonyId);
    const to = getAddress(input.to);
    if (to === ZeroAddress) fail('COLD_TX_INVALID', 'The recipient is the zero address; funds sent there are lost. Enter the real recipient.');
    if (BigInt(input.maxPriorityFeePerGas) > BigInt(input.maxFeePerGas)) fail('COLD_TX_INVALID', 'The priority fee is higher than the max fee per gas. Lower the priority fee or raise the max fee.');
    if (BigInt(input.gasLimit) < 21_000n) fail('COLD_TX_INVALID', 'The gas limit is below 21,000, the cost of any transfer. Raise it.');
    const parameters = {
      ceremonyId: input.ceremonyId, from: master.address, path: master.path, chainId: input.chainId, nonce: input.nonce, to, valueWei: input.valueWei,
      gasLimit: input.gasLimit, maxFeePerGas: input.maxFeePerGas, maxPriorityFeePerGas: input.maxPriorityFeePerGas, data: input.data.toLowerCase(),
      amount: formatEther(BigInt(input.valueWei)), asset: 'ETH',
    };
    const tx = buildTx(parameters);
    return this.options.guardians.createRequest({
      operation: OPERATION,
      subject: master.address,
      parameters: { ...parameters, unsignedTxHash: keccak256(tx.unsignedSerialized) },
      context: { reason: input.reason },
      requester: input.requester,
      ttlMinutes: input.ttlMinutes,
    });
  }

  private approved(requestId: string): { request: ApprovalRequestView; tx: Transaction; parameters: Record<string, unknown> } {
    const request = this.options.guardians.view(requestId);
    if (request.operation !== OPERATION) fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId.slice(0, 8)} approves "${request.operationLabel}", not a cold-storage transaction.`, { requestId });
    const parameters = request.parameters;
    const tx = buildTx(parameters);
    // The transaction rebuilt from the approved fields must be the one the guardians saw hashed.
    if (keccak256(tx.unsignedSerialized) !== parameters.unsignedTxHash) fail('GUARD_PAYLOAD_MISMATCH', 'The approved transaction fields do not rebuild the approved transaction. Nothing was sent to the Ledger.', { requestId });
    return { request, tx, parameters };
  }

  preview(requestId: string): ColdPreview {
    const { tx, parameters } = this.approved(requestId);
    return { requestId, from: String(parameters.from), path: String(parameters.path), deviceScreens: deviceScreens(tx), unsignedTxHash: keccak256(tx.unsignedSerialized) };
  }

  async sign(requestId: string): Promise<ColdSigned> {
    const { request, tx, parameters } = this.approved(requestId);
    const master = this.masterOf(String(parameters.ceremonyId));
    if (master.address !== parameters.from) fail('GUARD_PAYLOAD_MISMATCH', 'The approved sender is not this ceremony\'s master wallet. Nothing was signed.');
    const { guardians, ledger } = this.options;
    guardians.checkApproval(OPERATION, request.subject, parameters, requestId);
    // The device must hold the ceremony's seed before it is asked to sign anything.
    const onDevice = (await ledger.getPublicKey(devicePath(master.path))).address;
    refuseMismatch([{ path: master.path, expected: master.address, found: onDevice, matches: onDevice === master.address }]);
    const { v, r, s } = await ledger.signTransaction(devicePath(master.path), tx.unsignedSerialized);
    const signed = tx.clone();
    signed.signature = Signature.from({ r: `0x${r.padStart(64, '0')}`, s: `0x${s.padStart(64, '0')}`, yParity: (parseInt(v, 16) % 2) as 0 | 1 });
    if (signed.from !== master.address) {
      fail('COLD_SIGNATURE_MISMATCH', `The Ledger's signature recovers to ${signed.from}, not the master wallet ${master.address}. The signature was discarded; check the device and try again.`);
    }
    const signedAt = new Date(this.options.clock.now()).toISOString();
    const txHash = signed.hash!;
    this.options.db.transaction(() => {
      const { approvers } = guardians.requireApproval(OPERATION, request.subject, parameters, requestId);
      this.options.db.prepare('INSERT INTO cold_signatures (request_id, ceremony_id, from_address, tx_hash, signed_tx, signed_at) VALUES (?, ?, ?, ?, ?, ?)').run(requestId, String(parameters.ceremonyId), master.address, txHash, signed.serialized, signedAt);
      this.options.audit.append({ type: 'COLD_TX_SIGNED', actor: 'operator', subject: requestId, details: { from: master.address, to: tx.to, valueWei: tx.value.toString(), chainId: Number(tx.chainId), nonce: tx.nonce, txHash, approvers } });
    })();
    // The export holds only what is broadcast anyway: the signed transaction is public once sent.
    const dir = join(this.options.dataDir, 'exports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `cold-tx-${txHash.slice(2, 10)}.json`);
    writeFileSync(path, `${JSON.stringify({ format: 'vaultkeeper.signed-transaction/1', requestId, chainId: Number(tx.chainId), from: master.address, txHash, signedTx: signed.serialized, signedAt }, null, 2)}\n`, { mode: 0o600 });
    return { requestId, from: master.address, txHash, signedTx: signed.serialized, signedAt, path };
  }
}
