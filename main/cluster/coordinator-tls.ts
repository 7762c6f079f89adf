/**
 * TLS to a coordinator with its certificate pinned by SHA-256 fingerprint (like SSH's known hosts):
 * the node accepts exactly the certificate its operator pinned, self-signed or not, and nothing
 * else. The check runs when the handshake completes, before the WebSocket upgrade is answered and
 * so before this node proves its identity (hello) to anyone.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';

export class CertificatePinError extends Error {
  constructor(
    readonly expected: string,
    readonly presented: string,
  ) {
    super(`The coordinator presented a TLS certificate with SHA-256 fingerprint ${presented || '(none)'}, not the pinned ${expected}. This node did not identify itself to it. If the coordinator's certificate was renewed, pin the new fingerprint read on the coordinator machine.`);
    this.name = 'CertificatePinError';
    (this as { code?: string }).code = 'CERT_PIN_MISMATCH';
  }
}

/** SHA-256 fingerprint of a DER certificate as 64 lowercase hex characters. */
export function certFingerprintOf(fingerprint256: string | undefined): string {
  return (fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
}

/** A `createConnection` for ws that opens TLS and destroys the socket unless the pin matches. */
export function pinnedTlsConnect(certSha256: string): (options: tls.ConnectionOptions & { host?: string; path?: string }) => tls.TLSSocket {
  return (options) => {
    const host = options.host ?? '';
    const socket = tls.connect({
      ...options,
      path: undefined,
      servername: isIP(host) ? '' : host,
      // The CA chain is not what decides here: the pin is (checked below, before any byte of ours matters).
      rejectUnauthorized: false,
    } as tls.ConnectionOptions);
    socket.prependOnceListener('secureConnect', () => {
      const presented = certFingerprintOf(socket.getPeerCertificate()?.fingerprint256);
      if (presented !== certSha256) socket.destroy(new CertificatePinError(certSha256, presented));
    });
    return socket;
  };
}
