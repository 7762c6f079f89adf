import { useConsole } from '../store';

/** Shown in the top bar on every screen while the lab cluster serves this console. */
export function LabBanner() {
  const mode = useConsole((s) => s.cluster?.mode);
  if (mode !== 'lab') return null;
  return (
    <strong className="lab-banner" role="status" data-testid="lab-banner">
      LAB MODE — test cluster on this machine, not for real funds
    </strong>
  );
}
