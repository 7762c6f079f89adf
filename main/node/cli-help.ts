/**
 * The signer node's command line: the options its parser accepts and the help that explains each
 * of them, the environment variables and the files it reads and writes. One module for both, so a
 * test can check that every option the parser accepts is explained.
 */
import { NODE_SETUP_HELP } from '../policy/node-setup';

export const NODE_OPTIONS = {
  data: { type: 'string' },
  coordinator: { type: 'string' },
  name: { type: 'string', default: 'signer-node' },
  init: { type: 'boolean', default: false },
  peers: { type: 'string' },
  protocols: { type: 'string' },
  'passphrase-fd': { type: 'string' },
  'trusted-issuers': { type: 'string' },
  policy: { type: 'string' },
  'execution-authorizations': { type: 'string' },
  'accept-keygen-minutes': { type: 'string' },
  'state-dir': { type: 'string' },
  lab: { type: 'boolean', default: false },
  // Pregenerated safe primes to keep sealed (0..8): searched in the background while idle.
  'prime-pool': { type: 'string' },
  // Test speed-ups, named so nobody mistakes them for settings: published Paillier primes
  // and a cheap KDF would void the node's security.
  'insecure-test-primes': { type: 'string' },
  'kdf-test-cost': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export const NODE_USAGE = `usage: npm run node -- --data DIR --coordinator ws://HOST:PORT [--name NAME] [--init]
         [--peers FILE] [--protocols eddsa-keygen,eddsa-sign,...] [--passphrase-fd N]
         [--trusted-issuers FILE] [--policy FILE] [--execution-authorizations FILE]
         [--accept-keygen-minutes N] [--state-dir DIR] [--lab] [--prime-pool N]`;

export function nodeHelp(protocols: readonly string[], maxKeygenMinutes: number): string {
  return `Vaultkeeper signer node: the console's main-process services without a window. It holds one
share of each 2-of-3 keyset in an encrypted vault and takes part in the sessions the coordinator
relays, deciding for itself what it signs.

${NODE_USAGE}

Options
  --data DIR               Data folder of this node (created owner-only, 0700): the vault database
                           vaultkeeper.sqlite3 and node-card.json. Required.
  --coordinator URL        WebSocket address of the coordinator, e.g. ws://10.0.0.5:7400. Without it
                           the node opens its vault, prints READY offline and takes part in nothing.
  --name NAME              Name shown to the other nodes and in their audit logs (default signer-node).
  --init                   Create the vault in DIR if there is none (without it a missing vault stops
                           the node, so a wrong --data cannot silently start an empty node).
  --peers FILE             JSON file of the peers whose fingerprints an operator confirmed (see Files).
                           Waited for up to 60 s at start.
  --protocols LIST         Comma-separated protocols this node takes part in (default: all):
                           ${protocols.join(', ')}
  --passphrase-fd N        Read the vault passphrase from file descriptor N (0 = stdin; one line).
  --trusted-issuers FILE   Permit issuers this node accepts (see Setup files below).
  --policy FILE            Vault policy per keyset (see Setup files below).
  --execution-authorizations FILE
                           Unattended co-signing within a scope (see Setup files below).
  --accept-keygen-minutes N
                           Accept key generation requested by peers for N minutes from start
                           (1 to ${maxKeygenMinutes}); otherwise their key-generation invites are refused.
  --state-dir DIR          Folder of the rollback counter's mirror, kept outside the data folder
                           (default: VAULTKEEPER_STATE_DIR, else the per-user state folder).
  --lab                    This node belongs to the embedded lab cluster: its keysets carry the
                           permanent "not for real funds" mark.
  --prime-pool N           Keep N (0 to 8) pregenerated safe primes sealed in the vault, searched on
                           worker threads while the node is idle, each used once for auxiliary data.
  --insecure-test-primes FILE
                           TESTS ONLY: use the published Paillier primes in FILE (one hex line)
                           instead of generating them. Voids ECDSA security.
  --kdf-test-cost          TESTS ONLY: a cheap passphrase KDF. Voids the vault's protection.
  --help                   Print this help and exit.

Environment
  VAULTKEEPER_NODE_PASSPHRASE  The vault passphrase when --passphrase-fd is not given (tests;
                               prefer --passphrase-fd: the environment of a process is readable
                               by its owner's other processes).
  VAULTKEEPER_STATE_DIR        Default for --state-dir.
  VAULTKEEPER_MPC_ADDON        Path of the MPC addon to load instead of native/vaultkeeper_mpc.node.

Files
  DIR/vaultkeeper.sqlite3  The encrypted vault and this node's records (0600).
  DIR/node-card.json       Written at start: { "card": { nodeId, signingPublicKey, ... },
                           "fingerprint": "six-words" }. Give it to the other nodes' operators, who
                           confirm the fingerprint with you by voice before enrolling it.
  --peers FILE             [{ "card": <a peer's node-card.json card>, "fingerprint": "six-words" }]

${NODE_SETUP_HELP}

Output
  NODE <node id> <fingerprint>   once the vault is open;  READY <node id>   once connected.
  PRIME_POOL <level>/<target>    as the prime pool fills;  PROGRESS …   of long sessions every 5 s.
  SIGINT/SIGTERM cancel what runs and stop the node; SIGHUP re-reads the setup files.

Example
  printf '%s\\n' "$PASSPHRASE" | npm run node -- --data /srv/vk-node-b --init --name node-b \\
      --coordinator ws://10.0.0.5:7400 --peers /srv/vk-node-b/peers.json --passphrase-fd 0 \\
      --policy /srv/vk-node-b/policy.json --trusted-issuers /srv/vk-node-b/issuers.json`;
}
