/**
 * Joining a real cluster from this console: this node's card to hand out, the cluster's name and
 * how to reach it (a coordinator, pinned when it is not on this machine, or air-gapped), leaving
 * the lab, and the members' live status. Peers are enrolled through the PeerRoster.
 *
 * Once configured, the console reconnects on its own after unlocking and after a lost connection
 * (every few seconds while it is unlocked), always with the same pin and cluster name.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail, isAppFailure } from '../errors';
import type { AuditLog } from '../audit/audit-log';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { nodeCardText } from './card-file';
import { ClusterConfigStore, validClusterName, validCoordinator, type ClusterConfig } from './cluster-config';
import type { ClusterService } from './cluster-service';
import type { LabCluster } from './lab';
import { readRegularTextFile } from '../platform/safe-file';

const RECONNECT_MS = 5_000;

export interface ClusterMemberStatus {
  nodeId: string;
  name: string;
  fingerprint: string;
  isSelf: boolean;
  status: 'enrolled' | 'quarantined';
  /** Connected to the coordinator now (as it claims); null when this node is not connected or air-gapped. */
  online: boolean | null;
}

export interface ClusterSetupOptions {
  dataDir: string;
  db: Db;
  vault: VaultService;
  audit: AuditLog;
  clock: Clock;
  cluster: ClusterService;
  lab: LabCluster;
}

export type ConfigureRequest = { name: string; airgapped: true } | { name: string; airgapped: false; coordinatorUrl: string; certSha256?: string | null };

export class ClusterSetup {
  private readonly store: ClusterConfigStore;
  private connecting: Promise<void> | null = null;
  private lastErrorValue: string | null = null;

  constructor(private readonly o: ClusterSetupOptions) {
    this.store = new ClusterConfigStore(o.vault);
    o.vault.onUnlock(() => {
      try {
        if (this.config()) {
          o.cluster.mode = 'configured';
          void this.reconnect();
        }
      } catch {
        // An unreadable record is reported when the screen asks for the configuration.
      }
    });
    const timer = setInterval(() => {
      if (o.vault.unlocked && o.cluster.mode === 'configured' && !o.cluster.connected) void this.reconnect();
    }, RECONNECT_MS);
    timer.unref();
  }

  config(): ClusterConfig | null {
    this.o.vault.keyRing();
    return this.store.get();
  }

  /** Why the last connection attempt failed (null after a success). */
  get lastError(): string | null {
    return this.lastErrorValue;
  }

  /** This node's card file (the text to save or show as a QR code). */
  async card(): Promise<{ text: string; nodeId: string; name: string; fingerprint: string }> {
    const me = await this.o.cluster.identity();
    return { text: nodeCardText(me), nodeId: me.nodeId, name: me.card.name, fingerprint: me.fingerprint };
  }

  /**
   * Makes this console a member of the named cluster: leaves the lab (its two nodes are no longer
   * peers), then connects to the coordinator — the configuration is saved only once the
   * coordinator answered as the named cluster with the pinned certificate — or goes air-gapped.
   */
  async configure(request: ConfigureRequest): Promise<ClusterConfig> {
    this.o.vault.keyRing();
    const name = validClusterName(request.name);
    const transport = request.airgapped ? ({ kind: 'airgap' } as const) : { kind: 'coordinator' as const, ...validCoordinator(request.coordinatorUrl, request.certSha256) };
    await this.leaveLab();
    this.o.cluster.disconnect();
    if (transport.kind === 'coordinator') {
      try {
        await this.o.cluster.connect(transport.url, { certSha256: transport.certSha256, clusterId: name });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        fail('COORDINATOR_UNAVAILABLE', `Nothing was saved: ${why}`, { url: transport.url });
      }
    }
    const config: ClusterConfig = { name, transport, configuredAt: new Date(this.o.clock.now()).toISOString() };
    this.o.db.transaction(() => {
      this.store.set(config);
      this.o.audit.append({
        type: 'CLUSTER_CONFIGURED',
        actor: 'operator',
        subject: name,
        details: transport.kind === 'coordinator' ? { transport: 'coordinator', url: transport.url, certSha256: transport.certSha256 } : { transport: 'airgap' },
      });
    })();
    this.o.cluster.mode = 'configured';
    this.lastErrorValue = null;
    return config;
  }

  /** Connects to the configured coordinator (no-op when air-gapped or already connecting). */
  reconnect(): Promise<void> {
    const config = this.store.get();
    if (!config || config.transport.kind !== 'coordinator') return Promise.resolve();
    const { url, certSha256 } = config.transport;
    this.connecting ??= this.o.cluster
      .connect(url, { certSha256, clusterId: config.name })
      .then(() => void (this.lastErrorValue = null))
      .catch((error: unknown) => void (this.lastErrorValue = isAppFailure(error) || error instanceof Error ? error.message : 'The coordinator could not be reached.'))
      .finally(() => (this.connecting = null));
    return this.connecting;
  }

  /** The members (this node and its peers) with whether the coordinator has them connected now. */
  async members(): Promise<ClusterMemberStatus[]> {
    this.o.vault.keyRing();
    const nodes = this.o.cluster.nodes();
    let online: Set<string> | null = null;
    if (this.o.cluster.connected) {
      try {
        online = new Set(await this.o.cluster.presence(nodes.filter((n) => n.status === 'enrolled').map((n) => n.nodeId)));
      } catch {
        online = null;
      }
    }
    return nodes.map((n) => ({ nodeId: n.nodeId, name: n.name, fingerprint: n.fingerprint, isSelf: n.isSelf, status: n.status, online: online ? online.has(n.nodeId) : null }));
  }

  /**
   * Stops the lab cluster if it runs, and un-enrols its two nodes: their cards are read from this
   * console's own lab folder, so no real peer can be dropped by calling itself "lab-node-b".
   */
  private async leaveLab(): Promise<void> {
    if (this.o.lab.status().running) await this.o.lab.stop();
    const labDir = join(this.o.dataDir, 'lab');
    let names: string[] = [];
    try {
      names = readdirSync(labDir);
    } catch {
      return;
    }
    const ids: string[] = [];
    for (const name of names) {
      try {
        const text = readRegularTextFile(join(labDir, name, 'node-card.json'), { maxBytes: 16 * 1024, what: 'lab node card' });
        const id = (JSON.parse(text) as { card?: { nodeId?: unknown } }).card?.nodeId;
        if (typeof id === 'string') ids.push(id);
      } catch {
        // not a lab node folder
      }
    }
    const me = this.o.vault.nodeId();
    const gone = ids.filter((id) => id !== me && this.o.cluster.node(id));
    if (gone.length === 0) return;
    this.o.db.transaction(() => {
      for (const id of gone) this.o.db.prepare('DELETE FROM mpc_nodes WHERE node_id = ? AND is_self = 0').run(id);
      this.o.audit.append({ type: 'LAB_LEFT', actor: 'operator', subject: 'lab', details: { nodes: gone.join(',') } });
    })();
  }
}
