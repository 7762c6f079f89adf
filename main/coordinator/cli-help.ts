/** The coordinator's command line: the options its parser accepts and the help that explains them. */
export const COORDINATOR_OPTIONS = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '0' },
  cluster: { type: 'string', default: 'lab' },
  store: { type: 'string', default: 'coordinator.sqlite3' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

export const COORDINATOR_USAGE = 'usage: npm run coordinator -- [--host 127.0.0.1] [--port N] [--cluster NAME] [--store FILE]\n         [--tls-cert FILE --tls-key FILE]';

export const COORDINATOR_HELP = `Vaultkeeper coordinator: the untrusted relay and session bookkeeper of a signer cluster. It
relays signed, encrypted messages between the nodes and records sessions (no shares, no
plaintext protocol messages). Every node checks every request itself.

${COORDINATOR_USAGE}

Options
  --host ADDRESS   Address to listen on (default 127.0.0.1, loopback only). Use the LAN address
                   of this machine to serve nodes on other machines.
  --port N         TCP port, 0 to 65535 (default 0: any free port, printed at start).
  --cluster NAME   Cluster id the nodes must name in their requests (default lab); a request for
                   another cluster is refused.
  --store FILE     SQLite file of the session book (default coordinator.sqlite3 in the current
                   folder): session ids, parties, states and error reasons — no secrets.
  --tls-cert FILE  Serve wss:// with this PEM certificate (self-signed is fine: the nodes pin its
                   SHA-256 fingerprint). Required when --host is not a loopback address; give the
                   fingerprint (openssl x509 -noout -fingerprint -sha256 -in FILE) to each node.
  --tls-key FILE   The certificate's PEM private key (keep it owner-only).
  --help           Print this help and exit.

Environment
  none             The coordinator reads no environment variables.

Files
  --store FILE     Created if missing. Holds idempotency keys, session descriptions and results
                   (public keys, addresses, signatures), never shares or protocol plaintext.

Output
  LISTENING ws://HOST:PORT   once it accepts connections; one line per session it relays.

Example
  npm run coordinator -- --host 10.0.0.5 --port 7400 --cluster treasury --store /srv/vk-coordinator/sessions.sqlite3 \\
      --tls-cert /srv/vk-coordinator/cert.pem --tls-key /srv/vk-coordinator/key.pem`;
