/**
 * The one place every request from a renderer enters main, whichever bridge carried it
 * (Electron IPC or the headless host). It refuses unknown channels and foreign senders, bounds
 * the payload size, validates the payload against the contract's strict schema, and turns every
 * outcome into a Result. Handlers never see unvalidated input; a bad payload reaches no handler,
 * so it cannot cause a partial write.
 */
import { z } from 'zod';
import {
  CHANNEL_NAMES,
  channels,
  MAX_REQUEST_BYTES,
  type AppError,
  type Channel,
  type ParsedRequestOf,
  type Result,
  type ResponseOf,
} from '../../preload/contract';
import { isAppFailure } from '../errors';

export interface CallContext {
  /** Whether the bridge vouched for the caller (right origin / frame / token). */
  trustedSender: boolean;
  /** What the bridge knows of the sender, for the refusal message. */
  senderDescription: string;
}

export type Handler<C extends Channel> = (request: ParsedRequestOf<C>, context: CallContext) => Promise<ResponseOf<C>> | ResponseOf<C>;
export type Handlers = { [C in Channel]: Handler<C> };
/** The handlers of one channel group, e.g. HandlersFor<'vault.'>. */
export type HandlersFor<Prefix extends string> = { [C in Channel as C extends `${Prefix}${string}` ? C : never]: Handler<C> };

export interface RouterHooks {
  /** Told the code of every internal error (never its text: it may quote input). */
  onInternalError?: (channel: string, error: unknown) => void;
}

const failure = (error: AppError): Result<never> => ({ ok: false, error });

function isKnownChannel(channel: unknown): channel is Channel {
  return typeof channel === 'string' && (CHANNEL_NAMES as string[]).includes(channel);
}

function describeIssues(error: z.ZodError): { message: string; field: string } {
  const issue = error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : '(request)';
  if (issue?.code === 'unrecognized_keys') {
    return { field: issue.keys.join(','), message: `Unexpected field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}.` };
  }
  return { field, message: `Field "${field}": ${issue?.message ?? 'invalid value'}.` };
}

/** Serialized size of a structured-clone payload, or null if it is not plain JSON data. */
function payloadBytes(payload: unknown): number | null {
  try {
    const text = JSON.stringify(payload ?? {});
    return text === undefined ? null : Buffer.byteLength(text, 'utf8');
  } catch {
    return null;
  }
}

export class IpcRouter {
  constructor(
    private readonly handlers: Handlers,
    private readonly hooks: RouterHooks = {},
  ) {}

  async dispatch(channel: unknown, payload: unknown, context: CallContext): Promise<Result<unknown>> {
    if (!isKnownChannel(channel)) {
      return failure({ code: 'UNKNOWN_CHANNEL', message: 'This request is not part of the Vaultkeeper API.', details: { channel: String(channel).slice(0, 64) } });
    }
    if (!context.trustedSender) {
      return failure({ code: 'FORBIDDEN_SENDER', message: 'Request refused: it did not come from the Vaultkeeper window.', details: { sender: context.senderDescription.slice(0, 200) } });
    }
    const bytes = payloadBytes(payload);
    if (bytes === null) return failure({ code: 'VALIDATION_FAILED', message: 'The request is not plain data.', details: { field: '(request)' } });
    if (bytes > MAX_REQUEST_BYTES) {
      return failure({ code: 'PAYLOAD_TOO_LARGE', message: `The request is ${bytes} bytes; the limit is ${MAX_REQUEST_BYTES}.`, details: { bytes, limit: MAX_REQUEST_BYTES } });
    }
    const parsed = channels[channel].request.safeParse(payload ?? {});
    if (!parsed.success) {
      const { message, field } = describeIssues(parsed.error);
      return failure({ code: 'VALIDATION_FAILED', message, details: { field } });
    }
    try {
      const handler = this.handlers[channel] as Handler<Channel>;
      const value = await handler(parsed.data as never, context);
      return { ok: true, value };
    } catch (error) {
      if (isAppFailure(error)) return failure(error.toValue());
      this.hooks.onInternalError?.(channel, error);
      return failure({ code: 'INTERNAL', message: 'Vaultkeeper hit an internal error; nothing was changed by this request. The error was recorded for support.' });
    }
  }
}
