/**
 * Composition root for the main-process services. Plain Node: the Electron app, the headless
 * host, the signer-node CLI and the tests all build their services here.
 */
import { AuditLog } from './audit/audit-log';
import { createBackupDomain, type BackupDomain } from './backup';
import { createCeremonyDomain, type CeremonyDomain } from './ceremony';
import { createDrillsDomain, type DrillsDomain } from './drills';
import { ClusterService, type ClusterServiceOptions } from './cluster/cluster-service';
import { createExitDomain } from './exit';
import type { EmergencyExit } from './exit/emergency-exit';
import { LabCluster, type LabOptions } from './cluster/lab';
import { ClusterSetup } from './cluster/cluster-setup';
import type { SignAuthorizer } from './cluster/sign-authorization';
import { GuardianService } from './guardians/guardian-service';
import { createHandlers } from './ipc/handlers';
import { IpcRouter } from './ipc/router';
import { JobService } from './jobs/job-service';
import { LedgerDevice, nodeHidTransport, type TransportFactory } from './ledger/ledger-device';
import { systemClock, type Clock } from './platform/clock';
import type { PdfPrinter } from './platform/pdf-printer';
import { openDatabase, type Db } from './store/database';
import { VaultService } from './vault/vault-service';
import { RefreshService } from './refresh/refresh-service';
import { RepairService } from './repair/repair-service';
import { createSigningAuthorization } from './permits/signing-authorization';
import { GuardianOrOperatorRevoker } from './policy/revoker';
import type { PermitService } from './permits/permit-service';
import type { PolicyService } from './policy/policy-service';
import type { PermitQueue } from './permits/queue/permit-queue';
import { QrTransfers } from './qr/qr-transfers';

export interface ServiceOptions {
  dataDir: string;
  clock?: Clock;
  idleTimeoutSeconds?: number;
  kdfCost?: { N: number; r: number; p: number };
  /** How often the idle lock is checked; 0 disables the timer (tests drive it by hand). */
  idleCheckIntervalMs?: number;
  /** Opens a Ledger transport; defaults to USB HID. Tests and the e2e host inject the emulator. */
  ledgerTransport?: TransportFactory;
  /** scrypt cost of guardian key files the console creates; tests lower it. */
  keyFileScryptN?: number;
  /**
   * Signer-node settings: display name, participation policy, pregenerated primes, the rollback
   * mirror's folder, session bounds, and the authorizer that decides at this node what it
   * co-signs (tests pass their own).
   */
  cluster?: Pick<ClusterServiceOptions, 'name' | 'policy' | 'primes' | 'signer' | 'stateDir' | 'limits'> & { authorizer?: (deps: AuthorizerDeps) => SignAuthorizer };
  /** Renders the ceremony certificate to PDF (Electron's printToPDF, or a local headless Chromium); none: Print only. */
  pdfPrinter?: PdfPrinter | null;
  /** Embedded lab cluster settings (tests lower the child nodes' scrypt cost). */
  lab?: LabOptions;
  /** How often due key checks are looked for (default hourly; 0 turns the timer off). */
  keyCheckTickMs?: number;
}

export interface Services {
  dataDir: string;
  clock: Clock;
  db: Db;
  audit: AuditLog;
  vault: VaultService;
  guardians: GuardianService;
  /** SigningPermits: `permits.authorizer` is the SignAuthorizer the cluster consults. */
  permits: PermitService;
  policy: PolicyService;
  /** Permits imported for review, approval, signing through the cluster and export. */
  permitQueue: PermitQueue;
  cluster: ClusterService;
  lab: LabCluster;
  /** The real cluster this console joined: its name, coordinator (pinned) or air gap. */
  clusterSetup: ClusterSetup;
  /** Long operations owned by main (key generation, presignatures). */
  jobs: JobService;
  ceremony: CeremonyDomain;
  backup: BackupDomain;
  /** Animated QR (BC-UR) for payloads that cross the air gap, and EIP-4527 requests. */
  qr: QrTransfers;
  /** Key checks, recovery drills and their schedule. */
  drills: DrillsDomain;
  /** Share refresh of keysets: guardian request, refresh through the cluster, interrupted refresh, schedule. */
  refresh: RefreshService;
  /** Replacing a lost node's EdDSA share: rebuilt by the other nodes under a guardian quorum. */
  repair: RepairService;
  /** Emergency exit: the keyset's full key, rebuilt from two backups, as an encrypted keystore. */
  exit: EmergencyExit;
  router: IpcRouter;
  close(): Promise<void>;
}

/** What an authorizer is built from: this node's own store, audit log, clock and vault. */
export interface AuthorizerDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  vault: VaultService;
}

export const DEFAULT_IDLE_TIMEOUT_SECONDS = 5 * 60;

export function createServices(options: ServiceOptions): Services {
  const clock = options.clock ?? systemClock;
  const db = openDatabase({ dataDir: options.dataDir });
  const audit = new AuditLog(db, clock);
  const vault = new VaultService({
    db,
    audit,
    clock,
    dataDir: options.dataDir,
    idleTimeoutSeconds: options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
    kdfCost: options.kdfCost,
  });
  // One device queue for everything that talks to the Ledger (guardian approvals, ceremonies).
  const ledger = new LedgerDevice(options.ledgerTransport ?? nodeHidTransport);
  const guardians = new GuardianService({ db, audit, clock, vault, dataDir: options.dataDir, ledger, keyFileScryptN: options.keyFileScryptN });
  vault.useGuard(guardians);
  const { authorizer: permitAuthorizer, permits, policy, queue: createQueue } = createSigningAuthorization({ db, audit, clock, guard: guardians, revokers: new GuardianOrOperatorRevoker({ vault, guardians, now: () => clock.now() }) });
  // Every node verifies permits itself; tests may put their own authorizer in its place.
  const { authorizer: makeAuthorizer, ...clusterOptions } = options.cluster ?? {};
  const authorizer = makeAuthorizer ? makeAuthorizer({ db, audit, clock, vault }) : permitAuthorizer;
  // Before the cluster: on lock, jobs end their sessions as failed (peers told) before the cluster stops.
  const jobs = new JobService({ clock, audit, vault, db });
  // Refresh approvals are checked against this vault's own guardians.
  const guardianAddresses = () => (vault.unlocked ? guardians.registry().guardians.map((g) => g.address) : null);
  const cluster = new ClusterService({ db, audit, clock, vault, authorizer, guardianAddresses, ...clusterOptions });
  const permitQueue = createQueue(cluster);
  // A permit a previous run left mid-signature is settled before anything else can touch it.
  permitQueue.recover();
  // The lab nodes know this console's guardians, so guarded operations (refresh) run on the lab too.
  const labGuardians = () => (guardians.registry().complete ? guardians.registryFileJson() : null);
  const lab = new LabCluster({ dataDir: options.dataDir, vault, audit, cluster, guardians: labGuardians, ...(options.lab ? { options: options.lab } : {}), ...(options.cluster?.stateDir ? { stateDir: options.cluster.stateDir } : {}) });
  const clusterSetup = new ClusterSetup({ dataDir: options.dataDir, db, vault, audit, clock, cluster, lab });
  const ceremony = createCeremonyDomain({ db, audit, clock, vault, guardians, ledger, dataDir: options.dataDir, pdfPrinter: options.pdfPrinter ?? null });
  // A seed or share in memory does not outlive the unlocked vault.
  vault.onLock((reason) => {
    try {
      ceremony.wipeAll(`vault locked (${reason})`);
    } catch (error) {
      process.stderr.write(`[vaultkeeper] ceremony wipe on lock: ${error instanceof Error ? error.name : typeof error}\n`);
    }
  });
  // Guardian parts of share backups cost what the vault's own passphrase costs.
  const backup = createBackupDomain({ db, audit, clock, vault, guardians, cluster, ...(options.cluster?.signer ? { signer: options.cluster.signer } : {}), ...(options.kdfCost ? { partScrypt: options.kdfCost } : {}) });
  // A restored share the previous run left unproven (stopped mid-proof) does not stay.
  backup.restore.recoverUnproven();
  // Exit keystores cost what the vault's passphrase costs when a cost is set (tests); else ethers' default.
  const exit = createExitDomain({ db, audit, clock, vault, guardians, cluster, backup, ...(options.cluster?.signer ? { signer: options.cluster.signer } : {}), ...(options.kdfCost ? { keystoreScrypt: options.kdfCost } : {}) });
  const refresh = new RefreshService({ db, audit, clock, guardians, cluster, backups: backup.backups });
  const repair = new RepairService({ audit, guardians, cluster });
  const qr = new QrTransfers({
    audit,
    now: () => clock.now(),
    requireUnlocked: () => void vault.keyRing(),
    queue: permitQueue,
    guardians,
    keyset: (id) => cluster.keyset(id),
    // A session request read by QR waits for the operator's review like one read from a folder.
    airgapImport: (folder) => cluster.airgapImport(folder, folder, { approve: new Set() }),
    airgapSessions: () => cluster.airgapSessions(),
  });
  // Due share and backup checks run by themselves (hourly look).
  const drills = createDrillsDomain({ db, audit, clock, vault, cluster, lab, guardians, backup, refresh, ...(options.keyCheckTickMs !== undefined ? { scheduleTickMs: options.keyCheckTickMs } : {}) });
  const services = { dataDir: options.dataDir, clock, db, audit, vault, guardians, permits, policy, permitQueue, cluster, lab, clusterSetup, jobs, ceremony, backup, qr, drills, refresh, exit, repair } as Services;
  // No request postpones the idle lock by itself (screens poll); only the renderer's
  // vault.heartbeat, sent on keyboard and pointer input, does.
  services.router = new IpcRouter(createHandlers(services), {
    onInternalError: (channel, error) => {
      // The error's class only: messages from libraries can quote request data.
      process.stderr.write(`[vaultkeeper] internal error on ${channel}: ${error instanceof Error ? error.name : typeof error}\n`);
    },
  });
  const interval = options.idleCheckIntervalMs ?? 5_000;
  const timer = interval > 0 ? setInterval(() => void vault.lockIfIdle().catch(() => undefined), interval) : null;
  timer?.unref();
  services.close = async () => {
    if (timer) clearInterval(timer);
    drills.schedule.stop();
    // Lab children first: they must not outlive the console.
    await lab.stop().catch(() => undefined);
    cluster.stop();
    // The cancel lines of sessions just ended reach the coordinator before the process may exit.
    await cluster.linkClosed();
    await vault.lock('shutdown').catch(() => undefined);
    db.close();
  };
  return services;
}
