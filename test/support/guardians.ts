/** Services with an emulated Ledger and three enrolled guardians, for the guardian tests. */
import { encryptKeystoreJson, Wallet, type TypedDataDomain } from 'ethers';
import type { GuardianView } from '../../preload/contract';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, type ApprovalMessage } from '../../main/guardians/typed-data';
import { ManualClock } from '../../main/platform/clock';
import { createServices, type Services } from '../../main/services';
import { emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from './services';
import { tempDir } from './temp-dir';

/** Low scrypt cost for test key files; the console's default is 2^17. */
export const TEST_KEY_FILE_N = 2 ** 10;
export const LEDGER_PATH = "44'/60'/0'/0/0";

export interface SoftwareGuardian {
  view: GuardianView;
  keyFile: string;
  passphrase: string;
}

export interface GuardianFixture {
  services: Services;
  clock: ManualClock;
  device: LedgerEthEmulator;
  cleanup(): Promise<void>;
}

export async function guardianFixture(): Promise<GuardianFixture> {
  const dir = tempDir();
  const clock = new ManualClock();
  const device = new LedgerEthEmulator();
  const services = createServices({
    dataDir: dir.path,
    clock,
    kdfCost: TEST_KDF_COST,
    idleCheckIntervalMs: 0,
    ledgerTransport: emulatorTransport(device),
    keyFileScryptN: TEST_KEY_FILE_N,
  });
  await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
  return {
    services,
    clock,
    device,
    cleanup: async () => {
      await services.close();
      dir.cleanup();
    },
  };
}

/** A software key file as a guardian would bring it, encrypted under `passphrase`. */
export async function softwareKey(passphrase: string): Promise<{ keyFile: string; wallet: Wallet }> {
  const wallet = new Wallet(Wallet.createRandom().privateKey);
  const keyFile = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, passphrase, { scrypt: { N: TEST_KEY_FILE_N } });
  return { keyFile, wallet };
}

/** Enrols Lena (emulated Ledger), Sam and Sofia (software key files). */
export async function enrolThree(f: GuardianFixture): Promise<{ lena: GuardianView; sam: SoftwareGuardian & { wallet: Wallet }; sofia: SoftwareGuardian & { wallet: Wallet } }> {
  const { guardians } = f.services;
  await guardians.enrol({ method: 'ledger', name: 'Lena', derivationPath: LEDGER_PATH });
  const samPass = 'sam river quartz lantern 41';
  const sofiaPass = 'sofia meadow cobalt harbor 17';
  const sam = await softwareKey(samPass);
  const sofia = await softwareKey(sofiaPass);
  await guardians.enrol({ method: 'software', name: 'Sam', keyFile: sam.keyFile, passphrase: samPass });
  const registry = await guardians.enrol({ method: 'software', name: 'Sofia', keyFile: sofia.keyFile, passphrase: sofiaPass });
  const byName = (name: string) => registry.guardians.find((g) => g.name === name)!;
  return {
    lena: byName('Lena'),
    sam: { view: byName('Sam'), keyFile: sam.keyFile, passphrase: samPass, wallet: sam.wallet },
    sofia: { view: byName('Sofia'), keyFile: sofia.keyFile, passphrase: sofiaPass, wallet: sofia.wallet },
  };
}

/** Signs an approval as a remote guardian's own wallet would, and wraps it as an approval file. */
export async function approvalFile(wallet: Wallet, message: ApprovalMessage, domain: TypedDataDomain = APPROVAL_DOMAIN): Promise<string> {
  const signature = await wallet.signTypedData(domain, APPROVAL_TYPES, message);
  return JSON.stringify({ format: 'vaultkeeper.approval/1', message, signature });
}
