/**
 * Domain failures are thrown as AppFailure and turned into `{ ok: false, error }` values at the
 * IPC boundary. Anything else that escapes a handler is reported as INTERNAL without its text,
 * because foreign exception messages may quote inputs.
 */
import type { AppError, ErrorCode } from '../preload/contract';

export class AppFailure extends Error {
  readonly code: ErrorCode;
  readonly details: AppError['details'];

  constructor(code: ErrorCode, message: string, details?: AppError['details']) {
    super(message);
    this.name = 'AppFailure';
    this.code = code;
    this.details = details;
  }

  toValue(): AppError {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function fail(code: ErrorCode, message: string, details?: AppError['details']): never {
  throw new AppFailure(code, message, details);
}

export function isAppFailure(error: unknown): error is AppFailure {
  return error instanceof AppFailure;
}
