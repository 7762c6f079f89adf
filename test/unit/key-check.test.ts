import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Keypair, MessageV0, SystemProgram, Transaction as SolanaTransaction, TransactionMessage, VersionedMessage, Message } from '@solana/web3.js';
import { Transaction, TypedDataEncoder, Wallet } from 'ethers';
import { buildKeyCheck, parseKeyCheck } from '../../main/cluster/key-check';
import { KEY_CHECK_PREFIX } from '../../main/cluster/sign-authorization';

const KEYSET = 'ks-0b1c2d3e';

function evmTransactions(): Buffer[] {
  const base = { to: '0x000000000000000000000000000000000000dEaD', value: 10n ** 15n, gasLimit: 21_000n, nonce: 3, data: '0x' };
  const txs = [
    Transaction.from({ ...base, type: 0, chainId: 1, gasPrice: 10n ** 9n }),
    Transaction.from({ ...base, type: 1, chainId: 1, gasPrice: 10n ** 9n, accessList: [] }),
    Transaction.from({ ...base, type: 2, chainId: 1, maxFeePerGas: 2n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n }),
  ];
  const wallet = Wallet.createRandom();
  const out: Buffer[] = [];
  for (const tx of txs) {
    out.push(Buffer.from(tx.unsignedSerialized.slice(2), 'hex'));
    const signed = tx.clone();
    signed.signature = wallet.signingKey.sign(tx.unsignedHash);
    out.push(Buffer.from(signed.serialized.slice(2), 'hex'));
  }
  return out;
}

function eip191And712(): Buffer[] {
  const text = `${KEY_CHECK_PREFIX} ${KEYSET} key-check`;
  const personal = Buffer.concat([Buffer.from(`\x19Ethereum Signed Message:\n${Buffer.byteLength(text)}`), Buffer.from(text)]);
  const domain = { name: 'Vaultkeeper', version: '1', chainId: 1 };
  const types = { Check: [{ name: 'keyset', type: 'string' }] };
  const typed = Buffer.concat([Buffer.from([0x19, 0x01]), Buffer.from(TypedDataEncoder.hashDomain(domain).slice(2), 'hex'), Buffer.from(TypedDataEncoder.from(types).hash({ keyset: KEYSET }).slice(2), 'hex')]);
  return [personal, typed];
}

function solanaMessages(): Buffer[] {
  const payer = Keypair.generate();
  const ix = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 });
  const blockhash = '11111111111111111111111111111111';
  const legacy = new SolanaTransaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(ix).serializeMessage();
  const v0 = new TransactionMessage({ payerKey: payer.publicKey, recentBlockhash: blockhash, instructions: [ix] }).compileToV0Message();
  return [Buffer.from(legacy), Buffer.from(v0.serialize())];
}

describe('key-check messages', () => {
  it('build and parse round-trip for each purpose; the layout is the fixed one', () => {
    for (const purpose of ['key-check', 'restore-proof', 'drill'] as const) {
      const nonce = randomBytes(16);
      const bytes = buildKeyCheck(KEYSET, purpose, nonce);
      assert.equal(bytes[0], 0xff);
      assert.deepEqual(bytes.subarray(1), Buffer.concat([Buffer.from(`${KEY_CHECK_PREFIX}\0${KEYSET}\0${purpose}\0`), nonce]));
      assert.deepEqual(parseKeyCheck(bytes), { keysetId: KEYSET, purpose, nonce });
    }
    // A nonce full of zero bytes is still read from its fixed position.
    assert.deepEqual(parseKeyCheck(buildKeyCheck(KEYSET, 'drill', Buffer.alloc(16)))?.nonce, Buffer.alloc(16));
    assert.notDeepEqual(buildKeyCheck(KEYSET, 'key-check'), buildKeyCheck(KEYSET, 'key-check'), 'a fresh nonce each time');
  });

  it('the parser is strict: one byte out of place is not a key check', () => {
    const good = buildKeyCheck(KEYSET, 'key-check', Buffer.alloc(16, 1));
    const variants: Buffer[] = [
      Buffer.concat([good, Buffer.from([0])]),
      good.subarray(0, good.length - 1),
      Buffer.concat([Buffer.from([0xfe]), good.subarray(1)]),
      Buffer.from(good.toString('latin1').replace('key-check/v1', 'key-check/v2'), 'latin1'),
      Buffer.from(good.toString('latin1').replace('\0key-check\0', '\0key-chekk\0'), 'latin1'),
      Buffer.from(good.toString('latin1').replace(KEYSET, 'KS-UPPER'), 'latin1'),
      Buffer.from(good.toString('latin1').replace(`${KEYSET}\0`, `${KEYSET}\0extra\0`), 'latin1'),
      Buffer.alloc(0),
    ];
    for (const v of variants) assert.equal(parseKeyCheck(v), null, v.toString('latin1'));
    assert.throws(() => buildKeyCheck('Bad Id', 'key-check'));
    assert.throws(() => buildKeyCheck(KEYSET, 'key-check', Buffer.alloc(15)));
  });

  it('no EVM transaction (legacy, 2930, 1559, signed or not), EIP-191 or EIP-712 payload, or Solana message parses as a key check', () => {
    for (const bytes of [...evmTransactions(), ...eip191And712(), ...solanaMessages()]) assert.equal(parseKeyCheck(bytes), null, bytes.toString('hex').slice(0, 16));
  });

  it('a key check decodes as neither an EVM transaction nor a Solana message', () => {
    const bytes = buildKeyCheck(KEYSET, 'restore-proof');
    assert.throws(() => Transaction.from(`0x${bytes.toString('hex')}`));
    assert.throws(() => VersionedMessage.deserialize(bytes));
    assert.throws(() => Message.from(bytes));
    assert.throws(() => MessageV0.deserialize(bytes));
    assert.notEqual(bytes[0], 0x19);
  });
});
