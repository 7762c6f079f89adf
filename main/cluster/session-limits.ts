/**
 * Bounds on what the network can make this node do: how many sessions run at once (per node and
 * per requester), how long one may run whatever its invite claims, whether a key generation may
 * start at all (only inside a window this node's operator opened — no prime search on a
 * stranger's invite), and how many audit rows refusals may write (one summary per window).
 */
import type { AuditLog } from '../audit/audit-log';
import type { SessionInfo } from '../coordinator/protocol';
import type { Clock } from '../platform/clock';
import { isSetupProtocol } from './protocols';

export interface SessionLimitSettings {
  /** Sessions this node runs at once, all requesters together. */
  maxConcurrent: number;
  /** Sessions one requester may have running on this node at once. */
  maxPerRequester: number;
  /** Refusals are counted and written as one MPC_INVITES_REFUSED row per window. */
  refusalAuditWindowMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimitSettings = { maxConcurrent: 8, maxPerRequester: 4, refusalAuditWindowMs: 60_000 };

/** The longest a session may run here, whatever deadline its invite carries. */
export const MAX_SESSION_MS = { keygen: 10 * 60_000, other: 5 * 60_000 } as const;

/** Longest key-generation window an operator can open in one go. */
export const MAX_KEYGEN_WINDOW_MINUTES = 24 * 60;

/** When this node stops a session: the invite's deadline, capped by this node's own bound. */
export function sessionDeadline(info: SessionInfo, now: number): number {
  const cap = now + (isSetupProtocol(info.protocol) ? MAX_SESSION_MS.keygen : MAX_SESSION_MS.other);
  return Math.min(info.deadlineAt, cap);
}

/**
 * Every session this node runs or is admitting, whatever carries it (the coordinator's relay or
 * file bundles across the air gap): the one set the concurrency bounds count, so sessions of one
 * transport cannot fill the node around the bound of the other.
 */
export class SessionLoad {
  private readonly sources: Array<() => Iterable<SessionInfo>> = [];

  constructor(private readonly limits: SessionLimitSettings) {}

  /** Adds one transport's running (and being admitted) sessions to the count. */
  counts(source: () => Iterable<SessionInfo>): void {
    this.sources.push(source);
  }

  /** Why `info` would exceed the bounds with every other session running here; null when it fits. */
  refusal(info: SessionInfo): string | null {
    const others = new Map<string, SessionInfo>();
    for (const source of this.sources) for (const s of source()) if (s.sessionId !== info.sessionId) others.set(s.sessionId, s);
    return admissionRefusal(this.limits, others.values(), info);
  }
}

/** Why a new session would exceed the bounds; null when it fits. */
export function admissionRefusal(limits: SessionLimitSettings, running: Iterable<SessionInfo>, info: SessionInfo): string | null {
  let total = 0;
  let fromRequester = 0;
  for (const r of running) {
    total += 1;
    if (r.requester === info.requester) fromRequester += 1;
  }
  if (total >= limits.maxConcurrent) return `this node already runs ${total} sessions (limit ${limits.maxConcurrent})`;
  if (fromRequester >= limits.maxPerRequester) return `this requester already has ${fromRequester} sessions running here (limit ${limits.maxPerRequester})`;
  return null;
}

/**
 * Key generation is accepted only when this node's operator asked for it: a keyset creation
 * started here (its keyset id), or an explicit window "accept key generation from peers for
 * N minutes" (console button, or the headless node's command-line option).
 */
export class KeygenWindow {
  private until = 0;
  private readonly ownKeysets = new Set<string>();

  constructor(private readonly clock: Clock) {}

  /** Opens (or extends) the window for `minutes` from now; returns its end. */
  openFor(minutes: number): number {
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_KEYGEN_WINDOW_MINUTES) {
      throw new RangeError(`a key-generation window lasts 1 to ${MAX_KEYGEN_WINDOW_MINUTES} minutes`);
    }
    this.until = this.clock.now() + Math.round(minutes * 60_000);
    return this.until;
  }

  close(): void {
    this.until = 0;
  }

  /** End of the open window, or null when closed. */
  openUntil(): number | null {
    return this.until > this.clock.now() ? this.until : null;
  }

  /** Records a keyset creation this node's operator started; its invite is then accepted. */
  startedHere(keysetId: string): void {
    this.ownKeysets.add(keysetId);
  }

  finishedHere(keysetId: string): void {
    this.ownKeysets.delete(keysetId);
  }

  permits(info: SessionInfo, me: string): boolean {
    if (info.requester === me && this.ownKeysets.has(info.keysetId)) return true;
    return this.openUntil() !== null;
  }
}

/**
 * Counts refused invites and messages by reason and writes one MPC_INVITES_REFUSED audit row per
 * window, so a flood of hostile invites costs a counter, not a row each.
 */
export class RefusalAudit {
  private counts = new Map<string, number>();
  private requesters = new Set<string>();
  private windowStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private static readonly MAX_REASONS = 32;

  constructor(
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly windowMs: number,
  ) {}

  record(reason: string, requester?: string): void {
    if (this.counts.size === 0) {
      this.windowStart = this.clock.now();
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
    }
    const key = this.counts.has(reason) || this.counts.size < RefusalAudit.MAX_REASONS ? reason.slice(0, 120) : 'other';
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (requester && this.requesters.size < 64) this.requesters.add(requester);
  }

  /** Refusals counted in the current window, by reason (for the UI and tests). */
  pending(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Writes the summary row for the current window, if anything was refused. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.counts.size === 0) return;
    const byReason = Object.fromEntries(this.counts);
    const total = [...this.counts.values()].reduce((a, b) => a + b, 0);
    const requesters = [...this.requesters];
    this.counts = new Map();
    this.requesters = new Set();
    try {
      this.audit.append({ type: 'MPC_INVITES_REFUSED', actor: 'system', subject: 'coordinator', details: { total, byReason, requesters, windowStart: new Date(this.windowStart).toISOString(), windowEnd: new Date(this.clock.now()).toISOString() } });
    } catch {
      // The database is closing; the counts are lost with it, which is all they could be.
    }
  }
}
