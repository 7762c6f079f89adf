/**
 * Holds the vault master key while the vault is unlocked and hands out per-purpose subkeys.
 * wipe() zeroizes every buffer it holds; afterwards any use throws, so a handler that kept a
 * reference to a locked key ring cannot reach key material.
 */
import { deriveSubkey } from '../crypto/kdf';

export class KeyRing {
  private masterKey: Buffer | null;
  private readonly subkeys = new Map<string, Buffer>();

  constructor(masterKey: Buffer) {
    this.masterKey = masterKey;
  }

  get wiped(): boolean {
    return this.masterKey === null;
  }

  subkey(purpose: string): Buffer {
    if (!this.masterKey) throw new Error('key ring is wiped');
    let key = this.subkeys.get(purpose);
    if (!key) {
      key = deriveSubkey(this.masterKey, purpose);
      this.subkeys.set(purpose, key);
    }
    return key;
  }

  wipe(): void {
    this.masterKey?.fill(0);
    this.masterKey = null;
    for (const key of this.subkeys.values()) key.fill(0);
    this.subkeys.clear();
  }
}
