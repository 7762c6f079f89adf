/**
 * Headless signer node: the same main-process services as the console, without a window.
 *
 *   npm run node -- --data DIR --coordinator ws://127.0.0.1:PORT [--name NAME] [--init]
 *        [--peers FILE] [--protocols eddsa-keygen,eddsa-sign,...] [--passphrase-fd N]
 *        [--prime-pool N]
 *   npm run node -- --help   explains every option, environment variable and file (cli-help.ts).
 *
 * The vault passphrase is read from a file descriptor (--passphrase-fd, e.g. 0 for stdin) or,
 * for tests, from VAULTKEEPER_NODE_PASSPHRASE. There is no default: without one the node exits.
 * The node writes its public card to DIR/node-card.json (card-file.ts); --peers names a JSON file
 * of the peers' cards whose words an operator confirmed, read (and waited for) at start;
 * --export-card / --enrol-card FILE --words do one membership step and exit (cluster-commands.ts).
 * The setup files (--trusted-issuers, --policy, --execution-authorizations) are read at start and
 * again on SIGHUP, so an operator adds a keyset's policy without restarting the node. --guardians
 * FILE enrols the console's three guardians at first setup (guardians/registry-file.ts): without
 * them this node refuses every guarded cluster operation (refresh, repair). Later, the same option
 * follows the replacements the console's newer file carries, each checked here (registry-adoption.ts).
 * Status lines on stdout: NODE, READY, PRIME_POOL level/target (--prime-pool N keeps N entries of
 * pregenerated safe primes, searched in the background while idle) and PROGRESS of long sessions
 * when they start and every 5 s. The running node serves DIR/control.sock (control-socket.ts):
 * `--data DIR --sessions` lists its sessions and `--data DIR --cancel ID` ends one as failed, the
 * peers told why; SIGINT/SIGTERM end every running session that way, then stop the node.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY } from '../cluster/cluster-service';
import { MAX_KEYGEN_WINDOW_MINUTES } from '../cluster/session-limits';
import { MPC_PROTOCOLS, type ClusterProtocol } from '../coordinator/protocol';
import { isAppFailure } from '../errors';
import { MAX_REGISTRY_FILE_BYTES } from '../guardians/registry-file';
import { readBoundedDescriptor, readRegularTextFile } from '../platform/safe-file';
import { applyNodeSetupFiles } from '../policy/node-setup';
import { createServices } from '../services';
import { nodeCardText } from '../cluster/card-file';
import { NODE_OPTIONS, NODE_USAGE, nodeHelp } from './cli-help';
import { chosenTransport, enrolCardFile, enrolPeersFile, exportCard, serveAirgap } from './cluster-commands';
import { passphraseFromParentPort, type ParentPortLike } from './parent-port-passphrase';
import { ControlSocketError, sendControl, serveControl } from './control-socket';

function parseOptions() {
  try {
    return parseArgs({ options: NODE_OPTIONS }).values;
  } catch (error) {
    process.stderr.write(`vaultkeeper node: ${error instanceof Error ? error.message : String(error)}\n${NODE_USAGE}\n(npm run node -- --help explains every option)\n`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(`${nodeHelp(MPC_PROTOCOLS, MAX_KEYGEN_WINDOW_MINUTES)}\n`);
  process.exit(0);
}
if (values['insecure-test-primes'] || values['kdf-test-cost']) {
  process.stderr.write('vaultkeeper node: WARNING: test-only options in use (known Paillier primes or a cheap KDF); never use this node for real funds.\n');
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const die = (line: string): never => {
  process.stderr.write(`vaultkeeper node: ${line}\n`);
  process.exit(2);
};

/** Inputs are small; the bounds keep a wrong path (a device, a FIFO, a huge file) from hanging the node. */
const MAX_PASSPHRASE_BYTES = 4096;
const MAX_PEERS_FILE_BYTES = 1024 * 1024;
const MAX_PRIMES_FILE_BYTES = 1024 * 1024;

function readInput<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    return die(isAppFailure(error) ? `${error.code}: ${error.message}` : 'cannot read an input file.');
  }
}

async function readPassphrase(): Promise<string> {
  const fd = values['passphrase-fd'];
  if (fd !== undefined && !/^\d{1,4}$/.test(fd)) die(`--passphrase-fd must be a file descriptor number, not "${fd}".`);
  if (fd !== undefined && values['passphrase-parent-port']) die('--passphrase-fd and --passphrase-parent-port are two sources; give one.');
  let text = process.env.VAULTKEEPER_NODE_PASSPHRASE;
  if (fd !== undefined) {
    const bytes = readInput(() => readBoundedDescriptor(Number(fd), MAX_PASSPHRASE_BYTES, 'passphrase'));
    text = bytes.toString('utf8');
    bytes.fill(0);
  } else if (values['passphrase-parent-port']) {
    // Electron's utility process exposes process.parentPort; plain Node has none and is refused.
    const port = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
    text = await passphraseFromParentPort(port).catch((error: unknown) => die(isAppFailure(error) ? `${error.code}: ${error.message}` : 'cannot read the passphrase from the parent port.'));
  }
  if (!text || !text.trim()) die('no vault passphrase: pass --passphrase-fd N (e.g. 0 for stdin) or set VAULTKEEPER_NODE_PASSPHRASE.');
  return text!.replace(/\r?\n$/, '');
}

/** --sessions / --cancel: one command to the node already running with this --data, then exit. */
async function controlCommand(dataDir: string): Promise<never> {
  let answer: string[];
  try {
    answer = await sendControl(dataDir, values.cancel !== undefined ? `cancel ${values.cancel}` : 'sessions');
  } catch (error) {
    process.stderr.write(`vaultkeeper node: ${error instanceof Error ? error.message : 'the running node did not answer'}\n`);
    return process.exit(3);
  }
  for (const line of answer) say(line);
  return process.exit(answer.some((l) => l.startsWith('REFUSED ')) ? 3 : 0);
}

async function main(): Promise<void> {
  if (!values.data) die('--data DIR is required.');
  if (values.sessions && values.cancel !== undefined) die('--sessions and --cancel are separate commands: give one.');
  if (values.sessions || values.cancel !== undefined) return controlCommand(values.data!);
  const transport = readInput(() => chosenTransport(values));
  if (values['airgap-outbox'] && !values['airgap-inbox']) die('--airgap-outbox needs --airgap-inbox.');
  if (values.words && !values['enrol-card']) die('--words confirms the card given with --enrol-card.');
  const dataDir = values.data!;
  const protocols = values.protocols ? (values.protocols.split(',') as ClusterProtocol[]) : DEFAULT_POLICY.protocols;
  for (const p of protocols) if (!(MPC_PROTOCOLS as readonly string[]).includes(p)) die(`unknown protocol ${p} in --protocols.`);
  const primesFile = values['insecure-test-primes'];
  const primes = primesFile ? Buffer.from(readInput(() => readRegularTextFile(primesFile, { maxBytes: MAX_PRIMES_FILE_BYTES, what: 'primes file' })).trim(), 'hex') : undefined;
  const services = createServices({
    dataDir,
    idleCheckIntervalMs: 0,
    idleTimeoutSeconds: 365 * 24 * 3600,
    ...(values['kdf-test-cost'] ? { kdfCost: { N: 2 ** 14, r: 8, p: 1 } } : {}),
    cluster: { name: values.name!, policy: { protocols }, ...(primes ? { primes: () => primes } : {}), ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}) },
  });
  if (values.lab) services.cluster.mode = 'lab';
  else if (transport.kind !== 'none') services.cluster.mode = 'configured';
  const keygenMinutes = values['accept-keygen-minutes'] !== undefined ? Number(values['accept-keygen-minutes']) : 0;
  if (values['accept-keygen-minutes'] !== undefined && !(keygenMinutes > 0 && keygenMinutes <= MAX_KEYGEN_WINDOW_MINUTES)) die(`--accept-keygen-minutes takes 1 to ${MAX_KEYGEN_WINDOW_MINUTES}.`);
  let control: { close: () => void } | null = null;
  const cancelled = (sessionId: string, protocol: string, keysetId: string) => say(`CANCELLED ${sessionId} ${protocol} keyset ${keysetId}`);
  const shutdown = async (code: number, signal?: string) => {
    // Each running session ends failed here, and the peers hear why before the connection closes.
    if (signal && services.vault.unlocked) {
      const running = services.cluster.runningSessions();
      const reason = `The operator of node ${values.name} stopped it (${signal}) while the session ran; the session was cancelled.`;
      const ended = new Set(services.cluster.abortSessions(() => true, 'CANCELLED', reason));
      for (const r of running) if (ended.has(r.sessionId)) cancelled(r.sessionId, r.protocol, r.keysetId);
    }
    control?.close();
    await services.close().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));

  const passphrase = await readPassphrase();
  try {
    if (services.vault.status().state === 'uninitialized') {
      if (!values.init) die(`no vault in ${dataDir}; pass --init to create one.`);
      await services.vault.create(passphrase, passphrase);
    } else {
      await services.vault.unlock(passphrase);
    }
  } catch (error) {
    die(error instanceof Error ? error.message : 'cannot open the vault');
  }
  if (values.guardians) {
    try {
      const text = readRegularTextFile(values.guardians, { maxBytes: MAX_REGISTRY_FILE_BYTES, what: 'guardian registry file' });
      const adopted = services.guardians.adoptRegistryFile(text, values.guardians);
      say(`GUARDIANS ${adopted.outcome} ${adopted.outcome === 'replaced' ? adopted.replaced.length : adopted.addresses.length} from ${values.guardians}`);
      for (const r of adopted.replaced) {
        say(`GUARDIAN-REPLACED slot ${r.slot} "${r.previous.name}" ${r.previous.address} -> "${r.next.name}" ${r.next.address} (request ${r.requestId.slice(0, 8)}, approved by ${r.approvers.join(' and ')})`);
      }
    } catch (error) {
      const why = isAppFailure(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : 'the guardian registry file could not be read';
      die(`GUARDIANS-REFUSED ${why}`);
    }
  }
  const setup = { trustedIssuers: values['trusted-issuers'], policy: values.policy, executionAuthorizations: values['execution-authorizations'] };
  const applySetup = () => applyNodeSetupFiles(setup, services, services.guardians.registry().guardians.length > 0);
  try {
    const applied = applySetup();
    if (applied.length > 0) say(`SETUP ${applied.join(', ')}`);
  } catch (error) {
    die(error instanceof Error ? error.message : 'the setup files could not be applied');
  }
  // kill -HUP: re-read the setup files. A bad file changes nothing; the node keeps what it had.
  process.on('SIGHUP', () => {
    try {
      const applied = applySetup();
      say(`SETUP-RELOADED ${applied.length > 0 ? applied.join(', ') : 'no setup files given'}`);
    } catch (error) {
      const why = isAppFailure(error) ? `${error.code}: ${error.message}` : 'the setup files could not be applied';
      process.stderr.write(`vaultkeeper node: SETUP-RELOAD-REFUSED ${why} Nothing was changed; fix the file and send SIGHUP again.\n`);
    }
  });
  const me = await services.cluster.identity();
  if (values['prime-pool'] !== undefined) {
    const target = Number(values['prime-pool']);
    if (!Number.isInteger(target) || target < 0 || target > 8) die('--prime-pool takes 0 to 8.');
    services.cluster.primePool.target = target;
    // Status lines for the operator: the level after each entry, until the pool is full.
    void (async () => {
      say(`PRIME_POOL ${services.cluster.primePoolStatus().level}/${target}`);
      while (services.vault.unlocked && services.cluster.primePoolStatus().level < target) {
        const added = await services.cluster.fillPrimePool().catch(() => 0);
        say(`PRIME_POOL ${services.cluster.primePoolStatus().level}/${target}`);
        if (added === 0) await new Promise((r) => setTimeout(r, 5_000).unref());
      }
    })();
  }
  // Progress of long sessions (prime search, aux data, key generation, presign, refresh): when
  // they start, then every 5 s while they run. The id printed is enough for --cancel.
  const lastShown = new Map<string, number>();
  setInterval(() => {
    if (!services.vault.unlocked) return;
    const now = Date.now();
    const running = services.cluster.runningSessions();
    for (const r of running) {
      if (now - (lastShown.get(r.sessionId) ?? 0) < 5_000) continue;
      lastShown.set(r.sessionId, now);
      say(`PROGRESS ${r.sessionId.slice(0, 16)} ${r.protocol} ${r.label} ${r.step}/${r.total}`);
    }
    for (const id of lastShown.keys()) if (!running.some((r) => r.sessionId === id)) lastShown.delete(id);
  }, 1_000).unref();
  if (keygenMinutes > 0) services.cluster.openKeygenWindow(keygenMinutes, 'operator');
  writeFileSync(join(dataDir, 'node-card.json'), nodeCardText(me), { mode: 0o600 });
  say(`NODE ${me.nodeId} ${me.fingerprint}`);
  // One-shot membership commands: do the one thing, then stop.
  if (values['export-card']) {
    const words = await exportCard(services, values['export-card']);
    say(`CARD ${values['export-card']} ${words}`);
    return shutdown(0);
  }
  if (values['enrol-card']) {
    try {
      const peer = await enrolCardFile(services, values['enrol-card'], values.words);
      say(`ENROLLED ${peer.nodeId} ${peer.name}`);
      return shutdown(0);
    } catch (error) {
      process.stderr.write(`vaultkeeper node: ${isAppFailure(error) ? `${error.code}: ${error.message}` : 'the card could not be enrolled.'}\n`);
      return shutdown(3);
    }
  }

  // The control socket: --sessions and --cancel from another terminal of the same account.
  try {
    control = await serveControl(
      dataDir,
      {
        running: () => (services.vault.unlocked ? services.cluster.runningSessions() : []),
        cancel: (sessionId, reason) => services.cluster.abortSessions((s) => s.sessionId === sessionId, 'CANCELLED', reason).length > 0,
      },
      `The operator of node ${values.name} cancelled the session from its command line.`,
      (answer) => say(answer),
    );
  } catch (error) {
    die(error instanceof ControlSocketError ? `${error.code}: ${error.message}` : 'the control socket could not be opened.');
  }
  if (values.peers) {
    const deadline = Date.now() + 60_000;
    while (!existsSync(values.peers)) {
      if (Date.now() > deadline) die(`peers file ${values.peers} did not appear within 60 s.`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const peersText = readInput(() => readRegularTextFile(values.peers!, { maxBytes: MAX_PEERS_FILE_BYTES, what: 'peers file' }));
    readInput(() => enrolPeersFile(services, peersText, me.nodeId));
  }
  if (values['airgap-inbox']) {
    serveAirgap(services, values['airgap-inbox'], values['airgap-outbox'] ?? values['airgap-inbox'], say);
  }
  if (transport.kind !== 'coordinator') {
    say(transport.kind === 'airgap' ? 'READY air-gapped' : 'READY offline');
    return;
  }
  // Reconnect with a bounded back-off; sessions lost with a connection end as transient failures.
  for (let attempt = 0; ; attempt += 1) {
    try {
      await services.cluster.connect(transport.url, { certSha256: transport.certSha256, clusterId: transport.clusterId });
      say(`READY ${me.nodeId}`);
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (!services.cluster.connected) {
            clearInterval(check);
            resolve();
          }
        }, 500);
      });
      attempt = 0;
    } catch (error) {
      process.stderr.write(`vaultkeeper node: ${error instanceof Error ? error.message : 'coordinator unreachable'}\n`);
    }
    await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
  }
}

void main();
