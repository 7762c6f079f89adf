/**
 * Reads a QR code that crosses the air gap: from the camera (video only; the permission handler
 * grants nothing else) or from an image file when a webcam fails. Decoding is zxing-cpp compiled
 * to WebAssembly (`zxing-wasm`), loaded from the app's own origin, never from a CDN. Frames are
 * decoded on this machine and dropped; nothing is stored.
 */
import { useEffect, useRef, useState } from 'react';
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

export function QrScanner({ idPrefix, label, onScanned }: { idPrefix: string; label: string; onScanned(text: string): void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [scanning, setScanning] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  // The latest callback, without restarting the camera when the parent re-renders.
  const deliver = useRef(onScanned);
  deliver.current = onScanned;

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
        if (text && !stopped) {
          stop();
          setScanning(false);
          const refused = qrTextRefusal(text);
          setMessage(refused ?? 'QR code read.');
          if (!refused) deliver.current(text);
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
    return stop;
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
      onScanned(text);
    } else {
      setMessage(`No QR code found in ${file.name}. Take a sharper, straight-on picture, or type the words.`);
    }
  }

  return (
    <div className="qr-scanner" data-testid="qr-scanner">
      <button type="button" className="secondary" onClick={() => { setMessage(null); setScanning((on) => !on); }}>{scanning ? 'Stop the camera' : `Scan ${label} with the camera`}</button>
      <div className="field">
        <label htmlFor={`${idPrefix}-qr-image`}>Or read {label} from an image file</label>
        <input id={`${idPrefix}-qr-image`} type="file" accept="image/*" onChange={(e) => { void fromFile(e.target.files?.[0]); e.target.value = ''; }} />
      </div>
      {scanning ? <video ref={video} className="qr-video" muted playsInline aria-label="Camera preview" /> : null}
      {message ? <p className="hint" role="status">{message}</p> : null}
    </div>
  );
}
