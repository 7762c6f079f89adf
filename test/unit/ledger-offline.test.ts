/**
 * "Ledger signing never calls online services": every way out of the process (fetch, http(s),
 * net, tls, dns) is replaced by a trap that records the attempt and throws, while the real
 * @ledgerhq/hw-app-eth signs through the APDU emulator. A control run shows the trap does catch
 * the library's own online lookup (signTransaction without a resolution).
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, it } from 'node:test';
import Eth from '@ledgerhq/hw-app-eth';
import { HDNodeWallet, Mnemonic, Signature, Transaction } from 'ethers';
import { APPROVAL_TYPES, hashedParts, type ApprovalMessage } from '../../main/guardians/typed-data';
import { LedgerDevice } from '../../main/ledger/ledger-device';
import { EMULATOR_MNEMONIC, emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';

const PATH = "44'/60'/0'/0/0";
const expected = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(EMULATOR_MNEMONIC), `m/${PATH}`).address;
const EthApp = ((Eth as unknown as { default?: typeof Eth }).default ?? Eth) as typeof Eth;

type Patch = [target: Record<string, unknown>, name: string];
const EXITS: Patch[] = [
  [globalThis as unknown as Record<string, unknown>, 'fetch'],
  [http as unknown as Record<string, unknown>, 'request'],
  [http as unknown as Record<string, unknown>, 'get'],
  [https as unknown as Record<string, unknown>, 'request'],
  [https as unknown as Record<string, unknown>, 'get'],
  [net as unknown as Record<string, unknown>, 'connect'],
  [net as unknown as Record<string, unknown>, 'createConnection'],
  [tls as unknown as Record<string, unknown>, 'connect'],
  [dns as unknown as Record<string, unknown>, 'lookup'],
  [dns.promises as unknown as Record<string, unknown>, 'lookup'],
];

let restore: (() => void) | null = null;

/** Replaces every network exit with a trap; returns the attempts it recorded. */
function trapNetwork(): string[] {
  const attempts: string[] = [];
  const originals = EXITS.map(([target, name]) => target[name]);
  for (const [target, name] of EXITS) {
    target[name] = (...args: unknown[]) => {
      attempts.push(`${name} ${String(typeof args[0] === 'object' ? JSON.stringify(args[0])?.slice(0, 120) : args[0])}`);
      throw new Error(`network access attempted: ${name}`);
    };
  }
  restore = () => EXITS.forEach(([target, name], i) => (target[name] = originals[i]));
  return attempts;
}

afterEach(() => {
  restore?.();
  restore = null;
});

const EIP1559_TX = Transaction.from({
  type: 2,
  chainId: 1,
  nonce: 7,
  maxPriorityFeePerGas: 1_000_000_000n,
  maxFeePerGas: 30_000_000_000n,
  gasLimit: 60_000n,
  to: '0x000000000000000000000000000000000000dEaD',
  value: 10n ** 16n,
  // An ERC-20 transfer: the kind of call data a resolution would look up online.
  data: `0xa9059cbb${'00'.repeat(12)}${'11'.repeat(20)}${(10n ** 18n).toString(16).padStart(64, '0')}`,
});
const LEGACY_TX = Transaction.from({ type: 0, chainId: 1, nonce: 3, gasPrice: 20_000_000_000n, gasLimit: 21_000n, to: '0x000000000000000000000000000000000000dEaD', value: 1n });

describe('Ledger signing stays offline', () => {
  for (const [kind, tx] of [
    ['EIP-1559', EIP1559_TX],
    ['legacy EIP-155', LEGACY_TX],
  ] as const) {
    it(`hw-app-eth signTransaction (${kind}) with resolution null makes no network attempt, and the signature is the device key's`, async () => {
      const device = new LedgerEthEmulator();
      const eth = new EthApp(device);
      const attempts = trapNetwork();
      const { v, r, s } = await eth.signTransaction(PATH, tx.unsignedSerialized.slice(2), null);
      restore!();
      assert.deepEqual(attempts, []);
      const signed = tx.clone();
      signed.signature = Signature.from({ r: `0x${r}`, s: `0x${s}`, v: BigInt(`0x${v}`) });
      assert.equal(signed.from, expected);
      assert.ok(device.log.some((apdu) => apdu.startsWith('e004')), 'the transaction went to the device');
    });
  }

  it('the console signs a transaction on the Ledger (cold signing) with no network attempt', async () => {
    const device = new LedgerEthEmulator();
    const ledger = new LedgerDevice(emulatorTransport(device));
    const attempts = trapNetwork();
    const { v, r, s } = await ledger.signTransaction(PATH, EIP1559_TX.unsignedSerialized).finally(() => restore!());
    assert.deepEqual(attempts, []);
    const signed = EIP1559_TX.clone();
    signed.signature = Signature.from({ r: `0x${r}`, s: `0x${s}`, v: BigInt(`0x${v}`) });
    assert.equal(signed.from, expected);
    assert.ok(device.log.some((apdu) => apdu.startsWith('e004')), 'the transaction went to the device');
  });

  it('the console signs guardian approvals on the Ledger with no network attempt', async () => {
    const ledger = new LedgerDevice(emulatorTransport(new LedgerEthEmulator()));
    const message: ApprovalMessage = {
      requestId: '0c6f1a52-0000-4000-8000-000000000002',
      payloadHash: `0x${'12'.repeat(32)}`,
      operation: 'vault.passphrase.change',
      nonce: `0x${'56'.repeat(32)}`,
      expiry: 1_800_000_000,
      decision: 'approve',
    };
    const attempts = trapNetwork();
    const address = await ledger.getAddress(PATH);
    const signed = await ledger.signTypedDataHash(PATH, expected, () => hashedParts(APPROVAL_TYPES, message));
    restore!();
    assert.deepEqual(attempts, []);
    assert.equal(address, expected);
    assert.equal(signed.address, expected);
  });

  it('control: the trap does catch the online lookup hw-app-eth makes when no resolution is given', async () => {
    const eth = new EthApp(new LedgerEthEmulator());
    const attempts = trapNetwork();
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      await eth.signTransaction(PATH, EIP1559_TX.unsignedSerialized.slice(2));
    } catch {
      // Whether the library gives up or falls back to blind signing, it tried the network first.
    } finally {
      console.warn = warn;
      restore!();
    }
    assert.ok(attempts.length > 0, 'the trap recorded nothing: it would not notice a network call either');
  });
});
