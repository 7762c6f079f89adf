/**
 * Software guardian keys: ethers' standard encrypted JSON keystore (Web3 secret storage v3,
 * scrypt + AES-128-CTR). The console decrypts a key file in main only for the one signature it
 * needs and drops the wallet right after; the passphrase and the key never leave this module.
 */
import { encryptKeystoreJson, getAddress, isKeystoreJson, Wallet, type BaseWallet, type HDNodeWallet } from 'ethers';
import { AppFailure, fail } from '../errors';

/** ethers' own default for keystores (2^17); tests lower it. */
export const KEY_FILE_SCRYPT_N = 2 ** 17;

export async function createKeyFile(passphrase: string, scryptN = KEY_FILE_SCRYPT_N): Promise<{ address: string; json: string }> {
  const wallet: HDNodeWallet = Wallet.createRandom();
  // No mnemonic in the file: the key file holds one key and nothing that derives others.
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, passphrase, { scrypt: { N: scryptN } });
  return { address: wallet.address, json };
}

/**
 * The address a key file claims, read without decrypting it, checksummed so it reads the same as
 * the registry shows it (keystores store it in lower case).
 */
export function keyFileAddress(json: string): string | null {
  try {
    const parsed = JSON.parse(json) as { address?: unknown };
    return typeof parsed.address === 'string' ? getAddress(`0x${parsed.address.replace(/^0x/i, '')}`) : null;
  } catch {
    return null;
  }
}

/**
 * Decrypts the key file, runs `use` with the wallet, and lets go of the wallet afterwards.
 * JavaScript strings cannot be zeroized; holding the key for one call is what this can do.
 */
export async function withKeyFile<T>(json: string, passphrase: string, use: (wallet: BaseWallet) => Promise<T>): Promise<T> {
  if (!isKeystoreJson(json)) fail('KEYFILE_INVALID', 'This is not an encrypted guardian key file (expected an Ethereum JSON keystore). Choose the .json key file the console created for the guardian.');
  let wallet: BaseWallet | null;
  try {
    wallet = await Wallet.fromEncryptedJson(json, passphrase);
  } catch (error) {
    if ((error as { argument?: unknown }).argument === 'password') {
      fail('KEYFILE_WRONG_PASSPHRASE', 'The key file passphrase is not correct. Nothing was signed.');
    }
    if (error instanceof AppFailure) throw error;
    fail('KEYFILE_INVALID', 'The key file could not be read: it is damaged or uses an unsupported format. Nothing was signed.');
  }
  try {
    return await use(wallet as BaseWallet);
  } finally {
    wallet = null;
  }
}
