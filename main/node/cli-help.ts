/**
 * The signer node's command line: the options its parser accepts and the help that explains each
 * of them, the environment variables and the files it reads and writes. One module for both, so a
 * test can check that every option the parser accepts is explained.
 */
import { NODE_SETUP_HELP } from '../policy/node-setup';

export const NODE_OPTIONS = {
  data: { type: 'string' },
  coordinator: { type: 'string' },
  'coordinator-cert-sha256': { type: 'string' },
  cluster: { type: 'string' },
  'air-gapped': { type: 'boolean', default: false },
  'airgap-inbox': { type: 'string' },
  'airgap-outbox': { type: 'string' },
  'export-card': { type: 'string' },
  'enrol-card': { type: 'string' },
  words: { type: 'string' },
  name: { type: 'string', default: 'signer-node' },
  init: { type: 'boolean', default: false },
  peers: { type: 'string' },
  protocols: { type: 'string' },
  'passphrase-fd': { type: 'string' },
  'passphrase-parent-port': { type: 'boolean', default: false },
  'trusted-issuers': { type: 'string' },
  guardians: { type: 'string' },
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
  // Client of a running node's control socket (DIR/control.sock): list or cancel its sessions.
  sessions: { type: 'boolean', default: false },
  cancel: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

export const NODE_USAGE = `usage: npm run node -- --data DIR (--coordinator ws(s)://HOST:PORT | --air-gapped) [--name NAME] [--init]
         [--cluster NAME] [--coordinator-cert-sha256 HEX] [--airgap-inbox DIR --airgap-outbox DIR]
         [--peers FILE] [--protocols eddsa-keygen,eddsa-sign,...] [--passphrase-fd N]
         [--trusted-issuers FILE] [--policy FILE] [--execution-authorizations FILE] [--guardians FILE]
         [--accept-keygen-minutes N] [--state-dir DIR] [--lab] [--prime-pool N]
       npm run node -- --data DIR --export-card FILE          write this node's card and exit
       npm run node -- --data DIR --enrol-card FILE --words "six words"   enrol one peer and exit
       npm run node -- --data DIR --sessions                 list the running node's sessions
       npm run node -- --data DIR --cancel SESSION           cancel one of its sessions`;

export function nodeHelp(protocols: readonly string[], maxKeygenMinutes: number): string {
  return `Vaultkeeper signer node: the console's main-process services without a window. It holds one
share of each 2-of-3 keyset in an encrypted vault and takes part in the sessions the coordinator
relays, deciding for itself what it signs.

${NODE_USAGE}

In the packaged app the same node runs without Node or the sources: vaultkeeper --signer-node
followed by these options (e.g. /opt/Vaultkeeper/vaultkeeper --signer-node --data DIR … --passphrase-fd 0).
It opens no window; the node runs as the app's utility process and its output is this terminal's.

Options
  --data DIR               Data folder of this node (created owner-only, 0700): the vault database
                           vaultkeeper.sqlite3 and node-card.json. Required.
  --coordinator URL        Address of the coordinator: wss://HOST:PORT, with --coordinator-cert-sha256
                           when HOST is not this machine; plain ws:// only to 127.0.0.1 / ::1 /
                           localhost (refused elsewhere). Without it (and without --air-gapped) the
                           node opens its vault, prints READY offline and takes part in nothing.
  --coordinator-cert-sha256 HEX
                           SHA-256 fingerprint of the coordinator's TLS certificate (64 hex digits,
                           colons allowed), read on the coordinator machine with
                           openssl x509 -noout -fingerprint -sha256 -in cert.pem. Only that
                           certificate is accepted; a mismatch stops before this node identifies itself.
  --cluster NAME           The cluster's name: the coordinator must serve exactly this cluster id
                           (its --cluster), or the node refuses it.
  --air-gapped             No coordinator: sessions cross only as file bundles (see Air gap below).
  --airgap-inbox DIR       Folder this node reads bundles from (a transfer medium), every 2 s; with
                           --air-gapped, or beside --coordinator for partners that have no network.
  --airgap-outbox DIR      Folder this node writes its reply bundles to (default: the inbox).
  --export-card FILE       Write this node's card file to FILE (0600), print its words, and exit.
  --enrol-card FILE        Enrol the peer whose card file is FILE, and exit. Needs --words.
  --words "WORDS"          The six fingerprint words the peer's operator read to you from their own
                           screen (spaces or hyphens). A card whose words differ is refused.
  --name NAME              Name shown to the other nodes and in their audit logs (default signer-node).
  --init                   Create the vault in DIR if there is none (without it a missing vault stops
                           the node, so a wrong --data cannot silently start an empty node).
  --peers FILE             JSON file of the peers whose fingerprints an operator confirmed (see Files).
                           Waited for up to 60 s at start.
  --protocols LIST         Comma-separated protocols this node takes part in (default: all):
                           ${protocols.join(', ')}
  --passphrase-fd N        Read the vault passphrase from file descriptor N (0 = stdin; one line).
                           Passphrase sources, in order: --passphrase-fd N, --passphrase-parent-port,
                           else the environment variable VAULTKEEPER_NODE_PASSPHRASE. There is no
                           default and no prompt.
  --passphrase-parent-port Read the vault passphrase from the first message on the parent port: only
                           when the console starts this node as an Electron utility process (the
                           packaged app's lab cluster), which has no stdin.
  --trusted-issuers FILE   Permit issuers this node accepts (see Setup files below).
  --guardians FILE         The three guardians this node checks approvals against (refresh, share
                           repair), from the console's Guardians screen ("Export for a signer node"):
                             { "format": "vaultkeeper.guardian-registry/2", "vaultId": "…",
                               "guardians": [ { "name", "kind": "ledger"|"software", "address": "0x…",
                                                "derivationPath", "proof": { "challenge", "signature" } } ×3 ],
                               "replacements": [ { "requestId", "subject", "expiresAt", "parameters",
                                                   "context", "approvals": [ { "address", "nonce",
                                                   "signature" } ] } … ] }
                           Public data only (a /1 file, without replacements, is still read). Each
                           guardian's enrolment proof (EIP-712, signed by its key for that vault and
                           name) is checked here; one bad entry refuses the file. A node without
                           guardians enrols the three (GUARDIANS enrolled 3). A node with guardians
                           follows the replacements the console applied since (GUARDIANS replaced <n>,
                           one GUARDIAN-REPLACED line each), only if two of ITS OWN guardians approved
                           each one and the chain ends at the file's three; the same guardians again
                           are "unchanged". Anything else, an older file naming a replaced guardian
                           included, changes nothing: the node exits (code 2) with GUARDIANS-REFUSED
                           and the reason.
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
  --sessions               Ask the node running with this --data for its running sessions, print one
                           SESSION <session id> <protocol> keyset <id> <step> <n>/<total> line each,
                           and exit. Needs no passphrase (see Progress and cancellation).
  --cancel SESSION         Cancel the session SESSION (its id, or its first 8+ hex digits as PROGRESS
                           prints them) on the node running with this --data, and exit: the session
                           ends there as failed, the other nodes are told it was cancelled by this
                           node's operator, and nothing of it is kept. Exit 0 when cancelled, 3 when
                           refused (no such session, several match, no node running).
  --help                   Print this help and exit.

Environment
  VAULTKEEPER_NODE_PASSPHRASE  The vault passphrase when --passphrase-fd is not given (tests;
                               prefer --passphrase-fd: the environment of a process is readable
                               by its owner's other processes).
  VAULTKEEPER_STATE_DIR        Default for --state-dir.
  VAULTKEEPER_MPC_ADDON        Path of the MPC addon to load instead of native/vaultkeeper_mpc.node.

Files
  DIR/vaultkeeper.sqlite3  The encrypted vault and this node's records (0600).
  DIR/control.sock         The running node's control socket (0600), for --sessions and --cancel.
  DIR/node-card.json       This node's card, written at start (and by --export-card):
                             { "format": "vaultkeeper-node-card/v1",
                               "card": { "nodeId": 32 hex, "name": "node-b",
                                         "signingPublicKey": Ed25519 (64 hex),
                                         "hpkePublicKey": X25519 (64 hex),
                                         "hpkeKeySignature": 128 hex },
                               "fingerprint": "six-bip39-words",
                               "signature": Ed25519 over the card, 128 hex }
                           The words are six words of the BIP-39 English list from SHA-256 of the
                           node's Ed25519 key; every other field is signed by that key. Give the file
                           (or the console's card QR code) to the other operators, and read the words
                           to them by voice: they enrol the card only if the words match their screen.
                           At most 4096 bytes; altered, foreign-format or oversized cards are refused.
  --peers FILE             JSON array of the peers' node-card.json contents (or of
                           { "card": …, "fingerprint": "six-words" } pairs), listing only cards whose
                           words you confirmed with their operators. Waited for up to 60 s at start.
                           This node's own card, known peers and removed peers are skipped or refused.

Air gap
  An air-gapped node (--air-gapped) has no coordinator: a requester writes a signed session request
  and its first round into a folder; the folder crosses on a medium. With --airgap-inbox DIR the
  node takes in every complete bundle there every 2 s: a request addressed to it is checked as on a
  network (requester enrolled, signature, expiry, permit and policy, key checks), joined or refused,
  and its reply bundles are written to --airgap-outbox. Status lines: AIRGAP-JOINED <session>
  <protocol> keyset <id>, AIRGAP-DONE <session> signature <hex>, AIRGAP-REFUSED <file> <code>: <why>.
  Carry the outbox back to the requester, and its next bundles back to the inbox, until DONE.

${NODE_SETUP_HELP}

Progress and cancellation
  Every long step this node takes part in (auxiliary data with its prime search, key generation,
  presignatures, refresh, signing) prints PROGRESS <session> <protocol> <step> <n>/<total> when it
  starts and every 5 s while it runs. To stop one session and keep the node running, from another
  terminal:  npm run node -- --data DIR --cancel <session>  (the running node prints
  CANCELLED <session> …). Ctrl-C (SIGINT) or SIGTERM ends every running session as failed first —
  the other nodes are told the operator stopped this node, instead of waiting for a timeout — then
  stops the node. The running node serves DIR/control.sock for this (a Unix socket, owner-only,
  inside the owner-only data folder; it can only list and cancel sessions).

Output
  NODE <node id> <fingerprint>   once the vault is open;  READY <node id>   once connected;
  READY air-gapped               when serving the air gap;  CARD <file> <fingerprint>  for --export-card;
  ENROLLED <node id> <name>      for --enrol-card.
  GUARDIANS enrolled|unchanged|replaced <n> from <file>   for --guardians, then for each replacement followed:
  GUARDIAN-REPLACED slot <n> "<old>" <address> -> "<new>" <address> (request <id>, approved by <a> and <b>).
  PRIME_POOL <level>/<target>    as the prime pool fills;  PROGRESS …   of long sessions every 5 s.
  CANCELLED <session> <protocol> keyset <id>   for each session cancelled (--cancel, Ctrl-C, SIGTERM).
  SIGINT/SIGTERM cancel what runs (the peers are told) and stop the node; SIGHUP re-reads the setup files.

Example
  printf '%s\\n' "$PASSPHRASE" | npm run node -- --data /srv/vk-node-b --export-card /media/usb/node-b.json --passphrase-fd 0
  printf '%s\\n' "$PASSPHRASE" | npm run node -- --data /srv/vk-node-b --enrol-card /media/usb/console-a.json \\
      --words "orbit zebra wagon lamp fiber tooth" --passphrase-fd 0
  printf '%s\\n' "$PASSPHRASE" | npm run node -- --data /srv/vk-node-b --init --name node-b --cluster treasury \\
      --coordinator wss://10.0.0.5:7400 --coordinator-cert-sha256 3f:a1:…:9c --passphrase-fd 0 \\
      --peers /srv/vk-node-b/peers.json --policy /srv/vk-node-b/policy.json --trusted-issuers /srv/vk-node-b/issuers.json`;
}
