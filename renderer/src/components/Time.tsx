/**
 * Every time on every screen is shown in UTC ("2026-11-27 08:41 UTC"), with the local time on
 * hover: one time zone everywhere, so times on two screens (or two machines) compare at a glance.
 */
export const utcText = (iso: string, seconds = false) => `${iso.slice(0, seconds ? 19 : 16).replace('T', ' ')} UTC`;

/** `missing` is shown when there is no time yet (e.g. "not yet certified"). */
export function Time({ iso, seconds = false, missing = '—' }: { iso: string | null; seconds?: boolean; missing?: string }) {
  if (iso === null) return <span className="time">{missing}</span>;
  const local = new Date(iso);
  const title = Number.isNaN(local.getTime()) ? undefined : `Local time: ${local.toLocaleString()}`;
  return (
    <time dateTime={iso} title={title} className="time">
      {utcText(iso, seconds)}
    </time>
  );
}
