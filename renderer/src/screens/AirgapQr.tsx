/**
 * Air-gap round bundles by animated QR, where size allows: show a bundle file of the folder, or
 * read one with the camera. A bundle read by QR is written into the bundle folder under its usual
 * name and the folder is imported as usual, so it meets the same signature and session checks.
 */
import { useState } from 'react';
import type { AirgapReport } from '../../../preload/contract';
import { AnimatedQr } from '../components/AnimatedQr';
import { QrScanner } from '../components/QrScanner';

export function AirgapQr({ folder, onReport }: { folder: string; onReport(report: AirgapReport): void }) {
  const [path, setPath] = useState('');
  const [shown, setShown] = useState<string | null>(null);
  return (
    <div className="airgap-qr">
      <div className="field">
        <label htmlFor="airgap-qr-file">Bundle file to show as an animated QR (absolute path)</label>
        <input id="airgap-qr-file" className="mono" value={path} onChange={(e) => setPath(e.target.value)} />
      </div>
      <button type="button" className="secondary" disabled={!path.trim() && !shown} onClick={() => setShown(shown ? null : path.trim())}>
        {shown ? 'Hide the animated QR' : 'Show the bundle as an animated QR'}
      </button>
      {shown ? <AnimatedQr idPrefix="airgap" payload={{ kind: 'mpc-bundle', path: shown }} /> : null}
      {folder ? (
        <QrScanner
          idPrefix="airgap"
          label="a round bundle's animated QR"
          animated={{ start: { kind: 'mpc-bundle', folder }, onReceived: (view) => (view.outcome.kind === 'mpc-bundle' ? onReport(view.outcome.report) : undefined) }}
        />
      ) : (
        <p className="hint small">Enter the bundle folder above to read a bundle by QR into it.</p>
      )}
    </div>
  );
}
