/**
 * Turns what the Ledger transport and its apps (Ethereum, Solana) throw into failures a person can act on.
 * Errors are recognised by name and status word, not by class identity, because the transport
 * packages may each carry their own copy of @ledgerhq/errors.
 */
import { AppFailure } from '../errors';

const WRONG_APP_STATUS = new Set([0x6d00, 0x6e00, 0x6e01, 0x6511, 0x6a15]);

function statusWord(error: unknown): number | null {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : null;
}

function errorName(error: unknown): string {
  if (!error || typeof error !== 'object') return '';
  return String((error as { name?: unknown }).name ?? '');
}

function transportId(error: unknown): string {
  return String((error as { id?: unknown } | null)?.id ?? '');
}

export function ledgerFailure(error: unknown, action: string, app: 'Ethereum' | 'Solana' = 'Ethereum'): AppFailure {
  if (error instanceof AppFailure) return error;
  const status = statusWord(error);
  const name = errorName(error);
  if (name === 'LockedDeviceError' || status === 0x5515) {
    return new AppFailure('LEDGER_LOCKED', `The Ledger is locked. Unlock it with its PIN, open the ${app} app, then ${action} again.`, { status: 0x5515 });
  }
  if (status !== null && WRONG_APP_STATUS.has(status)) {
    return new AppFailure('LEDGER_WRONG_APP', `The ${app} app is not open on the Ledger (the device answered 0x${status.toString(16)}). Open the ${app} app on the device, then ${action} again.`, { status });
  }
  if (name === 'EthAppPleaseEnableContractData') {
    return new AppFailure('LEDGER_BLIND_SIGNING_DISABLED', `The Ethereum app refused a transaction with contract data because blind signing is off. Enable "Blind signing" in the Ethereum app settings on the device only if the guardians approved this contract call, then ${action} again.`, { status: 0x6a80 });
  }
  if (status === 0x6985) {
    return new AppFailure('LEDGER_REJECTED', 'The request was rejected on the Ledger. Nothing was signed.', { status });
  }
  if (name === 'DisconnectedDevice' || name === 'DisconnectedDeviceDuringOperation') {
    return new AppFailure('LEDGER_DISCONNECTED', `The Ledger was disconnected before it answered. Nothing was signed; reconnect it, open the ${app} app, then ${action} again.`);
  }
  if (name === 'TransportRaceCondition') {
    return new AppFailure('LEDGER_BUSY', 'The Ledger is still busy with an earlier request. Finish or reject it on the device, then try again.');
  }
  const id = transportId(error);
  if (id === 'NoDeviceFound' || id === 'ListenTimeout' || name === 'CantOpenDevice' || name === 'LedgerNotConnected') {
    return new AppFailure('LEDGER_NOT_CONNECTED', `No Ledger found. Connect it by USB, unlock it, open the ${app} app, then ${action} again.`);
  }
  if (status !== null) {
    return new AppFailure('LEDGER_ERROR', `The Ledger refused the request (status 0x${status.toString(16)}). Check that the ${app} app is up to date, then ${action} again.`, { status });
  }
  return new AppFailure('LEDGER_ERROR', `The Ledger did not complete the request (${name || 'unknown error'}). Reconnect it and ${action} again.`);
}
