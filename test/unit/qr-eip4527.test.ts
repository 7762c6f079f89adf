/**
 * EIP-4527 interop: the console's `eth-sign-request` / `sol-sign-request`, carried as animated QR
 * parts, decode with Keystone's registries into the same transaction; an `eth-signature` /
 * `sol-signature` read back gives the same signed transaction as the signer itself would make.
 * Refused: a signature for another request id, by another key, or a UR of the wrong type.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
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
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey } from '../../main/permits/issuer-keys';

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

describe('EIP-4527 through the console: request shown, signature read back once', () => {
  const issuer = generateIssuerKey();
  const signed = issuePermit({ keysetId: 'ks-evm', chain: { kind: 'evm', chainId: 1 }, payload: payloadHex, issuedAt: Date.now() }, issuer.secretKey);
  const audit = { entries: [] as unknown[], append(e: unknown) { this.entries.push(e); return e; } };
  const transfers = new QrTransfers({
    audit: audit as never,
    now: () => Date.now(),
    requireUnlocked: () => undefined,
    queue: { store: { require: (id: string) => { if (id !== signed.permit.permitId) throw new Error('unknown'); return { signed_permit: JSON.stringify(signed) }; } } } as never,
    guardians: {} as never,
    keyset: () => ({ keysetId: 'ks-evm', scheme: 'ecdsa', address: wallet.address, publicKey: wallet.signingKey.compressedPublicKey.slice(2), lab: false, status: 'active' }),
    airgapImport: async () => { throw new Error('not used'); },
    airgapSessions: () => [],
  });

  const readThrough = async (item: ETHSignature) => {
    const ur = item.toUR();
    const { receiveId } = transfers.receiveStart({ kind: 'sign-result' });
    let view;
    for (const part of animatedUr(ur as never, ur.cbor, 50).parts) {
      view = await transfers.receivePart(receiveId, part);
      if (view.state === 'done') return view;
    }
    assert.fail('not reassembled');
  };

  it('the request the console shows is answered by a signature that gives the signed transaction, accepted once', async () => {
    const shown = await transfers.frames({ kind: 'sign-request', permitId: signed.permit.permitId }, 250);
    assert.equal(shown.type, 'eth-sign-request');
    const request = EthSignRequest.fromCBOR(decodeParts(shown.parts).cbor);
    const requestId = uuidString(request.getRequestId()!);
    assert.equal(requestId, shown.requestId);
    const tx = Transaction.from(`0x${request.getSignData().toString('hex')}`);
    assert.equal(tx.unsignedSerialized, payloadHex);
    const done = await readThrough(ethSignatureFor(tx, wallet, requestId));
    assert.ok(done.outcome.kind === 'sign-result');
    assert.equal(done.outcome.signedTx, await wallet.signTransaction(tx));
    assert.equal(done.outcome.permitId, signed.permit.permitId);
    // The same signature again (replayed) answers no open request.
    await assert.rejects(readThrough(ethSignatureFor(tx, wallet, requestId)), (e: unknown) => isAppFailure(e) && e.code === 'QR_SIGN_REQUEST_MISMATCH');
  });

  it('a signature for another request id than the one shown is refused', async () => {
    const shown = await transfers.frames({ kind: 'sign-request', permitId: signed.permit.permitId }, 250);
    const tx = Transaction.from(payloadHex);
    await assert.rejects(readThrough(ethSignatureFor(tx, wallet, randomUUID())), (e: unknown) => isAppFailure(e) && e.code === 'QR_SIGN_REQUEST_MISMATCH');
    // The request shown is still open for its own signature.
    const done = await readThrough(ethSignatureFor(tx, wallet, shown.requestId!));
    assert.ok(done.outcome.kind === 'sign-result');
  });
});
