/**
 * Reads a QR code that crosses the air gap: from the camera (video only; the permission handler
 * grants nothing else) or from an image file when a webcam fails. Decoding is zxing-cpp compiled
 * to WebAssembly (`zxing-wasm`), loaded from the app's own origin, never from a CDN. Frames are
 * decoded on this machine and dropped; nothing is stored.
 *
 * With `animated`, it receives an animated QR (BC-UR): each newly read frame goes to main, which
 * checks it and reassembles the payload; the bar shows frames read against fragments needed, and
 * the reading ends when main has imported the whole payload or refused a frame.
 */
import { useEffect, useRef, useState } from 'react';
import type { AppError, QrProgressView, QrReceiveView, RequestOf } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from './ErrorNotice';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import readerWasmUrl from 'zxing-wasm/reader/zxing_reader.wasm?url';
import { qrImageRefusal, qrTextRefusal } from './qr-limits';

// The decoder's default would fetch its WebAssembly from jsDelivr; the app serves its own copy.
prepareZXingModule({ overrides: { locateFile: (path: string, prefix: string) => (path.endsWith('.wasm') ? readerWasmUrl : prefix + path) } });

const FRAME_INTERVAL_MS = 200;

async function decode(input: Blob | ImageData): Promise<string | null> {
  const results = await readBarcodes(input, { formats: ['QRCode'], tryHarder: true, maxNumberOfSymbols: 1 });
  const text = results.find((r) => r.isValid)?.text;
  return text && text.length > 0 ? text : null;
}

type Done = Extract<QrReceiveView, { state: 'done' }>;

/** Feeds frames to main one reading at a time; a frame equal to the last one sent is skipped. */
class AnimatedReading {
  private receiveId: string | null = null;
  private last = '';
  constructor(private readonly start: RequestOf<'qr.receiveStart'>) {}

  async feed(text: string): Promise<{ progress?: QrProgressView; done?: Done; error?: AppError } | null> {
    if (text === this.last) return null;
    this.last = text;
    if (!this.receiveId) {
      const started = await api.qr.receiveStart(this.start);
      if (!started.ok) return { error: started.error };
      this.receiveId = started.value.receiveId;
    }
    const r = await api.qr.receivePart({ receiveId: this.receiveId, part: text });
    if (!r.ok) return { error: r.error };
    return r.value.state === 'done' ? { done: r.value, progress: r.value.progress } : { progress: r.value.progress };
  }

  cancel(): void {
    if (this.receiveId) void api.qr.receiveCancel({ receiveId: this.receiveId });
    this.receiveId = null;
  }
}

export function QrScanner({ idPrefix, label, onScanned, animated }: { idPrefix: string; label: string; onScanned?(text: string): void; animated?: { start: RequestOf<'qr.receiveStart'>; onReceived(view: Done): void } }) {
  const video = useRef<HTMLVideoElement>(null);
  const [scanning, setScanning] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [progress, setProgress] = useState<QrProgressView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  // The latest callbacks, without restarting the camera when the parent re-renders.
  const deliver = useRef(onScanned);
  deliver.current = onScanned;
  const animatedRef = useRef(animated);
  animatedRef.current = animated;
  const reading = useRef<AnimatedReading | null>(null);

  /** One decoded text: true when the scan is over. */
  const handle = async (text: string): Promise<boolean> => {
    const a = animatedRef.current;
    if (!a) {
      deliver.current?.(text);
      return true;
    }
    reading.current ??= new AnimatedReading(a.start);
    const step = await reading.current.feed(text);
    if (!step) return false;
    if (step.progress) setProgress(step.progress);
    if (step.error) {
      reading.current = null;
      setError(step.error);
      return true;
    }
    if (step.done) {
      reading.current = null;
      a.onReceived(step.done);
      return true;
    }
    return false;
  };

  useEffect(() => {
    if (!scanning) return undefined;
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const stop = () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
    const tick = async () => {
      const v = video.current;
      if (stopped || !v) return;
      if (v.videoWidth > 0) {
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        const context = canvas.getContext('2d', { willReadFrequently: true });
        context?.drawImage(v, 0, 0);
        const text = context ? await decode(context.getImageData(0, 0, canvas.width, canvas.height)).catch(() => null) : null;
        // A text no QR code can hold did not come from one: refused before anything reads it.
        const refused = text && !stopped ? qrTextRefusal(text) : null;
        if (refused) {
          stop();
          setScanning(false);
          setMessage(refused);
          return;
        }
        if (text && !stopped && (await handle(text))) {
          stop();
          setScanning(false);
          setMessage(animatedRef.current ? 'Animated QR read.' : 'QR code read.');
          return;
        }
      }
      timer = setTimeout(() => void tick(), FRAME_INTERVAL_MS);
    };
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'environment' }, audio: false })
      .then(async (s) => {
        stream = s;
        if (stopped) return stop();
        if (video.current) {
          video.current.srcObject = s;
          await video.current.play().catch(() => undefined);
        }
        setMessage('Hold the QR code in front of the camera.');
        void tick();
      })
      .catch(() => {
        setScanning(false);
        setMessage('The camera is not available (none connected, or access was refused). Scan an image file of the QR code instead, or type the words.');
      });
    return () => {
      stop();
      reading.current?.cancel();
      reading.current = null;
    };
  }, [scanning]);

  async function fromFile(file: File | undefined) {
    if (!file) return;
    const tooLarge = qrImageRefusal(file);
    setMessage(tooLarge);
    if (tooLarge) return;
    const text = await decode(file).catch(() => null);
    const refused = text ? qrTextRefusal(text) : null;
    if (refused) {
      setMessage(refused);
    } else if (text) {
      setMessage('QR code read from the image.');
      await handle(text);
    } else {
      setMessage(`No QR code found in ${file.name}. Take a sharper, straight-on picture, or type the words.`);
    }
  }

  return (
    <div className="qr-scanner" data-testid="qr-scanner">
      <button type="button" className="secondary" onClick={() => { setMessage(null); setError(null); setProgress(null); setScanning((on) => !on); }}>{scanning ? 'Stop the camera' : `Scan ${label} with the camera`}</button>
      <div className="field">
        <label htmlFor={`${idPrefix}-qr-image`}>Or read {label} from an image file</label>
        <input id={`${idPrefix}-qr-image`} type="file" accept="image/*" onChange={(e) => { void fromFile(e.target.files?.[0]); e.target.value = ''; }} />
      </div>
      {scanning ? <video ref={video} className="qr-video" muted playsInline aria-label="Camera preview" /> : null}
      {animated && progress ? (
        <div className="field" data-testid="qr-progress">
          <label htmlFor={`${idPrefix}-qr-progress`}>
            About {Math.round(progress.estimated * 100)}% received: {progress.framesRead} frame{progress.framesRead === 1 ? '' : 's'} read; the message has {progress.fragments} fragment{progress.fragments === 1 ? '' : 's'}
          </label>
          <progress id={`${idPrefix}-qr-progress`} max={1} value={progress.estimated} />
        </div>
      ) : null}
      {message ? <p className="hint" role="status">{message}</p> : null}
      <ErrorNotice error={error} />
    </div>
  );
}
