/** Shapes and limits shared by the channel groups. */
import { z } from 'zod';

/** Errors any channel can answer with. */
export const COMMON_ERROR_CODES = [
  'UNKNOWN_CHANNEL',
  'FORBIDDEN_SENDER',
  'PAYLOAD_TOO_LARGE',
  'VALIDATION_FAILED',
  'BRIDGE_UNAVAILABLE',
  'INTERNAL',
] as const;

/** Passphrases are bounded so a pasted file cannot stall the KDF. */
export const passphrase = z.string().min(1, 'Enter the passphrase.').max(1024, 'The passphrase is longer than 1024 characters.');

export const noArguments = z.strictObject({});
