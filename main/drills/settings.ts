/** The schedule of key checks and drills (one row; defaults: key checks every 90 days, drills quarterly). */
import type { DrillSettings } from '../../preload/channels/drills';
import type { AuditLog } from '../audit/audit-log';
import type { Db } from '../store/database';

export const DAY_MS = 24 * 60 * 60 * 1000;

export class DrillSettingsStore {
  constructor(private readonly o: { db: Db; audit: AuditLog }) {}

  get(): DrillSettings {
    const row = this.o.db.prepare('SELECT key_check_interval_days AS k, drill_interval_days AS d FROM drill_settings WHERE id = 1').get() as { k: number; d: number } | undefined;
    return { keyCheckIntervalDays: row?.k ?? 90, drillIntervalDays: row?.d ?? 91 };
  }

  update(next: DrillSettings): DrillSettings {
    const before = this.get();
    this.o.db.transaction(() => {
      this.o.db.prepare('UPDATE drill_settings SET key_check_interval_days = ?, drill_interval_days = ? WHERE id = 1').run(next.keyCheckIntervalDays, next.drillIntervalDays);
      this.o.audit.append({ type: 'DRILL_SETTINGS_CHANGED', actor: 'operator', subject: 'schedule', details: { before: { ...before }, after: { ...next } } });
    })();
    return this.get();
  }
}
