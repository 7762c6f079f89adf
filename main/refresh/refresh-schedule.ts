/**
 * The refresh schedule of a keyset (seed 003: shares rotated every 30 days, a warning 7 days
 * before): due from the last refresh (or the keyset's creation), "due soon" inside the warning
 * window, overdue after. The interval is a per-keyset setting; null means the default.
 */
import { DEFAULT_REFRESH_INTERVAL_DAYS, REFRESH_WARNING_DAYS, type RefreshDueState } from '../../preload/channels/refresh';

const DAY_MS = 24 * 60 * 60_000;

export interface RefreshDue {
  intervalDays: number;
  intervalIsDefault: boolean;
  dueAt: string;
  state: RefreshDueState;
  daysLeft: number;
}

export function refreshDue(keyset: { createdAt: string; refreshedAt: string | null; refreshIntervalDays: number | null }, now: number): RefreshDue {
  const intervalDays = keyset.refreshIntervalDays ?? DEFAULT_REFRESH_INTERVAL_DAYS;
  const since = Date.parse(keyset.refreshedAt ?? keyset.createdAt);
  const due = since + intervalDays * DAY_MS;
  const left = due - now;
  const state: RefreshDueState = left < 0 ? 'overdue' : left <= REFRESH_WARNING_DAYS * DAY_MS ? 'due-soon' : 'ok';
  return { intervalDays, intervalIsDefault: keyset.refreshIntervalDays === null, dueAt: new Date(due).toISOString(), state, daysLeft: left >= 0 ? Math.floor(left / DAY_MS) : -Math.max(1, Math.floor(-left / DAY_MS)) };
}
