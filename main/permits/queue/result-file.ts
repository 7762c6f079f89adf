/**
 * The signed results carried back to the online side: a self-describing JSON file (format,
 * version, and per permit the chain, the signed raw transaction with its encoding and hash, and
 * the permit and tx request it answers), one per permit or one per batch, written atomically.
 * The same entry, compact, is what the QR code shows.
 */
import QRCode from 'qrcode';
import type { ChainRef } from '../../chains/transaction';
import { describeNetwork } from '../../chains/review';
import { writeNewFileAtomically } from '../../platform/atomic-file';
import type { QueueRow } from './queue-store';
import { signedPermitOf } from './queue-views';

export const RESULT_FORMAT = 'vaultkeeper/signed-transactions';
export const RESULT_VERSION = 1;

export interface SignedResultEntry {
  permitId: string;
  txRequestId: string;
  walletId: string;
  keysetId: string;
  chain: ChainRef;
  network: string;
  /** The hash the permit named: of the unsigned transaction (EVM) or the message (Solana). */
  permitTxHash: string;
  encoding: 'hex' | 'base64';
  signedTransaction: string;
  /** EVM: hash of the signed transaction; Solana: the first signature, base58 (the transaction id). */
  transactionHash: string;
  signedAt: string;
}

export function resultEntry(row: QueueRow): SignedResultEntry {
  const { permit } = signedPermitOf(row);
  return {
    permitId: permit.permitId,
    txRequestId: permit.txRequestId,
    walletId: permit.walletId,
    keysetId: permit.keysetId,
    chain: permit.chain,
    network: describeNetwork(permit.chain),
    permitTxHash: permit.txHash,
    encoding: permit.chain.kind === 'evm' ? 'hex' : 'base64',
    signedTransaction: row.signed_tx!,
    transactionHash: row.signed_tx_hash!,
    signedAt: new Date(row.signed_at!).toISOString(),
  };
}

export function resultFileText(entries: SignedResultEntry[], createdAt: number): string {
  return `${JSON.stringify({ format: RESULT_FORMAT, version: RESULT_VERSION, createdAt: new Date(createdAt).toISOString(), count: entries.length, results: entries }, null, 1)}\n`;
}

/** Writes one file for `entries`; returns its path. */
export function writeResultFile(folder: string, entries: SignedResultEntry[], createdAt: number): string {
  const stamp = new Date(createdAt).toISOString().replace(/[:.]/g, '-');
  const name = entries.length === 1 ? `signed-${entries[0]!.permitId.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.json` : `signed-batch-${entries.length}-${stamp}.json`;
  return writeNewFileAtomically(folder, name, resultFileText(entries, createdAt), 'signed result file');
}

/** The QR of one result entry, as rows of dark (true) and light modules. */
export function resultQr(entry: SignedResultEntry): boolean[][] {
  const text = JSON.stringify({ format: RESULT_FORMAT, version: RESULT_VERSION, results: [entry] });
  const qr = QRCode.create(text, { errorCorrectionLevel: 'L' });
  const size = qr.modules.size;
  const rows: boolean[][] = [];
  for (let y = 0; y < size; y += 1) {
    const row: boolean[] = [];
    for (let x = 0; x < size; x += 1) row.push(qr.modules.get(y, x) === 1);
    rows.push(row);
  }
  return rows;
}
