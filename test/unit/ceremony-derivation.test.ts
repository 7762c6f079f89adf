/**
 * Known answers for the ceremony's key material: the published BIP39 vectors (Trezor, passphrase
 * "TREZOR"), well-known BIP44 EVM and SLIP-10 Solana derivations, and the xpub rebuilt from what
 * a Ledger reports.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as bip39 from 'bip39';
import { HDKey } from '@scure/bip32';
import { computeAddress, getBytes, hexlify, HDNodeWallet, Mnemonic, SigningKey } from 'ethers';
import { Keypair } from '@solana/web3.js';
import { HDKey as Slip10Key } from 'micro-key-producer/slip10.js';
import { derivePublicMaterial, evmLabel, evmPath, planIndices, solanaAddress, solanaPath, xpubFromDevice, EVM_ACCOUNT_PATH } from '../../main/ceremony/derivation-plan';
import { entropyToSeed, entropyToWords, generateEntropy, seedFingerprint, wordsToEntropy } from '../../main/ceremony/seed';
import { isAppFailure } from '../../main/errors';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/bip39-trezor-vectors.json', import.meta.url), 'utf8')) as { passphrase: string; english: [string, string, string, string][] };
const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const HARDHAT = 'test test test test test test test test test test test junk';

describe('BIP39 reference vectors (Trezor, passphrase "TREZOR")', () => {
  it(`all ${vectors.english.length} English vectors: entropy ↔ words, seed, BIP32 root`, () => {
    assert.equal(vectors.english.length, 24);
    for (const [entropy, mnemonic, seed, xprv] of vectors.english) {
      assert.equal(bip39.entropyToMnemonic(entropy), mnemonic);
      assert.equal(bip39.mnemonicToEntropy(mnemonic), entropy);
      const derived = bip39.mnemonicToSeedSync(mnemonic, vectors.passphrase);
      assert.equal(derived.toString('hex'), seed);
      assert.equal(HDKey.fromMasterSeed(derived).privateExtendedKey, xprv);
    }
  });

  it('the console seed functions agree with the 24-word vectors (empty passphrase by design)', () => {
    for (const [entropy, mnemonic] of vectors.english.filter((v) => v[0].length === 64)) {
      assert.deepEqual(entropyToWords(Buffer.from(entropy, 'hex')), mnemonic.split(' '));
      assert.equal(wordsToEntropy(mnemonic.split(' ')).toString('hex'), entropy);
      assert.deepEqual(entropyToSeed(Buffer.from(entropy, 'hex')), bip39.mnemonicToSeedSync(mnemonic));
    }
  });

  it('generates 24 valid words from 32 fresh bytes each time', () => {
    const a = generateEntropy();
    const b = generateEntropy();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b);
    assert.ok(bip39.validateMnemonic(entropyToWords(a).join(' ')));
    assert.equal(entropyToWords(a).length, 24);
  });

  it('refuses a wrong checksum word and an unknown word, naming the position and not the word', () => {
    const words = vectors.english[8]![1].split(' ');
    const badChecksum = [...words.slice(0, 23), 'zoo'];
    assert.throws(() => wordsToEntropy(badChecksum), (e: unknown) => isAppFailure(e) && e.code === 'SEED_WORDS_INVALID' && /checksum/.test(e.message));
    const unknown = [...words.slice(0, 5), 'vaultkeeper', ...words.slice(6)];
    assert.throws(() => wordsToEntropy(unknown), (e: unknown) => isAppFailure(e) && e.code === 'SEED_WORDS_INVALID' && /Word 6/.test(e.message) && !e.message.includes('vaultkeeper'));
  });

  it('the seed fingerprint is stable, domain-separated and differs per seed', () => {
    const e = Buffer.from(vectors.english[8]![0], 'hex');
    assert.equal(seedFingerprint(e), seedFingerprint(Buffer.from(e)));
    assert.notEqual(seedFingerprint(e), seedFingerprint(Buffer.from(vectors.english[9]![0], 'hex')));
    assert.match(seedFingerprint(e), /^[0-9a-f]{64}$/);
  });
});

describe('BIP44 EVM derivation plan m/44\'/60\'/0\'/0/i', () => {
  it('derives the well-known addresses of the "abandon … about" and Hardhat/anvil test phrases', () => {
    const abandon = derivePublicMaterial(bip39.mnemonicToSeedSync(ABANDON), { userWallets: 2, solanaAccounts: 1 });
    assert.equal(abandon.addresses.find((a) => a.chain === 'evm' && a.index === 0)!.address, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
    const hardhat = derivePublicMaterial(bip39.mnemonicToSeedSync(HARDHAT), { userWallets: 2, solanaAccounts: 0 });
    const at = (i: number) => hardhat.addresses.find((a) => a.chain === 'evm' && a.index === i)!.address;
    assert.equal(at(0), '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    assert.equal(at(1), '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    assert.equal(at(2), '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    // Index 255 cross-checked with ethers' independent HD implementation.
    assert.equal(at(255), HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT), "m/44'/60'/0'/0/255").address);
  });

  it('labels 0 master, 1–254 users, 255 signing, and refuses indices outside the plan', () => {
    assert.deepEqual(planIndices({ userWallets: 3, solanaAccounts: 0 }), [0, 1, 2, 3, 255]);
    assert.match(evmLabel(0), /Master/);
    assert.match(evmLabel(254), /User wallet 254/);
    assert.match(evmLabel(255), /Signing/);
    assert.equal(evmPath(255), "m/44'/60'/0'/0/255");
    assert.throws(() => evmPath(256), RangeError);
    assert.throws(() => evmPath(-1), RangeError);
  });

  it('records the account xpub of m/44\'/60\'/0\' and rebuilds the same xpub from Ledger-reported keys', () => {
    const seed = bip39.mnemonicToSeedSync(HARDHAT);
    const material = derivePublicMaterial(seed);
    const root = HDKey.fromMasterSeed(seed);
    assert.equal(material.evmAccountXpub, root.derive(EVM_ACCOUNT_PATH).publicExtendedKey);
    assert.match(material.evmAccountXpub, /^xpub/);
    // What the Ethereum app answers: uncompressed keys and the chain code of the account node.
    const parent = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT), "m/44'/60'");
    const account = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT), "m/44'/60'/0'");
    const compress = (pub: string) => getBytes(SigningKey.computePublicKey(SigningKey.computePublicKey(pub, false), true));
    assert.equal(xpubFromDevice(compress(parent.publicKey), compress(account.publicKey), getBytes(account.chainCode)), material.evmAccountXpub);
    // The xpub derives the plan's addresses on its own (watch-only).
    const watch = HDKey.fromExtendedKey(material.evmAccountXpub).derive('m/0/1');
    assert.equal(computeAddress(hexlify(watch.publicKey!)), '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  });
});

describe('Solana derivation m/44\'/501\'/i\'/0\' (SLIP-10 Ed25519)', () => {
  it('derives the published address of the "abandon … about" phrase at account 0', () => {
    const seed = bip39.mnemonicToSeedSync(ABANDON);
    assert.equal(solanaPath(0), "m/44'/501'/0'/0'");
    assert.equal(solanaAddress(seed, 0), 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk');
  });

  it('agrees with @solana/web3.js Keypair.fromSeed for other accounts and differs per account', () => {
    const seed = bip39.mnemonicToSeedSync(HARDHAT);
    for (const account of [0, 1, 7]) {
      const key = Slip10Key.fromMasterSeed(seed).derive(solanaPath(account)).privateKey;
      assert.equal(solanaAddress(seed, account), Keypair.fromSeed(key).publicKey.toBase58());
    }
    assert.notEqual(solanaAddress(seed, 0), solanaAddress(seed, 1));
  });
});
