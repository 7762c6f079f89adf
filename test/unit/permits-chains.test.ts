/** Hash recomputation and decoding of permit payloads: EVM (EIP-1559, legacy EIP-155, ERC-20) and Solana (SOL, SPL). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { getBytes, keccak256, Transaction, Wallet } from 'ethers';
import { Keypair, VersionedMessage } from '@solana/web3.js';
import { associatedTokenAccount, buildEvmTransfer, buildSolanaTransfer } from '../../main/chains/build';
import { decodeEvmPayload } from '../../main/chains/evm';
import { decodeSolanaPayload } from '../../main/chains/solana';
import { AppFailure } from '../../main/errors';

const TO = '0x1111111111111111111111111111111111111111';
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48';
const BLOCKHASH = '11111111111111111111111111111111';

function refusedWith(work: () => unknown, code: string, pattern?: RegExp): void {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof AppFailure, String(error));
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return;
  }
  assert.fail(`expected ${code}`);
}

describe('EVM payloads', () => {
  it('EIP-1559: hash is keccak256 of the unsigned serialization, exactly what a signer hashes', () => {
    const hex = buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 7, to: TO, amount: 1_500_000_000_000_000_000n });
    const decoded = decodeEvmPayload(hex);
    assert.equal(decoded.kind, 'eip1559');
    assert.equal(decoded.txHash, keccak256(hex));
    assert.equal(decoded.txHash, Transaction.from(hex).unsignedHash);
    assert.deepEqual(decoded.signingPreimage, Buffer.from(getBytes(hex)));
    assert.equal(decoded.evmChainId, 1);
    assert.deepEqual(decoded.transfers, [{ asset: 'native', destination: TO, amount: 1_500_000_000_000_000_000n, source: null, decimals: null }]);
  });

  it('the hash matches what a real key signs: the signed transaction recovers over that digest', async () => {
    const wallet = Wallet.createRandom();
    const hex = buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 0, to: TO, amount: 1n });
    const signed = Transaction.from(await wallet.signTransaction(Transaction.from(hex)));
    assert.equal(signed.unsignedHash, decodeEvmPayload(hex).txHash);
    assert.equal(signed.from, wallet.address);
  });

  it('legacy with chain id (EIP-155): parsed, chain id kept, hash of the 9-field preimage', () => {
    const hex = buildEvmTransfer({ type: 'legacy', chainId: 5, nonce: 1, to: TO, amount: 10n });
    const decoded = decodeEvmPayload(hex);
    assert.equal(decoded.kind, 'legacy');
    assert.equal(decoded.evmChainId, 5);
    assert.equal(decoded.txHash, keccak256(hex));
  });

  it('ERC-20 transfer: the token recipient and amount come from the call data', () => {
    const hex = buildEvmTransfer({ type: 'erc20', chainId: 1, nonce: 2, to: TO, amount: 2_000_000n, token: USDC });
    const decoded = decodeEvmPayload(hex);
    assert.equal(decoded.kind, 'erc20');
    assert.deepEqual(decoded.transfers, [{ asset: `erc20:${USDC}`, destination: TO, amount: 2_000_000n, source: null, decimals: null }]);
  });

  it('refuses a signed transaction, a contract call it cannot read, trailing bytes and legacy without chain id', () => {
    const hex = buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 0, to: TO, amount: 1n });
    refusedWith(() => decodeEvmPayload(`${hex}00`), 'PERMIT_PAYLOAD_INVALID');
    const call = Transaction.from({ type: 2, chainId: 1, to: USDC, data: '0x095ea7b3' + '00'.repeat(64), gasLimit: 50_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    refusedWith(() => decodeEvmPayload(call.unsignedSerialized), 'PERMIT_PAYLOAD_INVALID', /cannot read/);
    const noChain = Transaction.from({ type: 0, to: TO, value: 1n, gasLimit: 21_000n, gasPrice: 1n });
    refusedWith(() => decodeEvmPayload(noChain.unsignedSerialized), 'PERMIT_PAYLOAD_INVALID', /EIP-155/);
    const withTail = Transaction.from({ type: 2, chainId: 1, to: USDC, data: buildEvmTransferData() + 'ff', gasLimit: 50_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    refusedWith(() => decodeEvmPayload(withTail.unsignedSerialized), 'PERMIT_PAYLOAD_INVALID', /malformed/);
  });

  it('refuses an already signed transaction', async () => {
    const wallet = Wallet.createRandom();
    const signed = await wallet.signTransaction(Transaction.from(buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 0, to: TO, amount: 1n })));
    refusedWith(() => decodeEvmPayload(signed), 'PERMIT_PAYLOAD_INVALID', /signature/);
  });
});

function buildEvmTransferData(): string {
  return Transaction.from(buildEvmTransfer({ type: 'erc20', chainId: 1, nonce: 0, to: TO, amount: 5n, token: USDC })).data;
}

describe('Solana payloads', () => {
  const payer = Keypair.generate().publicKey.toBase58();
  const recipient = Keypair.generate().publicKey.toBase58();
  const mint = Keypair.generate().publicKey.toBase58();

  it('SOL transfer: tx hash is sha256 of the message bytes, the signed bytes are the message', () => {
    const b64 = buildSolanaTransfer({ type: 'sol', from: payer, to: recipient, amount: 1_500_000_000n, recentBlockhash: BLOCKHASH });
    const bytes = Buffer.from(b64, 'base64');
    const decoded = decodeSolanaPayload(b64);
    assert.equal(decoded.kind, 'sol');
    assert.equal(decoded.txHash, `0x${createHash('sha256').update(bytes).digest('hex')}`);
    assert.deepEqual(decoded.signingPreimage, bytes);
    assert.deepEqual(decoded.transfers, [{ asset: 'native', destination: recipient, amount: 1_500_000_000n, source: payer, decimals: null }]);
    assert.ok(VersionedMessage.deserialize(bytes));
  });

  it('SPL TransferChecked: mint, decimals, destination token account and owner are read', () => {
    const b64 = buildSolanaTransfer({ type: 'spl', from: payer, to: recipient, amount: 2_500_000n, recentBlockhash: BLOCKHASH, mint, decimals: 6 });
    const decoded = decodeSolanaPayload(b64);
    assert.equal(decoded.kind, 'spl');
    assert.deepEqual(decoded.transfers, [{ asset: `spl:${mint}`, destination: associatedTokenAccount(mint, recipient), amount: 2_500_000n, source: payer, decimals: 6 }]);
  });

  it('refuses non-canonical base64, trailing bytes and garbage', () => {
    const b64 = buildSolanaTransfer({ type: 'sol', from: payer, to: recipient, amount: 1n, recentBlockhash: BLOCKHASH });
    refusedWith(() => decodeSolanaPayload(Buffer.concat([Buffer.from(b64, 'base64'), Buffer.from([0])]).toString('base64')), 'PERMIT_PAYLOAD_INVALID');
    refusedWith(() => decodeSolanaPayload('not base64!'), 'PERMIT_PAYLOAD_INVALID');
    refusedWith(() => decodeSolanaPayload(Buffer.from([0xff, 1, 2, 3]).toString('base64')), 'PERMIT_PAYLOAD_INVALID');
  });
});
