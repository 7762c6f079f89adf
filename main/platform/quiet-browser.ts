/**
 * Chromium switches that keep a browser engine from talking to the network on its own:
 * component and extension updates, background fetches, sync, crash upload, domain reliability
 * reports, hyperlink-auditing pings, DNS prefetch, field trials. The Electron shell appends them
 * to its own command line; the headless host prints them for the browser an operator opens.
 * Runtime: shared (plain data; no `electron` import).
 */

/** Features that fetch from Google services by themselves. */
const DISABLED_FEATURES = [
  'AutofillServerCommunication',
  'CertificateTransparencyComponentUpdater',
  'InterestFeedContentSuggestions',
  'MediaRouter',
  'NetworkTimeServiceQuerying',
  'OptimizationHints',
  'Translate',
];

export const QUIET_CHROMIUM_SWITCHES: ReadonlyArray<readonly [name: string, value?: string]> = [
  ['disable-background-networking'],
  ['disable-component-update'],
  ['disable-domain-reliability'],
  ['disable-sync'],
  ['disable-breakpad'],
  ['disable-client-side-phishing-detection'],
  ['disable-default-apps'],
  ['disable-field-trial-config'],
  ['dns-prefetch-disable'],
  ['no-pings'],
  ['no-first-run'],
  ['metrics-recording-only'],
  ['disable-features', DISABLED_FEATURES.join(',')],
];

/** The switches as command-line flags: `--name` or `--name=value`. */
export function quietBrowserFlags(): string[] {
  return QUIET_CHROMIUM_SWITCHES.map(([name, value]) => (value === undefined ? `--${name}` : `--${name}=${value}`));
}
