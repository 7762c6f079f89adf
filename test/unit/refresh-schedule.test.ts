/** The refresh schedule of a keyset (seed 003: every 30 days, warned 7 days before, then overdue). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refreshDue } from '../../main/refresh/refresh-schedule';

const DAY = 24 * 60 * 60_000;
const created = '2026-01-01T00:00:00.000Z';
const t0 = Date.parse(created);

describe('refresh schedule', () => {
  it('is due 30 days after creation by default, ok until the 7-day warning', () => {
    const due = refreshDue({ createdAt: created, refreshedAt: null, refreshIntervalDays: null }, t0 + 10 * DAY);
    assert.equal(due.intervalDays, 30);
    assert.equal(due.intervalIsDefault, true);
    assert.equal(due.dueAt, new Date(t0 + 30 * DAY).toISOString());
    assert.equal(due.state, 'ok');
    assert.equal(due.daysLeft, 20);
  });

  it('warns within 7 days of the due date and flags it overdue after', () => {
    const k = { createdAt: created, refreshedAt: null, refreshIntervalDays: null };
    assert.equal(refreshDue(k, t0 + 22 * DAY + 1).state, 'ok');
    assert.equal(refreshDue(k, t0 + 23 * DAY).state, 'due-soon');
    assert.equal(refreshDue(k, t0 + 30 * DAY).state, 'due-soon');
    const late = refreshDue(k, t0 + 33 * DAY);
    assert.equal(late.state, 'overdue');
    assert.equal(late.daysLeft, -3);
  });

  it('counts from the last refresh, with the keyset\'s own interval', () => {
    const refreshedAt = new Date(t0 + 40 * DAY).toISOString();
    const due = refreshDue({ createdAt: created, refreshedAt, refreshIntervalDays: 90 }, t0 + 41 * DAY);
    assert.equal(due.intervalDays, 90);
    assert.equal(due.intervalIsDefault, false);
    assert.equal(due.dueAt, new Date(t0 + 130 * DAY).toISOString());
    assert.equal(due.state, 'ok');
  });
});
