/** The Overview's item for share refresh: keysets due soon, overdue, or with an interrupted refresh. */
import type { OverviewItem } from '../../preload/contract';
import type { RefreshService } from './refresh-service';

const day = (iso: string) => iso.slice(0, 10);

export function refreshOverviewItem(refresh: RefreshService): OverviewItem {
  const keysets = refresh.list();
  const interrupted = keysets.filter((k) => k.interrupted);
  const overdue = keysets.filter((k) => k.state === 'overdue');
  const soon = keysets.filter((k) => k.state === 'due-soon');
  const lines = [
    ...interrupted.map((k) => `${k.address ?? k.keysetId}: refresh to epoch ${k.interrupted!.toEpoch} interrupted on this node — choose "Finish interrupted refresh"`),
    ...overdue.map((k) => `${k.address ?? k.keysetId}: refresh OVERDUE by ${-k.daysLeft} day(s) (due ${day(k.dueAt)}, every ${k.intervalDays} days)`),
    ...soon.map((k) => `${k.address ?? k.keysetId}: refresh due in ${k.daysLeft} day(s) (${day(k.dueAt)})`),
    ...keysets.filter((k) => k.backups.dead > 0).map((k) => `${k.address ?? k.keysetId}: ${k.backups.dead} backup(s) made dead by a refresh, ${k.backups.current} current`),
  ];
  const headline = keysets.length === 0
    ? 'No keysets yet'
    : interrupted.length
      ? `${interrupted.length} keyset(s) with an interrupted refresh`
      : overdue.length
        ? `${overdue.length} keyset(s) overdue for a share refresh`
        : soon.length
          ? `${soon.length} keyset(s) due for a share refresh within 7 days`
          : `Every keyset's shares are within their refresh interval`;
  return {
    id: 'refresh',
    title: 'Share refresh',
    tone: interrupted.length || overdue.length ? 'attention' : soon.length ? 'attention' : keysets.length ? 'ok' : 'idle',
    headline,
    lines,
    link: 'keysets',
    action: 'Open Keysets',
  };
}
