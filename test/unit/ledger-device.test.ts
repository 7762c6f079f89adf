/** The real @ledgerhq/hw-app-eth against the APDU emulator, through LedgerDevice. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Eth from '@ledgerhq/hw-app-eth';
import { HDNodeWallet, Mnemonic, TypedDataEncoder, verifyTypedData } from 'ethers';
import { AppFailure } from '../../main/errors';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, hashedParts, type ApprovalMessage } from '../../main/guardians/typed-data';
import { LedgerDevice } from '../../main/ledger/ledger-device';
import { EMULATOR_MNEMONIC, emulatorTransport, LedgerEthEmulator } from '../emulators/ledger-eth/emulator';
import { enrolThree, guardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE } from '../support/services';

const PATH = "44'/60'/0'/0/0";
const MESSAGE: ApprovalMessage = {
  requestId: '0c6f1a52-0000-4000-8000-000000000001',
  payloadHash: `0x${'12'.repeat(32)}`,
  operation: 'vault.passphrase.change',
  nonce: `0x${'34'.repeat(32)}`,
  expiry: 1_800_000_000,
  decision: 'approve',
};

const expected = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(EMULATOR_MNEMONIC), `m/${PATH}`).address;

async function failsWith(work: Promise<unknown>, code: string): Promise<AppFailure> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof AppFailure, `expected ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

function setup() {
  const device = new LedgerEthEmulator();
  return { device, ledger: new LedgerDevice(emulatorTransport(device)) };
}

const sign = (ledger: LedgerDevice, address: string | null = expected) => ledger.signTypedDataHash(PATH, address, () => hashedParts(APPROVAL_TYPES, MESSAGE));

describe('Ledger Ethereum app through hw-app-eth and the emulator', () => {
  it('answers the app configuration and address APDUs as the real app lays them out', async () => {
    const { device } = setup();
    const EthApp = ((Eth as unknown as { default?: typeof Eth }).default ?? Eth) as typeof Eth;
    const eth = new EthApp(device);
    const config = await eth.getAppConfiguration();
    assert.equal(config.version, '1.12.0');
    const withChainCode = await eth.getAddress(PATH, false, true);
    assert.equal(withChainCode.address, expected);
    assert.equal(withChainCode.publicKey.length, 130);
    assert.match(withChainCode.chainCode ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(device.log.map((apdu) => apdu.slice(0, 8)), ['e0060000', 'e0020001']);
  });

  it('reads the address and signs hashed EIP-712 that verifies with ethers', async () => {
    const { device, ledger } = setup();
    assert.equal(await ledger.getAddress(PATH), expected);
    const { address, signature } = await sign(ledger);
    assert.equal(address, expected);
    assert.equal(verifyTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, MESSAGE, signature), expected);
    const signApdu = device.log.find((apdu) => apdu.startsWith('e00c0000'))!;
    // path (1 + 5·4 bytes) ‖ domain separator ‖ hashStruct, exactly as hw-app-eth sends them
    assert.ok(signApdu.endsWith(TypedDataEncoder.hashDomain(APPROVAL_DOMAIN).slice(2) + TypedDataEncoder.from(APPROVAL_TYPES).hash(MESSAGE).slice(2)));
  });

  it('maps each device state to its own clear failure', async () => {
    const { device, ledger } = setup();
    device.state = 'locked';
    assert.match((await failsWith(sign(ledger), 'LEDGER_LOCKED')).message, /locked.*PIN/);
    device.state = 'dashboard';
    assert.match((await failsWith(sign(ledger), 'LEDGER_WRONG_APP')).message, /0x6e00.*Open the Ethereum app/);
    device.state = 'other-app';
    assert.match((await failsWith(sign(ledger), 'LEDGER_WRONG_APP')).message, /0x6d00/);
    device.state = 'app-not-found';
    assert.match((await failsWith(sign(ledger), 'LEDGER_WRONG_APP')).message, /0x6511/);
    device.state = 'ready';
    device.rejectNext = true;
    assert.match((await failsWith(sign(ledger), 'LEDGER_REJECTED')).message, /rejected on the Ledger\. Nothing was signed/);
    device.disconnectOnIns = 0x0c;
    assert.match((await failsWith(sign(ledger), 'LEDGER_DISCONNECTED')).message, /disconnected before it answered/);
    device.connected = false;
    assert.match((await failsWith(sign(ledger), 'LEDGER_NOT_CONNECTED')).message, /No Ledger found/);
    device.connected = true;
    const other = HDNodeWallet.createRandom().address;
    const mismatch = await failsWith(sign(ledger, other), 'LEDGER_ADDRESS_MISMATCH');
    assert.ok(mismatch.message.includes(expected) && mismatch.message.includes(other));
    // And it works again once the device is back in order.
    assert.equal((await sign(ledger)).address, expected);
  });

  it('serializes concurrent calls instead of colliding on the device', async () => {
    const { ledger } = setup();
    const results = await Promise.all([sign(ledger), sign(ledger), ledger.getAddress(PATH)]);
    assert.equal(results[0].address, expected);
    assert.equal(results[1].address, expected);
    assert.equal(results[2], expected);
  });

  it('records nothing when the guardian rejects on the device', async () => {
    const f = await guardianFixture();
    const { lena } = await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 30,
    });
    f.device.rejectNext = true;
    await failsWith(guardians.signWithLedger(request.id, lena.id, 'approve'), 'LEDGER_REJECTED');
    f.device.state = 'locked';
    await failsWith(guardians.signWithLedger(request.id, lena.id, 'approve'), 'LEDGER_LOCKED');
    assert.equal(guardians.view(request.id).approvals.length, 0);
    f.device.state = 'ready';
    const signed = await guardians.signWithLedger(request.id, lena.id, 'approve');
    assert.equal(signed.approvalsCounted, 1);
    await f.cleanup();
  });

  it('shows, before signing, exactly the domain and message hash the device is then sent', async () => {
    const f = await guardianFixture();
    const { lena, sam } = await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 30,
    });
    const shown = guardians.view(request.id).ledger;
    assert.ok(shown, 'a pending request with a Ledger guardian carries the values to compare');
    assert.match(shown.domainHash, /^0x[0-9A-F]{64}$/);
    assert.notEqual(shown.messageHash.approve, shown.messageHash.reject, 'the decision is part of the signed message');
    // Refreshing the list must not change what the operator is comparing against the device.
    assert.deepEqual(guardians.listRequests().pending[0]?.ledger, shown);
    // A key-file approval in between uses its own nonce and leaves the Ledger values alone.
    await guardians.signWithKeyFile(request.id, sam.keyFile, sam.passphrase, 'approve');
    assert.deepEqual(guardians.view(request.id).ledger, shown);

    f.device.log.length = 0;
    await guardians.signWithLedger(request.id, lena.id, 'approve', shown.messageHash.approve);
    const apdu = f.device.log.find((hex) => hex.startsWith('e00c0000'));
    assert.ok(apdu, 'the hashed EIP-712 APDU reached the device');
    const data = apdu.slice(10); // after CLA INS P1 P2 Lc
    const pathBytes = 1 + 4 * Number.parseInt(data.slice(0, 2), 16);
    const hashes = data.slice(pathBytes * 2);
    assert.equal(`0x${hashes.slice(0, 64).toUpperCase()}`, shown.domainHash);
    assert.equal(`0x${hashes.slice(64, 128).toUpperCase()}`, shown.messageHash.approve);
    await f.cleanup();
  });

  it('sends nothing to the device when the values on screen are out of date', async () => {
    const f = await guardianFixture();
    const { lena } = await enrolThree(f);
    const { guardians, vault } = f.services;
    const request = await guardians.createRequest({
      operation: 'vault.passphrase.change', subject: guardians.currentVaultId(), parameters: vault.passphraseChangeParameters(), context: {}, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 30,
    });
    const shown = guardians.view(request.id).ledger!;
    f.device.log.length = 0;
    const stale = await failsWith(guardians.signWithLedger(request.id, lena.id, 'approve', shown.messageHash.reject), 'LEDGER_DISPLAY_STALE');
    assert.match(stale.message, /Nothing was sent to the Ledger/);
    assert.deepEqual(f.device.log, []);
    // Rejected on the device: the nonce was not used, so the values on screen stay valid.
    f.device.rejectNext = true;
    await failsWith(guardians.signWithLedger(request.id, lena.id, 'approve', shown.messageHash.approve), 'LEDGER_REJECTED');
    assert.deepEqual(guardians.view(request.id).ledger, shown);
    await f.cleanup();
  });
});
