/**
 * An emulator of the Ledger Ethereum app at the APDU level, for tests only. It is a hw-transport
 * Transport, so the real @ledgerhq/hw-app-eth code drives it unmodified.
 *
 * Answers, for keys derived from a fixed test mnemonic:
 *   E0 06  GET_APP_CONFIGURATION → flags, version major.minor.patch, 9000
 *   E0 02  GET_ADDRESS (P1 display, P2 chain code; data: path count, 4-byte BE indices[, chain id])
 *          → 65 ‖ pubkey(65) ‖ 40 ‖ address ASCII(40) [‖ chain code(32)] ‖ 9000
 *   E0 0C  SIGN_EIP712 hashed v0 (P1=00, P2=00; data: path, domain separator(32), message hash(32))
 *          → v ‖ r(32) ‖ s(32) ‖ 9000, over keccak256(0x1901 ‖ ds ‖ hs)
 *   E0 04  SIGN transaction (P1=00 first chunk: path ‖ tx bytes; P1=80 following chunks) → 9000
 *          until the RLP-encoded transaction is complete, then v ‖ r(32) ‖ s(32) ‖ 9000 over
 *          keccak256(tx bytes); v is the y-parity for typed transactions, and for legacy ones the
 *          low byte of chainId·2 + 35 + parity as the app reports it
 * and the states a person meets: locked (5515), another app open (6D00 / 6E00 / 6511),
 * rejected on the device (6985), unplugged in the middle of an exchange (DisconnectedDevice),
 * blind signing disabled (6A80 for a transaction with contract data). `useMnemonic` loads other
 * words, as a person restoring a seed onto the device does.
 *
 * With `app = 'solana'` the device has the Solana app open instead, answering the real
 * @ledgerhq/hw-app-solana:
 *   E0 04  GET_VERSION → blind signing flag, pubkey display mode, major, minor, patch, 9000
 *   E0 05  GET_ADDR (P1 00 silent / 01 confirm; data: path count, 4-byte BE indices, all hardened)
 *          → Ed25519 public key (32, SLIP-10 from the same words) ‖ 9000
 * and 6D00 for every other instruction (what the Ethereum code meets when the Solana app is open).
 */
import Transport from '@ledgerhq/hw-transport';
import { DisconnectedDevice, TransportError } from '@ledgerhq/errors';
import { concat, formatEther, getBytes, HDNodeWallet, keccak256, Mnemonic, SigningKey, Transaction } from 'ethers';
import { HDKey as Slip10Key } from 'micro-key-producer/slip10.js';

/** The test seed. Never use it for anything but tests. */
export const EMULATOR_MNEMONIC = 'test test test test test test test test test test test junk';

export type EmulatorState =
  | 'ready'
  | 'locked'
  | 'dashboard'
  | 'other-app'
  | 'app-not-found';

const SW_OK = 0x9000;
const SW_LOCKED = 0x5515;
const SW_INS_NOT_SUPPORTED = 0x6d00;
const SW_CLA_NOT_SUPPORTED = 0x6e00;
const SW_APP_NOT_FOUND = 0x6511;
const SW_DENIED = 0x6985;
const SW_WRONG_DATA = 0x6a80;

function status(sw: number, data: Uint8Array = new Uint8Array()): Buffer {
  const out = Buffer.alloc(data.length + 2);
  Buffer.from(data).copy(out, 0);
  out.writeUInt16BE(sw, data.length);
  return out;
}

function parsePath(data: Buffer): { path: string; rest: Buffer } | null {
  const count = data[0];
  if (count === undefined || count < 1 || count > 10 || data.length < 1 + count * 4) return null;
  const parts: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const value = data.readUInt32BE(1 + i * 4);
    parts.push(value >= 0x80000000 ? `${value - 0x80000000}'` : String(value));
  }
  return { path: `m/${parts.join('/')}`, rest: data.subarray(1 + count * 4) };
}

/** Length of the RLP item at the start of `bytes` (header included), or null if the header is cut. */
function rlpItemLength(bytes: Buffer): number | null {
  const first = bytes[0];
  if (first === undefined) return null;
  if (first < 0x80) return 1;
  if (first < 0xb8) return 1 + first - 0x80;
  if (first < 0xc0 || first >= 0xf8) {
    const lengthOfLength = first - (first < 0xc0 ? 0xb7 : 0xf7);
    if (bytes.length < 1 + lengthOfLength) return null;
    return 1 + lengthOfLength + bytes.readUIntBE(1, lengthOfLength);
  }
  return 1 + first - 0xc0;
}

/** Length of a whole serialized transaction: a type byte (EIP-2718) or none, then one RLP list. */
function transactionLength(bytes: Buffer): number | null {
  const typed = bytes[0] !== undefined && bytes[0] < 0x80;
  const list = rlpItemLength(typed ? bytes.subarray(1) : bytes);
  return list === null ? null : list + (typed ? 1 : 0);
}

export class LedgerEthEmulator extends Transport {
  state: EmulatorState = 'ready';
  /** Which app the person opened on the device. */
  app: 'ethereum' | 'solana' = 'ethereum';
  /** False: no device on the USB bus, opening a transport fails as node-hid's does. */
  connected = true;
  /** The person at the device presses "Reject" on the next confirmation screen. */
  rejectNext = false;
  /** The cable is pulled during the next exchange of this instruction (e.g. 0x0c). */
  disconnectOnIns: number | null = null;
  /** Everything the host sent, as hex, for assertions. */
  readonly log: string[] = [];
  readonly version = [1, 12, 0] as const;
  /** The Ethereum app setting "Blind signing"; off, the app refuses transactions with contract data. */
  blindSigning = true;
  /** What the device showed for the last transaction it was asked to sign, as a person reads it. */
  lastDisplayed: string[] | null = null;
  private root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(EMULATOR_MNEMONIC), 'm');
  private seed = getBytes(Mnemonic.fromPhrase(EMULATOR_MNEMONIC).computeSeed());
  /** A faulty or malicious device: reports addresses of its seed but signs transactions with these words. */
  signTransactionsWith: string | null = null;
  /** A faulty or malicious device: reports addresses of its seed but signs EIP-712 hashes with these words. */
  signTypedDataWith: string | null = null;
  private pendingTx: { path: string; bytes: Buffer } | null = null;

  /** Restores other words onto the device (a fresh seed, or another vault's). */
  useMnemonic(phrase: string): void {
    this.root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(phrase), 'm');
    this.seed = getBytes(Mnemonic.fromPhrase(phrase).computeSeed());
  }

  /** The address the emulated device holds at a path, as the tests expect it. */
  addressAt(path: string): string {
    return this.root.derivePath(path.startsWith('m/') ? path : `m/${path}`).address;
  }

  override async exchange(apdu: Buffer): Promise<Buffer> {
    this.log.push(apdu.toString('hex'));
    const [cla, ins, p1, p2, lc] = apdu;
    const data = apdu.subarray(5, 5 + (lc ?? 0));
    if (this.disconnectOnIns !== null && ins === this.disconnectOnIns) {
      this.disconnectOnIns = null;
      throw new DisconnectedDevice();
    }
    if (this.state === 'locked') return status(SW_LOCKED);
    if (this.state === 'dashboard') return status(SW_CLA_NOT_SUPPORTED);
    if (this.state === 'other-app') return status(SW_INS_NOT_SUPPORTED);
    if (this.state === 'app-not-found') return status(SW_APP_NOT_FOUND);
    if (cla !== 0xe0) return status(SW_CLA_NOT_SUPPORTED);
    if (this.app === 'solana') return this.solana(ins ?? 0, p1 ?? 0, data);
    switch (ins) {
      case 0x06:
        return status(SW_OK, Uint8Array.from([0x01, ...this.version]));
      case 0x02:
        return this.getAddress(p1 ?? 0, p2 ?? 0, data);
      case 0x0c:
        return this.signEip712Hashed(p1 ?? 0, p2 ?? 0, data);
      case 0x04:
        return this.signTransaction(p1 ?? 0, data);
      default:
        return status(SW_INS_NOT_SUPPORTED);
    }
  }

  private solana(ins: number, p1: number, data: Buffer): Buffer {
    if (ins === 0x04) return status(SW_OK, Uint8Array.from([0x00, 0x00, 1, 10, 0]));
    if (ins !== 0x05) return status(SW_INS_NOT_SUPPORTED);
    const parsed = parsePath(data);
    if (!parsed || parsed.rest.length !== 0 || !parsed.path.split('/').slice(1).every((part) => part.endsWith("'"))) return status(SW_WRONG_DATA);
    if (p1 === 0x01 && !this.confirmedOnDevice()) return status(SW_DENIED);
    return status(SW_OK, Slip10Key.fromMasterSeed(this.seed).derive(parsed.path).publicKeyRaw);
  }

  private confirmedOnDevice(): boolean {
    if (!this.rejectNext) return true;
    this.rejectNext = false;
    return false;
  }

  private getAddress(p1: number, p2: number, data: Buffer): Buffer {
    const parsed = parsePath(data);
    if (!parsed || (parsed.rest.length !== 0 && parsed.rest.length !== 8)) return status(SW_WRONG_DATA);
    if (p1 === 0x01 && !this.confirmedOnDevice()) return status(SW_DENIED);
    const node = this.root.derivePath(parsed.path);
    const publicKey = getBytes(SigningKey.computePublicKey(node.publicKey, false));
    const ascii = Buffer.from(node.address.slice(2), 'ascii');
    const parts: Uint8Array[] = [Uint8Array.from([publicKey.length]), publicKey, Uint8Array.from([ascii.length]), ascii];
    if (p2 === 0x01) parts.push(getBytes(node.chainCode));
    return status(SW_OK, getBytes(concat(parts)));
  }

  private signEip712Hashed(p1: number, p2: number, data: Buffer): Buffer {
    if (p1 !== 0x00 || p2 !== 0x00) return status(SW_WRONG_DATA);
    const parsed = parsePath(data);
    if (!parsed || parsed.rest.length !== 64) return status(SW_WRONG_DATA);
    if (!this.confirmedOnDevice()) return status(SW_DENIED);
    const digest = keccak256(concat([Uint8Array.from([0x19, 0x01]), parsed.rest.subarray(0, 32), parsed.rest.subarray(32, 64)]));
    const root = this.signTypedDataWith ? HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(this.signTypedDataWith), 'm') : this.root;
    const signature = root.derivePath(parsed.path).signingKey.sign(digest);
    return status(SW_OK, getBytes(concat([Uint8Array.from([signature.v]), signature.r, signature.s])));
  }

  private signTransaction(p1: number, data: Buffer): Buffer {
    if (p1 === 0x00) {
      const parsed = parsePath(data);
      if (!parsed) return status(SW_WRONG_DATA);
      this.pendingTx = { path: parsed.path, bytes: Buffer.from(parsed.rest) };
    } else if (p1 === 0x80 && this.pendingTx) {
      this.pendingTx.bytes = Buffer.concat([this.pendingTx.bytes, data]);
    } else {
      return status(SW_WRONG_DATA);
    }
    const { path, bytes } = this.pendingTx;
    const expected = transactionLength(bytes);
    if (expected === null || bytes.length < expected) return status(SW_OK);
    this.pendingTx = null;
    if (bytes.length > expected) return status(SW_WRONG_DATA);
    let tx: Transaction;
    try {
      tx = Transaction.from(`0x${bytes.toString('hex')}`);
    } catch {
      return status(SW_WRONG_DATA);
    }
    if (tx.data !== '0x' && !this.blindSigning) return status(SW_WRONG_DATA);
    this.lastDisplayed = [`Amount ETH ${formatEther(tx.value)}`, `Address ${tx.to ?? '(contract creation)'}`, `Network chain id ${tx.chainId}`, `Max fees ETH ${formatEther(tx.gasLimit * (tx.maxFeePerGas ?? tx.gasPrice ?? 0n))}`];
    if (!this.confirmedOnDevice()) return status(SW_DENIED);
    const signer = this.signTransactionsWith ? HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(this.signTransactionsWith), 'm') : this.root;
    const signature = signer.derivePath(path).signingKey.sign(keccak256(bytes));
    const parity = signature.yParity;
    let v: number = parity;
    if (bytes[0]! >= 0xc0) {
      // Legacy: the app keeps the top 4 bytes of the chain id and reports one byte of the EIP-155 v.
      const hex = tx.chainId.toString(16);
      const chainIdUint32 = parseInt((hex.length % 2 ? `0${hex}` : hex).slice(0, 8), 16);
      v = tx.chainId === 0n ? 27 + parity : (chainIdUint32 * 2 + 35 + parity) % 256;
    }
    return status(SW_OK, getBytes(concat([Uint8Array.from([v]), signature.r, signature.s])));
  }

  override async close(): Promise<void> {
    // Nothing to release; the emulated device stays "plugged in" across opens.
  }
}

/** A transport factory over one emulated device, as ServiceOptions.ledgerTransport expects. */
export function emulatorTransport(device: LedgerEthEmulator): () => Promise<Transport> {
  return async () => {
    if (!device.connected) throw new TransportError('NoDevice', 'NoDeviceFound');
    return device;
  };
}
