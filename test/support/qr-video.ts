/**
 * QR codes as a camera would see them, for scanning tests: a PNG image, and a Y4M video that
 * Chromium's fake capture device plays (`--use-file-for-fake-video-capture=FILE.y4m`).
 */
import { writeFileSync } from 'node:fs';
import QRCode from 'qrcode';

export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { errorCorrectionLevel: 'M', margin: 4, width: 480 });
}

/** A 640×480 grey-scale video of `frames` frames, each showing the QR of `text` centred. */
export function writeQrY4m(path: string, text: string, frames = 10): void {
  const width = 640;
  const height = 480;
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const modules = qr.modules.size;
  const quiet = 4;
  const scale = Math.floor(Math.min(width, height) / (modules + 2 * quiet));
  const side = (modules + 2 * quiet) * scale;
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);
  const luma = Buffer.alloc(width * height, 235);
  for (let y = 0; y < modules; y += 1) {
    for (let x = 0; x < modules; x += 1) {
      if (!qr.modules.get(y, x)) continue;
      for (let dy = 0; dy < scale; dy += 1) {
        const row = (top + (y + quiet) * scale + dy) * width + left + (x + quiet) * scale;
        luma.fill(16, row, row + scale);
      }
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F5:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(path, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
}

/**
 * A 640×480 grey-scale video of an animated QR: each text one QR frame, shown `repeat` frames
 * long at 5 frames per second; Chromium's fake camera plays it in a loop.
 */
export function writeAnimatedQrY4m(path: string, texts: string[], repeat = 2): void {
  const width = 640;
  const height = 480;
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frames = texts.map((text) => {
    const qr = QRCode.create(text, { errorCorrectionLevel: 'L' });
    const modules = qr.modules.size;
    const quiet = 4;
    const scale = Math.floor(Math.min(width, height) / (modules + 2 * quiet));
    if (scale < 2) throw new Error(`a QR of ${modules} modules does not fit the video; use a smaller fragment size`);
    const side = (modules + 2 * quiet) * scale;
    const left = Math.floor((width - side) / 2);
    const top = Math.floor((height - side) / 2);
    const luma = Buffer.alloc(width * height, 235);
    for (let y = 0; y < modules; y += 1) {
      for (let x = 0; x < modules; x += 1) {
        if (!qr.modules.get(y, x)) continue;
        for (let dy = 0; dy < scale; dy += 1) {
          const row = (top + (y + quiet) * scale + dy) * width + left + (x + quiet) * scale;
          luma.fill(16, row, row + scale);
        }
      }
    }
    return Buffer.concat([Buffer.from('FRAME\n'), luma, chroma, chroma]);
  });
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F5:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(path, Buffer.concat([header, ...frames.flatMap((f) => Array.from({ length: repeat }, () => f))]));
}
