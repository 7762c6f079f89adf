/**
 * Shows a payload main holds as an animated QR (Blockchain Commons UR, fountain-coded). Main
 * builds the parts; this only draws them in a loop. Frame interval and fragment size are set on
 * screen (200 ms and 250 bytes by default); the SHA-256 lets the receiver compare what arrived.
 */
import { useEffect, useMemo, useState } from 'react';
import QRCode from 'qrcode';
import type { AnimatedQrView, AppError, QrPayloadRef } from '../../../preload/contract';
import { QR_FRAGMENT_BYTES, QR_FRAME_INTERVAL_MS } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from './ErrorNotice';

/** The dark modules of the QR of `text` as one SVG path (one element per frame, not thousands). */
function qrPath(text: string, quiet: number): { path: string; size: number } {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'L' });
  const n = qr.modules.size;
  let path = '';
  for (let y = 0; y < n; y += 1) {
    for (let x = 0; x < n; x += 1) if (qr.modules.get(y, x)) path += `M${x + quiet} ${y + quiet}h1v1h-1z`;
  }
  return { path, size: n + quiet * 2 };
}

/** One QR frame drawn from its text (also a single-frame UR, e.g. a share sheet's). */
export function QrFrame({ text, caption, size: width = 420, testId = 'animated-qr-frame' }: { text: string; caption: string; size?: number; testId?: string }) {
  const { path, size } = useMemo(() => qrPath(text, 4), [text]);
  return (
    <svg className="keyset-qr" role="img" aria-label={caption} viewBox={`0 0 ${size} ${size}`} width={width} height={width} shapeRendering="crispEdges" data-testid={testId} data-part={text}>
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, Math.round(value)));
}

export function AnimatedQr({ payload, idPrefix }: { payload: QrPayloadRef; idPrefix: string }) {
  const [fragmentBytes, setFragmentBytes] = useState<number>(QR_FRAGMENT_BYTES.default);
  const [intervalMs, setIntervalMs] = useState<number>(QR_FRAME_INTERVAL_MS.default);
  const [view, setView] = useState<AnimatedQrView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [frame, setFrame] = useState(0);
  const [paused, setPaused] = useState(false);
  const key = JSON.stringify(payload);

  useEffect(() => {
    let live = true;
    setView(null);
    setError(null);
    void api.qr.frames({ payload, fragmentBytes }).then((r) => {
      if (!live) return;
      if (r.ok) {
        setView(r.value);
        setFrame(0);
      } else setError(r.error);
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, fragmentBytes]);

  useEffect(() => {
    if (!view || view.parts.length < 2 || paused) return undefined;
    const timer = setInterval(() => setFrame((f) => (f + 1) % view.parts.length), intervalMs);
    return () => clearInterval(timer);
  }, [view, intervalMs, paused]);

  return (
    <section className="card animated-qr" aria-label="Animated QR" data-testid="animated-qr">
      <ErrorNotice error={error} />
      {view ? (
        <>
          <p>
            <strong>{view.label}</strong> — {view.payloadBytes} bytes as <span className="mono">ur:{view.type}</span>, {view.seqLength} fragment{view.seqLength === 1 ? '' : 's'}
            {view.parts.length > 1 ? `, frame ${frame + 1} of ${view.parts.length} in the loop` : ', one static frame'}.
          </p>
          <QrFrame text={view.parts[frame % view.parts.length]!} caption={`Animated QR of the ${view.label}`} />
          <p className="hint">
            SHA-256 <span className="mono" data-testid="animated-qr-sha256">{view.sha256}</span> — the receiving console shows the same value when it has everything.
            {view.requestId ? (
              <>
                {' '}Request id <span className="mono">{view.requestId}</span>: the signature must answer it.
              </>
            ) : null}
          </p>
        </>
      ) : null}
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${idPrefix}-qr-interval`}>Time per frame (ms)</label>
          <input id={`${idPrefix}-qr-interval`} type="number" min={QR_FRAME_INTERVAL_MS.min} max={QR_FRAME_INTERVAL_MS.max} step={50} value={intervalMs} onChange={(e) => setIntervalMs(clamp(Number(e.target.value) || QR_FRAME_INTERVAL_MS.default, QR_FRAME_INTERVAL_MS))} />
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-qr-fragment`}>Fragment size (bytes)</label>
          <input id={`${idPrefix}-qr-fragment`} type="number" min={QR_FRAGMENT_BYTES.min} max={QR_FRAGMENT_BYTES.max} step={50} value={fragmentBytes} onChange={(e) => setFragmentBytes(clamp(Number(e.target.value) || QR_FRAGMENT_BYTES.default, QR_FRAGMENT_BYTES))} />
        </div>
        <button type="button" className="secondary" onClick={() => setPaused((p) => !p)}>{paused ? 'Resume' : 'Pause'}</button>
        {paused && view && view.parts.length > 1 ? (
          <button type="button" className="secondary" onClick={() => setFrame((f) => (f + 1) % view.parts.length)}>Next frame</button>
        ) : null}
      </div>
    </section>
  );
}
