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
  // Nothing the console loads needs a name resolved (the loopback literal or the app's own
  // scheme), so no lookup leaves the machine: every other host resolves to "not found".
  ['host-resolver-rules', 'MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE [::1]'],
  ['disable-features', DISABLED_FEATURES.join(',')],
];

/** The switches as command-line flags: `--name` or `--name=value`. */
export function quietBrowserFlags(): string[] {
  return QUIET_CHROMIUM_SWITCHES.map(([name, value]) => (value === undefined ? `--${name}` : `--${name}=${value}`));
}

/** The flags quoted for a POSIX shell, for the line the headless host prints. */
export function quietBrowserShellFlags(): string {
  return quietBrowserFlags()
    .map((flag) => (/^[\w=,.:/-]+$/.test(flag) ? flag : `'${flag.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
