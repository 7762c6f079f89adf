/**
 * The shape check for every message the coordinator sends this node after the welcome. The
 * coordinator is an untrusted relay: a message that does not parse is refused here, before any
 * handler sees it, and never reaches the database.
 */
import { z } from 'zod';
import { failure, publicResult, sessionAttestation, sessionInfo, signedSessionRequest, type ServerMessage } from '../coordinator/protocol';

const sessionId = z.string().regex(/^[0-9a-f]{32,128}$/);
const nodeId = z.string().regex(/^[0-9a-f]{32}$/);

const inbound = z.discriminatedUnion('t', [
  z.object({ t: z.literal('invite'), session: sessionInfo, request: signedSessionRequest }),
  z.object({ t: z.literal('start'), sessionId }),
  z.object({ t: z.literal('envelope'), sessionId, from: nodeId, envelope: z.unknown() }),
  z.object({ t: z.literal('session-end'), session: sessionInfo, state: z.enum(['completed', 'failed']), result: publicResult.optional(), attestations: z.array(sessionAttestation).max(16).optional(), failure: failure.optional() }),
]);

export type InboundMessage = Extract<ServerMessage, { t: 'invite' | 'start' | 'envelope' | 'session-end' }>;

/** The message if it is one this node handles and well formed; otherwise null. */
export function parseInbound(raw: unknown): InboundMessage | null {
  const parsed = inbound.safeParse(raw);
  return parsed.success ? (parsed.data as InboundMessage) : null;
}
