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

/** Writes grey-scale frames (640×480 luma each) as a 5 fps Y4M video, each frame `repeat` times. */
export function writeLumaY4m(path: string, lumaFrames: Buffer[], repeat = 2): void {
  const width = 640;
  const height = 480;
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frames = lumaFrames.map((luma) => {
    if (luma.length !== width * height) throw new Error(`a frame is ${luma.length} bytes, not ${width * height}`);
    return Buffer.concat([Buffer.from('FRAME\n'), luma, chroma, chroma]);
  });
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F5:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(path, Buffer.concat([header, ...frames.flatMap((f) => Array.from({ length: repeat }, () => f))]));
}

/**
 * A PNG (e.g. a screenshot of a QR on a page) centred on a white 640×480 frame, as luma, decoded
 * by Chromium itself on a blank page of `decoder`'s browser.
 */
export async function pngToLuma(decoder: { evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> }, png: Buffer): Promise<Buffer> {
  const base64 = await decoder.evaluate(async (data: string) => {
    const image = new Image();
    image.src = `data:image/png;base64,${data}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, 640, 480);
    const scale = Math.min(1, 460 / Math.max(image.width, image.height));
    const w = Math.round(image.width * scale);
    const h = Math.round(image.height * scale);
    context.imageSmoothingEnabled = false;
    context.drawImage(image, Math.floor((640 - w) / 2), Math.floor((480 - h) / 2), w, h);
    const rgba = context.getImageData(0, 0, 640, 480).data;
    const luma = new Uint8Array(640 * 480);
    for (let i = 0; i < luma.length; i += 1) luma[i] = Math.round(16 + (219 * (0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!)) / 255);
    let binary = '';
    for (let i = 0; i < luma.length; i += 0x8000) binary += String.fromCharCode(...luma.subarray(i, i + 0x8000));
    return btoa(binary);
  }, png.toString('base64'));
  return Buffer.from(base64, 'base64');
}
