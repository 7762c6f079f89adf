/**
 * Bounds of what the QR scanner reads before anything uses it. An image file is refused before
 * decoding when it is larger than any photo of a QR code needs to be (the decoder would otherwise
 * hold the whole file, and its pixels, in this window's memory); decoded text is refused when it is
 * longer than a QR code can hold (version 40, numeric mode: 7,089 characters), since no genuine
 * code produces it.
 */
export const MAX_QR_IMAGE_BYTES = 25 * 1024 * 1024;
export const MAX_QR_TEXT_CHARS = 7_089;

/** Why an image file is not decoded, or null when it may be. */
export function qrImageRefusal(file: { name: string; size: number }): string | null {
  if (file.size > MAX_QR_IMAGE_BYTES) {
    return `${file.name} is ${Math.ceil(file.size / (1024 * 1024))} MB; a picture of a QR code needs at most ${MAX_QR_IMAGE_BYTES / (1024 * 1024)} MB. Take a smaller picture of just the code, or type the words.`;
  }
  if (file.size === 0) return `${file.name} is empty. Choose the picture of the QR code.`;
  return null;
}

/** Why decoded text is not passed on, or null when it may be. */
export function qrTextRefusal(text: string): string | null {
  if (text.length > MAX_QR_TEXT_CHARS) return `The code read holds ${text.length} characters, more than a QR code can hold (${MAX_QR_TEXT_CHARS}); it was not used. Scan the code again, or type the words.`;
  return null;
}
