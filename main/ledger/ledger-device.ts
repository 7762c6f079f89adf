/**
 * The Ledger Ethereum app over a hw-transport Transport. A transport is opened for each call and
 * closed after it, so a device unplugged and plugged back in is found again. Calls are serialized
 * through one queue: the device can only do one thing at a time.
 *
 * Address and public-key reads, hashed EIP-712 signing and transaction signing; and from the
 * Solana app, the public key (address) at a path, for the ceremony's Solana accounts. Nothing here
 * reaches Ledger's HTTP services (the console is air-gapped): transactions are signed with
 * resolution `null`, so hw-app-eth never asks its network service for decoding data.
 */
import type Transport from '@ledgerhq/hw-transport';
import { base58 } from '@scure/base';
import { getAddress, Signature } from 'ethers';
import { AppFailure } from '../errors';
import { ledgerFailure } from './ledger-errors';

export type TransportFactory = () => Promise<Transport>;

/** Opens the first USB Ledger. The HID module loads lazily so a machine without it still runs. */
export const nodeHidTransport: TransportFactory = async () => {
  let hid: { default: { create(openTimeout?: number, listenTimeout?: number): Promise<Transport> } };
  try {
    hid = (await import('@ledgerhq/hw-transport-node-hid')) as never;
  } catch {
    throw new AppFailure('LEDGER_NOT_CONNECTED', 'Ledger support over USB is not available on this machine (the USB HID library could not be loaded). Use a software key file or an approval file instead.');
  }
  const TransportNodeHid = (hid.default as unknown as { default?: typeof hid.default }).default ?? hid.default;
  return TransportNodeHid.create(3_000, 5_000);
};

type EthApp = {
  getAddress(path: string, display?: boolean, chainCode?: boolean): Promise<{ publicKey: string; address: string; chainCode?: string }>;
  signTransaction(path: string, rawTxHex: string, resolution: null): Promise<{ v: string; r: string; s: string }>;
  getAppConfiguration(): Promise<{ version: string }>;
  signEIP712HashedMessage(path: string, domainSeparatorHex: string, hashStructHex: string): Promise<{ v: number; r: string; s: string }>;
};

async function loadEth(transport: Transport): Promise<EthApp> {
  const module = (await import('@ledgerhq/hw-app-eth')) as unknown as { default: unknown };
  const Eth = ((module.default as { default?: unknown }).default ?? module.default) as new (transport: Transport) => EthApp;
  return new Eth(transport);
}

type SolanaApp = {
  getAddress(path: string, display?: boolean): Promise<{ address: Buffer }>;
  getAppConfiguration(): Promise<{ version: string }>;
};

async function loadSolana(transport: Transport): Promise<SolanaApp> {
  const module = (await import('@ledgerhq/hw-app-solana')) as unknown as { default: unknown };
  const Solana = ((module.default as { default?: unknown }).default ?? module.default) as new (transport: Transport) => SolanaApp;
  return new Solana(transport);
}

export type LedgerApp = 'Ethereum' | 'Solana';

const strip0x = (hex: string) => (hex.startsWith('0x') ? hex.slice(2) : hex);

export class LedgerDevice {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly openTransport: TransportFactory = nodeHidTransport) {}

  private run<T>(action: string, work: (eth: EthApp) => Promise<T>): Promise<T> {
    return this.runApp('Ethereum', loadEth, action, work);
  }

  private runApp<A extends { getAppConfiguration(): Promise<unknown> }, T>(app: LedgerApp, load: (transport: Transport) => Promise<A>, action: string, work: (api: A) => Promise<T>): Promise<T> {
    const job = async () => {
      let transport: Transport | undefined;
      try {
        transport = await this.openTransport();
        const api = await load(transport);
        // Fails fast with a clear state (locked, wrong app) before anything asks for a signature.
        await api.getAppConfiguration().catch((error: unknown) => {
          // The Solana app's version instruction is another app's signing instruction: any refusal
          // other than "locked" means the Solana app is not the one open.
          const status = (error as { statusCode?: unknown } | null)?.statusCode;
          if (app === 'Solana' && typeof status === 'number' && status !== 0x5515) throw Object.assign(new Error('wrong app'), { statusCode: 0x6d00 });
          throw error;
        });
        return await work(api);
      } catch (error) {
        throw ledgerFailure(error, action, app);
      } finally {
        await transport?.close().catch(() => undefined);
      }
    };
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  getAddress(path: string): Promise<string> {
    return this.run('read the address', async (eth) => {
      const { address } = await eth.getAddress(path, false, false);
      return getAddress(address);
    });
  }

  /**
   * Reads the address at `path`, checks it against the expected guardian (if any), then signs
   * keccak256(0x1901 ‖ domainSeparator ‖ hashStruct) on the device, in one device session.
   */
  signTypedDataHash(
    path: string,
    expectedAddress: string | null,
    hashes: (address: string) => { domainSeparator: string; hashStruct: string },
  ): Promise<{ address: string; signature: string }> {
    return this.run('sign', async (eth) => {
      const { address: raw } = await eth.getAddress(path, false, false);
      const address = getAddress(raw);
      if (expectedAddress && address !== getAddress(expectedAddress)) {
        throw new AppFailure('LEDGER_ADDRESS_MISMATCH', `This Ledger holds a different key: at ${path} it has ${address}, not ${expectedAddress}. Connect the guardian's own Ledger.`, { found: address, expected: expectedAddress });
      }
      const { domainSeparator, hashStruct } = hashes(address);
      const { v, r, s } = await eth.signEIP712HashedMessage(path, strip0x(domainSeparator), strip0x(hashStruct));
      const signature = Signature.from({ r: `0x${r.padStart(64, '0')}`, s: `0x${s.padStart(64, '0')}`, v }).serialized;
      return { address, signature };
    });
  }

  /** Public key (uncompressed hex), address and optionally chain code at `path`; `display` asks the person to confirm on the device. */
  getPublicKey(path: string, options: { display?: boolean; chainCode?: boolean } = {}): Promise<{ publicKey: string; address: string; chainCode: string | null }> {
    return this.run(options.display ? 'show the address on the device' : 'read the address', async (eth) => {
      const result = await eth.getAddress(path, options.display ?? false, options.chainCode ?? false);
      return { publicKey: result.publicKey, address: getAddress(result.address), chainCode: result.chainCode ?? null };
    });
  }

  /** Signs an unsigned serialized transaction (hex, no 0x) on the device, with no network resolution. */
  signTransaction(path: string, unsignedTxHex: string): Promise<{ v: string; r: string; s: string }> {
    return this.run('sign the transaction', (eth) => eth.signTransaction(path, strip0x(unsignedTxHex), null));
  }

  /** The Solana address (base58 of the Ed25519 public key) at `path`, from the Solana app. */
  getSolanaAddress(path: string, options: { display?: boolean } = {}): Promise<string> {
    return this.runApp('Solana', loadSolana, options.display ? 'show the address on the device' : 'read the Solana address', async (solana) => {
      const { address } = await solana.getAddress(path, options.display ?? false);
      if (!Buffer.isBuffer(address) || address.length !== 32) throw new AppFailure('LEDGER_ERROR', 'The Solana app returned a public key that is not 32 bytes. Update the Solana app, then try again.');
      return base58.encode(address);
    });
  }
}
