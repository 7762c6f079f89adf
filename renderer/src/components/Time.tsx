/**
 * Every time on every screen is shown in UTC ("2026-11-27 08:41 UTC"), with the local time on
 * hover: one time zone everywhere, so times on two screens (or two machines) compare at a glance.
 */
export const utcText = (iso: string, seconds = false) => `${iso.slice(0, seconds ? 19 : 16).replace('T', ' ')} UTC`;

export function Time({ iso, seconds = false }: { iso: string; seconds?: boolean }) {
  const local = new Date(iso);
  const title = Number.isNaN(local.getTime()) ? undefined : `Local time: ${local.toLocaleString()}`;
  return (
    <time dateTime={iso} title={title} className="time">
      {utcText(iso, seconds)}
    </time>
  );
}
