/**
 * Cold-storage signing: an EIP-1559 transaction from the master wallet (index 0), approved by two
 * guardians, signed on the emulated Ledger through the real hw-app-eth (resolution null), then
 * accepted and mined by a local anvil on 127.0.0.1. The device states each give their message,
 * and nothing in the signing path opens a network connection.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseEther, parseUnits, Transaction, Wallet } from 'ethers';
import { isAppFailure } from '../../main/errors';
import { EMULATOR_MNEMONIC } from '../emulators/ledger-eth/emulator';
import { anvilAvailable, startAnvil, type Anvil } from '../support/anvil';
import { ceremonyFixture, runConsoleCeremony, type CeremonyFixture } from '../support/ceremony';
import { GOOD_PASSPHRASE } from '../support/services';

/**
 * Runs `work` while recording every TCP connect, fetch and hw-app-eth warning about a missing
 * resolution (its sign that it would consult Ledger's network service).
 */
async function withoutNetwork<T>(work: () => Promise<T>): Promise<{ value: T; attempts: string[] }> {
  const attempts: string[] = [];
  const originalConnect = Socket.prototype.connect;
  const originalFetch = globalThis.fetch;
  const originalWarn = console.warn;
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    attempts.push(`connect ${JSON.stringify(args[0])}`);
    return (originalConnect as (...a: unknown[]) => Socket).apply(this, args);
  } as typeof Socket.prototype.connect;
  globalThis.fetch = (async (input: unknown) => {
    attempts.push(`fetch ${String(input)}`);
    throw new Error('network use in the signing path');
  }) as typeof fetch;
  console.warn = (...args: unknown[]) => {
    if (/resolution|resolveTransaction/.test(String(args[0]))) attempts.push(`hw-app-eth: ${String(args[0]).slice(0, 80)}`);
    else originalWarn(...args);
  };
  try {
    return { value: await work(), attempts };
  } finally {
    Socket.prototype.connect = originalConnect;
    globalThis.fetch = originalFetch;
    console.warn = originalWarn;
  }
}

const code = (c: string) => (e: unknown) => {
  assert.ok(isAppFailure(e), `expected AppFailure ${c}, got ${String(e)}`);
  assert.equal(e.code, c, e.message);
  return true;
};

describe('cold-storage signing on the Ledger', { skip: !anvilAvailable() && 'anvil binary missing' }, () => {
  let f: CeremonyFixture;
  let anvil: Anvil;
  let ceremony: Awaited<ReturnType<typeof runConsoleCeremony>>;
  let master: string;
  const recipient = Wallet.createRandom().address;

  before(async () => {
    f = await ceremonyFixture();
    ceremony = await runConsoleCeremony(f);
    master = ceremony.certified.addresses.find((a) => a.chain === 'evm' && a.index === 0)!.address;
    anvil = await startAnvil();
    await anvil.rpc('anvil_setBalance', [master, `0x${parseEther('10').toString(16)}`]);
  });
  after(async () => {
    await anvil?.stop();
    await f?.cleanup();
  });

  const txRequest = (overrides: Partial<Parameters<CeremonyFixture['services']['ceremony']['cold']['request']>[0]> = {}) =>
    f.services.ceremony.cold.request({
      ceremonyId: ceremony.id,
      to: recipient,
      valueWei: parseEther('1.5').toString(),
      chainId: 31337,
      nonce: 0,
      gasLimit: '21000',
      maxFeePerGas: parseUnits('3', 'gwei').toString(),
      maxPriorityFeePerGas: parseUnits('1', 'gwei').toString(),
      data: '0x',
      reason: 'Move 1.5 ETH to the operations wallet',
      requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE },
      ttlMinutes: 60,
      ...overrides,
    });

  it('refuses malformed transactions before any approval is asked', async () => {
    await assert.rejects(() => txRequest({ maxPriorityFeePerGas: parseUnits('5', 'gwei').toString() }), code('COLD_TX_INVALID'));
    await assert.rejects(() => txRequest({ gasLimit: '20000' }), code('COLD_TX_INVALID'));
    await assert.rejects(() => txRequest({ to: '0x0000000000000000000000000000000000000000' }), code('COLD_TX_INVALID'));
  });

  it('signs on the device only with the quorum, gives each device state its message, and anvil mines the result', async () => {
    const { cold } = f.services.ceremony;
    const request = await txRequest();
    assert.deepEqual(request.amounts, ['1.5 ETH']);
    const apdus = f.device.log.length;
    await assert.rejects(cold.sign(request.id), code('QUORUM_NOT_MET'));
    assert.equal(f.device.log.length, apdus, 'nothing reached the device without the quorum');
    await f.approve(request);

    const preview = cold.preview(request.id);
    assert.equal(preview.from, master);
    assert.ok(preview.deviceScreens.includes('Amount: ETH 1.5'));
    assert.ok(preview.deviceScreens.includes(`Address: ${recipient}`));

    const states: Array<[() => void, string]> = [
      [() => (f.device.state = 'locked'), 'LEDGER_LOCKED'],
      [() => (f.device.state = 'other-app'), 'LEDGER_WRONG_APP'],
      [() => (f.device.connected = false), 'LEDGER_NOT_CONNECTED'],
      [() => (f.device.rejectNext = true), 'LEDGER_REJECTED'],
      [() => (f.device.disconnectOnIns = 0x04), 'LEDGER_DISCONNECTED'],
      [() => f.device.useMnemonic(EMULATOR_MNEMONIC), 'LEDGER_SEED_MISMATCH'],
    ];
    for (const [setState, expected] of states) {
      setState();
      await assert.rejects(cold.sign(request.id), code(expected));
      f.device.state = 'ready';
      f.device.connected = true;
      f.device.rejectNext = false;
      f.device.disconnectOnIns = null;
      f.device.useMnemonic(ceremony.words.join(' '));
      assert.equal(f.services.guardians.view(request.id).status, 'pending', `${expected} left the approval unused`);
    }

    // No network connection is attempted anywhere in the signing path (hw-app-eth gets resolution null).
    const { value: signed, attempts } = await withoutNetwork(() => cold.sign(request.id));
    assert.deepEqual(attempts, []);
    assert.equal(signed.from, master);
    assert.deepEqual(f.device.lastDisplayed?.slice(0, 2), ['Amount ETH 1.5', `Address ${recipient}`]);
    assert.equal(JSON.parse(readFileSync(signed.path, 'utf8')).signedTx, signed.signedTx);
    const tx = Transaction.from(signed.signedTx);
    assert.equal(tx.type, 2);
    assert.equal(tx.from, master);
    await assert.rejects(cold.sign(request.id), code('APPROVAL_REQUEST_CLOSED'));

    const hash = await anvil.rpc<string>('eth_sendRawTransaction', [signed.signedTx]);
    assert.equal(hash, signed.txHash);
    let receipt: { status: string; blockNumber: string; from: string } | null = null;
    for (let i = 0; i < 50 && !receipt; i += 1) {
      receipt = await anvil.rpc('eth_getTransactionReceipt', [hash]);
      if (!receipt) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(receipt?.status, '0x1');
    assert.equal(receipt?.from.toLowerCase(), master.toLowerCase());
    assert.equal(BigInt(await anvil.rpc<string>('eth_getBalance', [recipient, 'latest'])), parseEther('1.5'));
    const audit = f.services.audit.list({ type: 'COLD_TX_SIGNED', limit: 10 }).entries;
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.details.txHash, signed.txHash);
  });

  it('a transaction with contract data meets a Ledger whose blind signing is off with a clear message', async () => {
    const request = await txRequest({ nonce: 1, data: '0xa9059cbb', gasLimit: '60000' });
    await f.approve(request);
    f.device.blindSigning = false;
    try {
      await assert.rejects(f.services.ceremony.cold.sign(request.id), (e: unknown) => code('LEDGER_BLIND_SIGNING_DISABLED')(e) && /Blind signing/.test((e as Error).message));
    } finally {
      f.device.blindSigning = true;
    }
    const { value: signed, attempts } = await withoutNetwork(() => f.services.ceremony.cold.sign(request.id));
    assert.deepEqual(attempts, [], 'a contract call is signed without asking the network for decoding data');
    assert.equal(Transaction.from(signed.signedTx).data, '0xa9059cbb');
  });

  it('a device that signs with another key than the one it reports is caught, and the approval stays unused', async () => {
    const request = await txRequest({ nonce: 3 });
    await f.approve(request);
    f.device.signTransactionsWith = EMULATOR_MNEMONIC;
    try {
      await assert.rejects(f.services.ceremony.cold.sign(request.id), code('COLD_SIGNATURE_MISMATCH'));
    } finally {
      f.device.signTransactionsWith = null;
    }
    assert.equal(f.services.guardians.view(request.id).status, 'pending');
  });

  it('a request that was altered after approval does not sign', async () => {
    const request = await txRequest({ nonce: 2 });
    await f.approve(request);
    f.services.db.exec('DROP TRIGGER IF EXISTS approval_requests_immutable');
    f.services.db.prepare("UPDATE approval_requests SET parameters = json_set(parameters, '$.valueWei', ?) WHERE id = ?").run(parseEther('9').toString(), request.id);
    await assert.rejects(f.services.ceremony.cold.sign(request.id), (e: unknown) => isAppFailure(e) && ['GUARD_PAYLOAD_MISMATCH'].includes(e.code));
  });
});
