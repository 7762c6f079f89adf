/**
 * Software guardian keys: ethers' standard encrypted JSON keystore (Web3 secret storage v3,
 * scrypt + AES-128-CTR). The console decrypts a key file in main only for the one signature it
 * needs and drops the wallet right after; the passphrase and the key never leave this module.
 */
import { lstatSync, realpathSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
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

function refuseFolder(reason: string): never {
  fail('KEY_FOLDER_REFUSED', `${reason} No key file was created.`);
}

/**
 * Where a new key file may go: an existing folder the operator chose (the guardian's removable
 * medium), never this console's data folder or anything inside it, so the key does not live on
 * the machine it guards.
 */
export function checkKeyFolder(target: string, dataDir: string): string {
  if (!isAbsolute(target)) refuseFolder(`"${target}" is not a full path. Choose the folder on the guardian's removable medium, starting with /.`);
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    refuseFolder(`The folder ${target} does not exist. Insert the guardian's removable medium and choose a folder on it.`);
  }
  if (!lstatSync(real).isDirectory()) refuseFolder(`${target} is not a folder. Choose a folder on the guardian's removable medium.`);
  const data = realpathSync(dataDir);
  const inside = relative(data, real);
  if (inside === '' || (!inside.startsWith(`..${sep}`) && inside !== '..' && !isAbsolute(inside))) {
    refuseFolder(`${target} is inside this console's data folder (${dataDir}); a guardian key must not stay on the machine it guards. Choose a folder on the guardian's removable medium.`);
  }
  return real;
}

/** Writes the encrypted key file into the chosen folder (never over an existing file). */
export function writeKeyFile(folder: string, dataDir: string, address: string, json: string): string {
  const path = join(checkKeyFolder(folder, dataDir), `guardian-key-${address.slice(2, 10).toLowerCase()}.json`);
  try {
    writeFileSync(path, json, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') refuseFolder(`${path} already exists.`);
    refuseFolder(`The key file could not be written to ${folder} (${code ?? 'write error'}); check that the medium is writable and not full.`);
  }
  return path;
}
