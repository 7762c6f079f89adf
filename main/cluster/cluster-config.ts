/**
 * Which real cluster this node belongs to: its name (the cluster id the coordinator must serve)
 * and how it reaches the others — a coordinator address, or "air-gapped, no coordinator" (files
 * and QR codes only). Kept as a sealed vault record, so nobody with the disk alone can change the
 * address or the pinned certificate.
 *
 * Plain ws:// is accepted only to this machine (loopback). Anywhere else the address must be
 * wss:// with the SHA-256 fingerprint of the coordinator's certificate pinned: the node then talks
 * only to that certificate, whoever signed it.
 */
import { isIP } from 'node:net';
import { fail } from '../errors';
import type { VaultService } from '../vault/vault-service';

export const CLUSTER_CONFIG_RECORD = { type: 'cluster-config', id: 'self', schemaVersion: 1 } as const;

export type ClusterTransport = { kind: 'coordinator'; url: string; certSha256: string | null } | { kind: 'airgap' };

export interface ClusterConfig {
  name: string;
  transport: ClusterTransport;
  configuredAt: string;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** "AB:CD:…" as openssl prints it, or plain hex: 64 lowercase hex characters. */
export function normalizeCertFingerprint(text: string): string {
  const hex = text.trim().replace(/^sha256\s*(fingerprint)?\s*=?\s*/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) fail('COORDINATOR_ADDRESS_INVALID', 'The certificate fingerprint must be the SHA-256 fingerprint of the coordinator\'s certificate: 64 hex characters (colons allowed), as `openssl x509 -noout -fingerprint -sha256` prints it.');
  return hex;
}

/** Checks a cluster name as the coordinator's --cluster takes it. */
export function validClusterName(name: string): string {
  const n = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(n)) fail('COORDINATOR_ADDRESS_INVALID', 'The cluster name must be 1 to 64 letters, digits, dots, hyphens or underscores, exactly as the coordinator was started with (--cluster).');
  if (n === 'lab') fail('COORDINATOR_ADDRESS_INVALID', 'The name "lab" belongs to the lab cluster on this machine. Use the name of your real cluster.');
  return n;
}

/** Validates a coordinator address and its pin; refuses plain ws:// off this machine. */
export function validCoordinator(url: string, certSha256: string | null | undefined): { url: string; certSha256: string | null } {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return fail('COORDINATOR_ADDRESS_INVALID', `"${url.slice(0, 100)}" is not an address. Write it as wss://HOST:PORT (or ws://127.0.0.1:PORT for a coordinator on this machine).`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') fail('COORDINATOR_ADDRESS_INVALID', `The coordinator address must start with wss:// (or ws:// on this machine), not ${parsed.protocol}//.`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash || (parsed.pathname !== '/' && parsed.pathname !== '')) fail('COORDINATOR_ADDRESS_INVALID', 'The coordinator address is only a scheme, a host and a port (no user, path or query).');
  const loopback = isLoopbackHost(parsed.hostname);
  const pin = certSha256 && certSha256.trim() ? normalizeCertFingerprint(certSha256) : null;
  if (parsed.protocol === 'ws:' && !loopback) {
    fail('COORDINATOR_INSECURE', `Plain ws:// is refused for ${parsed.hostname}: it is not this machine, and the connection would be neither encrypted nor authenticated. Use wss:// with the coordinator's certificate fingerprint.`);
  }
  if (parsed.protocol === 'ws:' && pin) fail('COORDINATOR_ADDRESS_INVALID', 'A certificate fingerprint only applies to wss:// addresses.');
  if (parsed.protocol === 'wss:' && !loopback && !pin) fail('COORDINATOR_PIN_REQUIRED', `The coordinator at ${parsed.hostname} is not on this machine: give the SHA-256 fingerprint of its TLS certificate, read from the coordinator machine (\`openssl x509 -noout -fingerprint -sha256 -in cert.pem\`).`);
  return { url: `${parsed.protocol}//${parsed.host}`, certSha256: pin };
}

export class ClusterConfigStore {
  constructor(private readonly vault: VaultService) {}

  get(): ClusterConfig | null {
    const record = this.vault.records.get(CLUSTER_CONFIG_RECORD.type, CLUSTER_CONFIG_RECORD.id);
    if (!record) return null;
    const text = Buffer.from(record.plaintext).toString('utf8');
    record.plaintext.fill(0);
    return JSON.parse(text) as ClusterConfig;
  }

  set(config: ClusterConfig): void {
    this.vault.records.put(CLUSTER_CONFIG_RECORD.type, CLUSTER_CONFIG_RECORD.id, CLUSTER_CONFIG_RECORD.schemaVersion, Buffer.from(JSON.stringify(config), 'utf8'));
  }
}
