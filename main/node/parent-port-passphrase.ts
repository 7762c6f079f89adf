/**
 * The vault passphrase of a signer node started by the console as an Electron utility process
 * (the packaged app's lab): such a process has no stdin, so the console sends the passphrase as
 * the first message on the private port between the two (process.parentPort), never in argv or
 * the environment. Plain Node has no parent port; the option is refused there.
 */
import { fail } from '../errors';
import { PARENT_PORT_PASSPHRASE } from '../cluster/lab-launch';

/** The part of Electron's process.parentPort this reads. */
export interface ParentPortLike {
  once(event: 'message', listener: (message: { data: unknown }) => void): unknown;
}

export const MAX_PARENT_PORT_PASSPHRASE_BYTES = 4096;
const WAIT_MS = 30_000;

export function passphraseFromParentPort(port: ParentPortLike | undefined, waitMs = WAIT_MS): Promise<string> {
  if (!port) fail('VALIDATION_FAILED', '--passphrase-parent-port works only when the console starts this node as an Electron utility process; use --passphrase-fd N.');
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        fail('VALIDATION_FAILED', `No passphrase arrived on the parent port within ${waitMs / 1000} s.`);
      } catch (error) {
        reject(error);
      }
    }, waitMs);
    port.once('message', ({ data }) => {
      clearTimeout(timer);
      const message = data as { type?: unknown; passphrase?: unknown } | null;
      try {
        if (!message || message.type !== PARENT_PORT_PASSPHRASE || typeof message.passphrase !== 'string') {
          fail('VALIDATION_FAILED', 'The first message on the parent port was not a vault passphrase.');
        }
        const passphrase = message.passphrase as string;
        if (Buffer.byteLength(passphrase, 'utf8') > MAX_PARENT_PORT_PASSPHRASE_BYTES) fail('VALIDATION_FAILED', `The passphrase on the parent port is longer than ${MAX_PARENT_PORT_PASSPHRASE_BYTES} bytes.`);
        resolve(passphrase);
      } catch (error) {
        reject(error);
      }
    });
  });
}
