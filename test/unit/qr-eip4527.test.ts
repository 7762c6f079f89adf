/**
 * EIP-4527 interop: the console's `eth-sign-request` / `sol-sign-request`, carried as animated QR
 * parts, decode with Keystone's registries into the same transaction; an `eth-signature` /
 * `sol-signature` read back gives the same signed transaction as the signer itself would make.
 * Refused: a signature for another request id, by another key, or a UR of the wrong type.
 * Read back for a queued permit, the signature marks that approved item signed exactly as signing
 * in the console does (state, signature, signed transaction, PERMIT_QUEUE_SIGNED); refused and
 * unchanged: another key, another request id, an item already signed or not approved.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, beforeEach, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { DataType, EthSignRequest, ETHSignature } from '@keystonehq/bc-ur-registry-eth';
import { SignType, SolSignature, SolSignRequest } from '@keystonehq/bc-ur-registry-sol';
import { URDecoder } from '@ngraveio/bc-ur';
import { Keypair, VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { getBytes, keccak256, Transaction, Wallet } from 'ethers';
import { buildEvmTransfer, buildSolanaTransfer } from '../../main/chains/build';
import { isAppFailure } from '../../main/errors';
import { animatedUr } from '../../main/qr/animated-ur';
import { ethSignRequest, readEthSignature, readSolSignature, solSignRequest, type EvmSignAsk, type SolanaSignAsk } from '../../main/qr/eip4527';
import { UrReceiver } from '../../main/qr/ur-receiver';
import { QrTransfers } from '../../main/qr/qr-transfers';
import { serializeBundle } from '../../main/permits/permit-bundle';
import type { SignedPermit } from '../../main/permits/permit-format';
import type { QueueKeyset } from '../../main/permits/queue/permit-checker';
import type { PermitQueue } from '../../main/permits/queue/permit-queue';
import { EVM_KEYSET, SOL_KEYSET, evmPayload, factsFor, permitFixture, permitFor, solPayload, type PermitFixture } from '../support/permits';

/** A UUID as the 16 bytes EIP-4527 carries. */
const parseUuid = (id: string): Buffer => Buffer.from(id.replace(/-/g, ''), 'hex');
const uuidString = (bytes: Buffer): string => { const h = Buffer.from(bytes).toString('hex'); return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`; };

const wallet = Wallet.createRandom();
const solana = Keypair.generate();

/** What a Keystone-compatible wallet does with the parts: bc-ur's own decoder, nothing of the console. */
function decodeParts(parts: string[]): { type: string; cbor: Buffer } {
  const decoder = new URDecoder();
  for (const part of parts) {
    decoder.receivePart(part);
    if (decoder.isComplete()) break;
  }
  assert.ok(decoder.isSuccess(), 'the parts reassemble');
  const ur = decoder.resultUR();
  return { type: ur.type, cbor: ur.cbor };
}

/** The signature as the console reads it: animated QR parts through the receiver. */
function readBack(item: { toUR(): { type: string; cbor: Buffer } }, accept: string[]): { type: string; cbor: Buffer } {
  const ur = item.toUR();
  const parts = animatedUr(ur as never, ur.cbor, 50).parts;
  const receiver = new UrReceiver(accept, 4096, 'an EIP-4527 signature');
  for (const part of parts) {
    const receipt = receiver.receive(part);
    if (receipt.done) return { type: receipt.type, cbor: receipt.cbor };
  }
  assert.fail('the signature did not reassemble');
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isAppFailure(error), `an AppFailure, got ${String(error)}`);
    return error.code;
  }
  return 'no error';
}

const payloadHex = buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 7, to: '0x1111111111111111111111111111111111111111', amount: 1_500_000_000_000_000_000n } as never);
const evmAsk: EvmSignAsk = { requestId: randomUUID(), payloadHex, chainId: 1, address: wallet.address, path: "m/44'/60'/0'/0/0", sourceFingerprint: '12345678' };

const messageBase64 = buildSolanaTransfer({ type: 'sol', from: solana.publicKey.toBase58(), to: Keypair.generate().publicKey.toBase58(), amount: 2_000_000_000n, recentBlockhash: '11111111111111111111111111111111' } as never);
const solAsk: SolanaSignAsk = { requestId: randomUUID(), messageBase64, address: solana.publicKey.toBase58(), path: "m/44'/501'/0'/0'", sourceFingerprint: '12345678' };

function ethSignatureFor(tx: Transaction, signer: Pick<Wallet, 'signingKey'>, requestId: string): ETHSignature {
  const sig = signer.signingKey.sign(keccak256(tx.unsignedSerialized));
  return new ETHSignature(Buffer.concat([Buffer.from(getBytes(sig.r)), Buffer.from(getBytes(sig.s)), Buffer.from([sig.yParity])]), Buffer.from(parseUuid(requestId)));
}

describe('EIP-4527: Ethereum', () => {
  it('the eth-sign-request decodes with the Keystone registry into the same transaction', () => {
    const ur = ethSignRequest(evmAsk);
    const parts = animatedUr(ur, ur.cbor, 60).parts;
    assert.ok(parts.length > 1, 'an animated QR of several frames');
    const decoded = decodeParts(parts);
    assert.equal(decoded.type, 'eth-sign-request');
    const request = EthSignRequest.fromCBOR(decoded.cbor);
    assert.equal(request.getDataType(), DataType.typedTransaction);
    assert.equal(request.getChainId(), 1);
    assert.equal(request.getDerivationPath(), "44'/60'/0'/0/0");
    assert.equal(`0x${request.getSignRequestAddress()!.toString('hex')}`, wallet.address.toLowerCase());
    assert.equal(Buffer.from(request.getRequestId()!).toString('hex'), evmAsk.requestId.replace(/-/g, ''));
    const tx = Transaction.from(`0x${request.getSignData().toString('hex')}`);
    assert.equal(tx.unsignedSerialized, payloadHex);
    assert.equal(tx.to, '0x1111111111111111111111111111111111111111');
    assert.equal(tx.value, 1_500_000_000_000_000_000n);
    assert.equal(tx.nonce, 7);
  });

  it('an eth-signature read back gives the same signed transaction the signer makes', async () => {
    const tx = Transaction.from(payloadHex);
    const signed = readEthSignature(readBack(ethSignatureFor(tx, wallet, evmAsk.requestId), ['eth-signature']), evmAsk);
    const expected = await wallet.signTransaction(tx);
    assert.equal(signed.raw, expected);
    assert.equal(signed.hash, Transaction.from(expected).hash);
  });

  it('refuses a signature that answers another request id', () => {
    const tx = Transaction.from(payloadHex);
    const other = readBack(ethSignatureFor(tx, wallet, randomUUID()), ['eth-signature']);
    assert.equal(code(() => readEthSignature(other, evmAsk)), 'QR_SIGN_REQUEST_MISMATCH');
    const none = new ETHSignature(Buffer.alloc(65, 1));
    assert.equal(code(() => readEthSignature({ type: 'eth-signature', cbor: none.toUR().cbor }, evmAsk)), 'QR_SIGN_REQUEST_MISMATCH');
  });

  it('refuses a signature by another key, and a UR of the wrong type', () => {
    const tx = Transaction.from(payloadHex);
    const forged = readBack(ethSignatureFor(tx, Wallet.createRandom(), evmAsk.requestId), ['eth-signature']);
    assert.equal(code(() => readEthSignature(forged, evmAsk)), 'QR_SIGNATURE_INVALID');
    const request = ethSignRequest(evmAsk);
    assert.equal(code(() => readEthSignature({ type: request.type, cbor: request.cbor }, evmAsk)), 'QR_UR_WRONG_TYPE');
    assert.equal(code(() => new UrReceiver(['eth-signature'], 4096, 'an EIP-4527 signature').receive(animatedUr(request, request.cbor, 1000).parts[0]!)), 'QR_UR_WRONG_TYPE');
  });
});

describe('EIP-4527 interop: Solana', () => {
  it('the sol-sign-request decodes with the Keystone registry into the same message', () => {
    const ur = solSignRequest(solAsk);
    const decoded = decodeParts(animatedUr(ur, ur.cbor, 60).parts);
    assert.equal(decoded.type, 'sol-sign-request');
    const request = SolSignRequest.fromCBOR(decoded.cbor);
    assert.equal(request.getSignType(), SignType.Transaction);
    assert.equal(request.getSignData().toString('base64'), messageBase64);
    assert.equal(Buffer.from(request.getRequestId()!).toString('hex'), solAsk.requestId.replace(/-/g, ''));
  });

  it('a sol-signature read back gives the same signed transaction the signer makes', () => {
    const message = Buffer.from(messageBase64, 'base64');
    const sig = Buffer.from(ed25519.sign(message, solana.secretKey.subarray(0, 32)));
    const signed = readSolSignature(readBack(new SolSignature(sig, Buffer.from(parseUuid(solAsk.requestId))), ['sol-signature']), solAsk);
    const expected = new VersionedTransaction(VersionedMessage.deserialize(message));
    expected.sign([solana]);
    assert.equal(signed.raw, Buffer.from(expected.serialize()).toString('base64'));
  });

  it('refuses a sol-signature for another request id or by another key', () => {
    const message = Buffer.from(messageBase64, 'base64');
    const sig = Buffer.from(ed25519.sign(message, solana.secretKey.subarray(0, 32)));
    assert.equal(code(() => readSolSignature(readBack(new SolSignature(sig, Buffer.from(parseUuid(randomUUID()))), ['sol-signature']), solAsk)), 'QR_SIGN_REQUEST_MISMATCH');
    const stranger = Keypair.generate();
    const forged = Buffer.from(ed25519.sign(message, stranger.secretKey.subarray(0, 32)));
    assert.equal(code(() => readSolSignature(readBack(new SolSignature(forged, Buffer.from(parseUuid(solAsk.requestId))), ['sol-signature']), solAsk)), 'QR_SIGNATURE_INVALID');
    const ethereum = new ETHSignature(Buffer.concat([sig, Buffer.from([0])]), Buffer.from(parseUuid(solAsk.requestId))).toUR();
    assert.equal(code(() => readSolSignature({ type: ethereum.type, cbor: ethereum.cbor }, solAsk)), 'QR_UR_WRONG_TYPE');
  });
});

describe('EIP-4527 through the console: a signature read back marks the queued permit signed', () => {
  let f: PermitFixture;
  let queue: PermitQueue;
  let transfers: QrTransfers;
  const evmKeyset = (keysetId: string): QueueKeyset | null => (keysetId === EVM_KEYSET ? { keysetId, scheme: 'ecdsa', address: wallet.address, publicKey: wallet.signingKey.compressedPublicKey.slice(2), lab: false, status: 'active' } : keysetId === SOL_KEYSET ? { keysetId, scheme: 'eddsa', address: f.solana.address, publicKey: Buffer.from(f.solana.keyset.publicKey.toBytes()).toString('hex'), lab: false, status: 'active' } : null);
  const noCluster = { keyset: evmKeyset, signWithPermit: async () => assert.fail('the cluster is not asked when a QR signer signs') };
  let nonce = 0;

  beforeEach(() => {
    f?.cleanup();
    f = permitFixture();
    queue = f.queue(noCluster as never);
    transfers = new QrTransfers({ audit: f.audit, now: () => f.clock.now(), requireUnlocked: () => undefined, queue, guardians: {} as never, keyset: evmKeyset, airgapImport: async () => assert.fail('not used'), airgapSessions: () => [] });
  });
  after(() => f?.cleanup());

  /** An EVM permit in the queue, approved unless told otherwise. */
  const queued = (approve = true): SignedPermit => {
    const signed = permitFor(f, evmPayload({ nonce: (nonce += 1) }));
    queue.importFrom({ from: 'paste', text: serializeBundle([signed]) });
    if (approve) queue.approve(signed.permit.permitId);
    return signed;
  };
  /** The request the console shows for `permitId`, as a wallet decodes it. */
  const show = async (permitId: string) => {
    const shown = await transfers.frames({ kind: 'sign-request', permitId }, 250);
    const request = EthSignRequest.fromCBOR(decodeParts(shown.parts).cbor);
    return { requestId: uuidString(request.getRequestId()!), tx: Transaction.from(`0x${request.getSignData().toString('hex')}`) };
  };
  const readThrough = async (item: { toUR(): { type: string; cbor: Buffer } }) => {
    const ur = item.toUR();
    const { receiveId } = transfers.receiveStart({ kind: 'sign-result' });
    for (const part of animatedUr(ur as never, ur.cbor, 50).parts) {
      const view = await transfers.receivePart(receiveId, part);
      if (view.state === 'done') return view;
    }
    assert.fail('not reassembled');
  };
  const refusedWith = (wanted: string) => (e: unknown) => isAppFailure(e) && e.code === wanted && e.message.length > 30;
  const signedRows = () => f.audit.list({ type: 'PERMIT_QUEUE_SIGNED' }).entries;

  it('an eth-signature from the keyset key for the request shown marks the approved item signed, as console signing does', async () => {
    const signed = queued();
    const coSign = () => f.authorizer.authorize(factsFor(f, signed, { keysetAddress: wallet.address }));
    assert.equal(coSign().ok, true, 'approved here: a co-signing request would be joined');
    const { requestId, tx } = await show(signed.permit.permitId);
    assert.equal(tx.unsignedSerialized, signed.permit.payload);
    const done = await readThrough(ethSignatureFor(tx, wallet, requestId));
    assert.ok(done.outcome.kind === 'sign-result');
    const expected = await wallet.signTransaction(tx);
    assert.equal(done.outcome.signedTx, expected);
    const row = queue.store.require(signed.permit.permitId);
    assert.equal(row.state, 'signed');
    assert.equal(row.signed_tx, expected);
    assert.equal(row.signed_tx_hash, Transaction.from(expected).hash);
    assert.equal(row.signature, Transaction.from(expected).signature!.r.slice(2) + Transaction.from(expected).signature!.s.slice(2));
    assert.equal(row.recovery_id, Transaction.from(expected).signature!.yParity);
    const audited = signedRows().find((e) => e.subject === signed.permit.permitId);
    assert.deepEqual(audited?.details, { mode: 'qr', via: 'eth-signature', requestId, transactionHash: row.signed_tx_hash });
    // Signed once by QR: a co-signing request for the same permit would sign the transaction a second time.
    const again = coSign();
    assert.equal(again.ok ? 'ok' : again.code, 'PERMIT_ALREADY_USED');
    assert.match(again.ok ? '' : again.message, new RegExp(`^Permit ${signed.permit.permitId} was already used by this node \\d+ s ago \\(signature read back by QR, request ${requestId}\\); a permit signs once only\\.$`));
    // The same signature again answers no open request.
    await assert.rejects(readThrough(ethSignatureFor(tx, wallet, requestId)), refusedWith('QR_SIGN_REQUEST_MISMATCH'));
  });

  it('refused with code and sentence, queue unchanged: another key, another request id, an item already signed, an item not approved', async () => {
    const signed = queued();
    const before = JSON.stringify(queue.store.require(signed.permit.permitId));
    const { requestId, tx } = await show(signed.permit.permitId);
    await assert.rejects(readThrough(ethSignatureFor(tx, Wallet.createRandom(), requestId)), refusedWith('QR_SIGNATURE_INVALID'));
    await assert.rejects(readThrough(ethSignatureFor(tx, wallet, randomUUID())), refusedWith('QR_SIGN_REQUEST_MISMATCH'));
    assert.equal(JSON.stringify(queue.store.require(signed.permit.permitId)), before, 'queue unchanged');
    assert.equal(signedRows().length, 0);

    // Two requests shown for one permit: the first answer signs it, the second is refused.
    const second = await show(signed.permit.permitId);
    await readThrough(ethSignatureFor(tx, wallet, requestId));
    const afterFirst = JSON.stringify(queue.store.require(signed.permit.permitId));
    await assert.rejects(readThrough(ethSignatureFor(second.tx, wallet, second.requestId)), refusedWith('QUEUE_WRONG_STATE'));
    assert.equal(JSON.stringify(queue.store.require(signed.permit.permitId)), afterFirst, 'the signed item keeps its signature');
    assert.equal(signedRows().length, 1);

    const waiting = queued(false);
    const shown = await show(waiting.permit.permitId);
    await assert.rejects(readThrough(ethSignatureFor(shown.tx, wallet, shown.requestId)), (e: unknown) => refusedWith('QUEUE_WRONG_STATE')(e) && /waiting for review.*Approve it after review first/.test((e as Error).message));
    assert.equal(queue.store.require(waiting.permit.permitId).state, 'pending');
  });

  it('a sol-signature from the keyset key marks the approved Solana item signed', async () => {
    const signed = permitFor(f, solPayload(f));
    queue.importFrom({ from: 'paste', text: serializeBundle([signed]) });
    queue.approve(signed.permit.permitId);
    const shown = await transfers.frames({ kind: 'sign-request', permitId: signed.permit.permitId }, 250);
    const request = SolSignRequest.fromCBOR(decodeParts(shown.parts).cbor);
    const message = request.getSignData();
    const sig = ed25519.sign(message, f.solana.keyset.secretKey.subarray(0, 32));
    const done = await readThrough(new SolSignature(Buffer.from(sig), Buffer.from(parseUuid(shown.requestId!))));
    assert.ok(done.outcome.kind === 'sign-result');
    const row = queue.store.require(signed.permit.permitId);
    assert.equal(row.state, 'signed');
    assert.equal(row.signed_tx, done.outcome.signedTx);
    assert.equal(row.signature, Buffer.from(sig).toString('hex'));
    const wire = VersionedTransaction.deserialize(Buffer.from(row.signed_tx!, 'base64'));
    assert.ok(ed25519.verify(wire.signatures[0]!, wire.message.serialize(), f.solana.keyset.publicKey.toBytes()));
  });
});
