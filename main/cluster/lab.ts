/**
 * The embedded lab cluster: with no real cluster configured, the console can start a coordinator
 * and two headless signer nodes as child processes on 127.0.0.1, each with its own data folder
 * under <dataDir>/lab, and take part itself as the third node. It is for trying Vaultkeeper on
 * one machine, never for real funds: all three shares end up on the same computer.
 *
 * The peer nodes' vault passphrases are random, made here, and kept sealed in this console's
 * vault. A child gets its passphrase over a private channel (its stdin pipe, or in Electron the
 * utility process's parent port), never in argv or its environment, where other local users could
 * read it; it is never logged. How children start (sources through tsx, or the bundles a packaged
 * app ships) is the launcher's business (lab-launch.ts).
 *
 * Life cycle: the children stop when the console closes and when its vault locks — their
 * passphrases are secrets of this vault, so they should not stay unlocked while it is locked.
 * On a lock they stop once each node has recorded how the sessions it shared with this console
 * ended (the lock ends them as failed, the coordinator relays the reason), or after
 * LOCK_SETTLE_MS at most. After unlocking, "Start lab cluster" brings them back on the same data
 * (keysets survive).
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import { writeFileAtomically } from '../platform/atomic-file';
import { DATABASE_FILE } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import type { ClusterService } from './cluster-service';
import type { NodeCard } from './identity';
import { LAB_GUARDIANS_FILE, handLabGuardiansFile } from './lab-guardians';
import { sourceLauncher, type LabEntry, type LabLauncher, type LabProcess } from './lab-launch';

const PASSPHRASE_RECORD = { type: 'lab-node-passphrase', schemaVersion: 1 } as const;
const PEERS = ['lab-node-b', 'lab-node-c'] as const;
const START_TIMEOUT_MS = 90_000;
/** Longest a lock waits for the lab nodes to record the end of their sessions before they stop. */
export const LOCK_SETTLE_MS = 3_000;

export interface LabOptions {
  /** Lower scrypt cost for the lab nodes' vaults (tests only). */
  kdfTestCost?: boolean;
  /** File of test-only Paillier primes for the lab nodes (tests only). */
  testPrimesFile?: (node: string) => string | undefined;
  /** A packaged build (Electron's app.isPackaged): without a `launcher` for its bundles, no lab. */
  packaged?: boolean;
  /** How the children start; by default this checkout's sources through tsx. */
  launcher?: LabLauncher;
}

/**
 * Whether the lab children can start from this checkout's sources, and if not, the sentence the
 * console shows instead of the button (a packaged build has no sources; it passes a bundle launcher).
 */
export function labAvailability(options: { packaged?: boolean; root?: string } = {}): { available: boolean; reason: string | null } {
  const reason = sourceLauncher(options).unavailableReason();
  return { available: reason === null, reason };
}

export interface LabStatus {
  running: boolean;
  /** False when the lab children cannot start in this build; `unavailableReason` says why. */
  available: boolean;
  unavailableReason: string | null;
  coordinatorUrl: string | null;
  /** Process ids of the children, for the operator (and tests) to see what runs. */
  pids: number[];
}

interface Child {
  name: string;
  proc: LabProcess;
  lines: string[];
}

export class LabCluster {
  private children: Child[] = [];
  private url: string | null = null;
  private starting: Promise<LabStatus> | null = null;
  /** The stop that follows a lock, while the nodes finish recording their sessions' end. */
  private stoppingAfterLock: Promise<void> | null = null;
  private readonly exitHook = () => this.killNow();

  constructor(
    private readonly o: {
      dataDir: string;
      vault: VaultService;
      audit: AuditLog;
      cluster: ClusterService;
      /** This console's guardian registry file, or null while it has fewer than three guardians. */
      guardians?: () => string | null;
      options?: LabOptions;
      stateDir?: string;
    },
  ) {
    o.vault.onLock(() => {
      if (this.children.length === 0) return;
      this.stoppingAfterLock = this.stopAfterLock().finally(() => (this.stoppingAfterLock = null));
    });
  }

  /**
   * A lock: the lab stops serving at once, and its nodes are stopped as soon as none of them still
   * runs a session with this console — this console's side of each ended failed with the lock's
   * reason, and the coordinator relays that to them — or after LOCK_SETTLE_MS, whichever is first.
   * Stopping them at once would race the relay, and a node would record "this node stopped"
   * instead of why its session ended.
   */
  private async stopAfterLock(): Promise<void> {
    const children = this.children;
    let me: string | null = null;
    try {
      me = this.o.vault.nodeId();
    } catch {
      me = null;
    }
    this.url = null;
    if (this.o.cluster.mode === 'lab') this.o.cluster.mode = 'none';
    const deadline = Date.now() + LOCK_SETTLE_MS;
    while (me && Date.now() < deadline && this.children === children && this.sessionsRunningAtPeers(me) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (this.children === children) await this.stop();
  }

  /**
   * Sessions with this node that a running lab node still has open, read from its own session
   * table (the record the node writes when a session ends), so an acknowledgement cannot run ahead
   * of the record. A node whose table cannot be read counts as settled.
   */
  sessionsRunningAtPeers(me: string): number {
    let open = 0;
    for (const child of this.children) {
      if (!(PEERS as readonly string[]).includes(child.name) || child.proc.ended() !== null) continue;
      let db: Database.Database | null = null;
      try {
        db = new Database(join(this.o.dataDir, 'lab', child.name, DATABASE_FILE), { readonly: true, fileMustExist: true });
        const rows = db.prepare("SELECT parties FROM mpc_sessions WHERE state = 'running'").all() as Array<{ parties: string }>;
        open += rows.filter((r) => (JSON.parse(r.parties) as Array<{ nodeId: string }>).some((p) => p.nodeId === me)).length;
      } catch {
        // Not readable (yet): nothing to wait for at that node.
      } finally {
        db?.close();
      }
    }
    return open;
  }

  private availabilityValue: { available: boolean; reason: string | null } | null = null;
  private launcherValue: LabLauncher | null = null;

  private launcher(): LabLauncher {
    const packaged = this.o.options?.packaged;
    return (this.launcherValue ??= this.o.options?.launcher ?? sourceLauncher(packaged !== undefined ? { packaged } : {}));
  }

  availability(): { available: boolean; reason: string | null } {
    if (this.availabilityValue) return this.availabilityValue;
    const reason = this.launcher().unavailableReason();
    return (this.availabilityValue = { available: reason === null, reason });
  }

  status(): LabStatus {
    const { available, reason } = this.availability();
    return { running: this.children.length > 0 && this.url !== null, available, unavailableReason: reason, coordinatorUrl: this.url, pids: this.children.map((c) => c.proc.pid ?? 0).filter((p) => p > 0) };
  }

  start(): Promise<LabStatus> {
    this.o.vault.keyRing();
    const { available, reason } = this.availability();
    if (!available) fail('LAB_UNAVAILABLE', reason ?? 'The lab cluster is not available in this build.');
    if (this.o.cluster.mode === 'configured') fail('LAB_START_FAILED', 'A real cluster is configured on this console; the lab cluster is only offered when none is.');
    if (this.status().running) return Promise.resolve(this.status());
    // Nodes still stopping after a lock use the same data folders: they end first.
    this.starting ??= (this.stoppingAfterLock ?? Promise.resolve()).then(() => this.doStart()).finally(() => (this.starting = null));
    return this.starting;
  }

  private passphraseFor(name: string): string {
    const stored = this.o.vault.records.get(PASSPHRASE_RECORD.type, name);
    if (stored) {
      const text = Buffer.from(stored.plaintext).toString('utf8');
      stored.plaintext.fill(0);
      return text;
    }
    const fresh = randomBytes(32).toString('base64url');
    this.o.vault.records.put(PASSPHRASE_RECORD.type, name, PASSPHRASE_RECORD.schemaVersion, Buffer.from(fresh, 'utf8'));
    return fresh;
  }

  private spawnChild(name: string, entry: LabEntry, args: string[], passphrase?: string): Child {
    const proc = this.launcher().launch(entry, args, passphrase);
    const child: Child = { name, proc, lines: [] };
    let buffered = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      child.lines.push(...parts);
      if (child.lines.length > 50) child.lines.splice(0, child.lines.length - 50);
    });
    // Children's diagnostics are kept for the start error only; they never carry the passphrase.
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => child.lines.push(...chunk.split('\n').filter(Boolean).map((l) => `! ${l}`)));
    this.children.push(child);
    if (this.children.length === 1) process.once('exit', this.exitHook);
    return child;
  }

  private async waitForLine(child: Child, prefix: string, deadline: number): Promise<string> {
    for (;;) {
      const line = child.lines.find((l) => l.startsWith(prefix));
      if (line) return line;
      const ended = child.proc.ended();
      if (ended !== null) {
        const why = child.lines.filter((l) => l.startsWith('! ')).slice(-1)[0]?.slice(2) ?? ended;
        fail('LAB_START_FAILED', `The lab ${child.name} stopped while starting (${why.slice(0, 200)}).`);
      }
      if (Date.now() > deadline) fail('LAB_START_FAILED', `The lab ${child.name} did not become ready within ${START_TIMEOUT_MS / 1000} s.`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async doStart(): Promise<LabStatus> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const labDir = join(this.o.dataDir, 'lab');
    mkdirSync(labDir, { recursive: true, mode: 0o700 });
    try {
      const me = await this.o.cluster.identity();
      const coordinator = this.spawnChild('coordinator', 'coordinator', ['--host', '127.0.0.1', '--port', '0', '--cluster', 'lab', '--store', join(labDir, 'coordinator.sqlite3')]);
      const url = (await this.waitForLine(coordinator, 'LISTENING ', deadline)).slice('LISTENING '.length).trim();
      const nodes = PEERS.map((name) => {
        const dir = join(labDir, name);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const init = !existsSync(join(dir, 'vaultkeeper.sqlite3'));
        this.writeGuardiansFile(dir);
        return { name, dir, child: this.spawnChild(name, 'node', this.peerArgs(name, dir, url, init), this.passphraseFor(name)) };
      });
      const cards: Array<{ card: NodeCard; fingerprint: string }> = [];
      for (const n of nodes) {
        await this.waitForLine(n.child, 'NODE ', deadline);
        cards.push(JSON.parse(readFileSync(join(n.dir, 'node-card.json'), 'utf8')) as { card: NodeCard; fingerprint: string });
      }
      // This console started these nodes and read their cards from its own disk: the fingerprint
      // comparison a person makes between two machines has nothing to compare here.
      for (const c of cards) if (!this.o.cluster.node(c.card.nodeId)) this.o.cluster.enrolPeer(c.card, c.fingerprint);
      const mine = { card: me.card, fingerprint: me.fingerprint };
      for (const [i, n] of nodes.entries()) {
        const peers = [mine, ...cards.filter((_, j) => j !== i)];
        writeFileAtomically(n.dir, 'peers.json', JSON.stringify(peers), { replace: true });
      }
      for (const n of nodes) await this.waitForLine(n.child, 'READY ', deadline);
      await this.o.cluster.connect(url);
      this.o.cluster.mode = 'lab';
      this.url = url;
      this.o.audit.append({ type: 'LAB_CLUSTER_STARTED', actor: 'operator', subject: 'lab', details: { coordinatorUrl: url, nodes: cards.map((c) => c.card.nodeId), pids: this.status().pids } });
      return this.status();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * The lab nodes adopt this console's guardians at their first start (`--guardians`) and follow
   * the replacements approved here at every later start (lab-guardians.ts), so a refresh approved
   * here is checked there against the same three keys.
   */
  private writeGuardiansFile(dir: string): void {
    handLabGuardiansFile(dir, this.o.guardians?.() ?? null);
  }

  private peerArgs(name: string, dir: string, url: string, init: boolean): string[] {
    const primes = this.o.options?.testPrimesFile?.(name);
    const guardians = existsSync(join(dir, LAB_GUARDIANS_FILE)) ? ['--guardians', join(dir, LAB_GUARDIANS_FILE)] : [];
    return ['--data', dir, '--coordinator', url, '--name', name, '--peers', join(dir, 'peers.json'), ...guardians, ...(init ? ['--init'] : []), ...(this.o.options?.kdfTestCost ? ['--kdf-test-cost'] : []), ...(primes ? ['--insecure-test-primes', primes] : []), '--lab', '--accept-keygen-minutes', '1440', ...(this.o.stateDir ? ['--state-dir', join(this.o.stateDir, 'lab')] : [])];
  }

  /** The lab signer nodes by name, with their node ids and whether their process runs. */
  peers(): Array<{ name: string; nodeId: string | null; running: boolean }> {
    return PEERS.map((name) => {
      const child = this.children.find((c) => c.name === name);
      let nodeId: string | null = null;
      try {
        nodeId = (JSON.parse(readFileSync(join(this.o.dataDir, 'lab', name, 'node-card.json'), 'utf8')) as { card: NodeCard }).card.nodeId;
      } catch {
        nodeId = null;
      }
      return { name, nodeId, running: !!child && child.proc.ended() === null };
    });
  }

  /** Recovery drills: one lab signer node dies (its process is stopped); the rest keeps running. */
  async stopPeer(name: string): Promise<void> {
    const child = this.children.find((c) => c.name === name && (PEERS as readonly string[]).includes(name));
    if (!child || !this.status().running) fail('LAB_START_FAILED', `The lab node ${name} is not running.`);
    this.children = this.children.filter((c) => c !== child);
    await endChild(child);
  }

  /** Recovery drills: brings a stopped lab signer node back on its own data (same identity and shares). */
  async startPeer(name: string): Promise<void> {
    if (!(PEERS as readonly string[]).includes(name)) fail('LAB_START_FAILED', `There is no lab node ${name}.`);
    if (!this.url) fail('LAB_START_FAILED', 'The lab cluster is not running; start it first.');
    if (this.children.some((c) => c.name === name)) return;
    const dir = join(this.o.dataDir, 'lab', name);
    const child = this.spawnChild(name, 'node', this.peerArgs(name, dir, this.url, false), this.passphraseFor(name));
    await this.waitForLine(child, 'READY ', Date.now() + START_TIMEOUT_MS);
  }

  /** Stops the children: SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<LabStatus> {
    const children = this.children;
    const wasRunning = this.url !== null;
    this.children = [];
    this.url = null;
    if (this.o.cluster.mode === 'lab') {
      this.o.cluster.mode = 'none';
      this.o.cluster.stop();
    }
    process.removeListener('exit', this.exitHook);
    await Promise.all(children.map(endChild));
    if (wasRunning && this.o.vault.unlocked) {
      try {
        this.o.audit.append({ type: 'LAB_CLUSTER_STOPPED', actor: 'system', subject: 'lab', details: {} });
      } catch {
        // the audit log is closed with the console
      }
    }
    return this.status();
  }

  /** Last resort when the console process exits without a clean close. */
  private killNow(): void {
    for (const c of this.children) if (c.proc.ended() === null) c.proc.kill();
  }
}

/** SIGTERM, then SIGKILL after a grace period. */
function endChild(c: Child): Promise<void> {
  return new Promise<void>((resolve) => {
    if (c.proc.ended() !== null) return resolve();
    const timer = setTimeout(() => c.proc.kill(), 5_000);
    c.proc.onExit(() => {
      clearTimeout(timer);
      resolve();
    });
    c.proc.terminate();
  });
}
