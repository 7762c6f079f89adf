/**
 * The renderer's Content-Security-Policy, sent by both the Electron protocol handler and the
 * headless host. Everything comes from the app's own origin; no inline script, no eval, no
 * remote content, no framing, no plugins. Styles allow inline attributes because React sets
 * `style` props; no style can fetch anything because img/font/connect are restricted too.
 * 'wasm-unsafe-eval' lets the app compile its own WebAssembly (the QR decoder, served from the
 * app's origin); it does not allow eval of JavaScript. The camera is allowed to the app itself
 * (QR scanning), and the permission handler grants it for video only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Headers sent with every renderer resource, whichever host serves it. */
export const RENDERER_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(self), microphone=(), geolocation=(), usb=(), hid=(), serial=(), bluetooth=()',
};
