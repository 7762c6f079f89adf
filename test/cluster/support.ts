/** A coordinator and signer nodes on loopback, in this process, for the cluster tests. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator, type CoordinatorOptions } from '../../main/coordinator/server';
import { createServices, type Services } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { AllowlistAuthorizer, type TestPermit } from '../support/authorizer';
import type { SignAuthorizer } from '../../main/cluster/sign-authorization';
import type { MpcSigner } from '../../main/mpc/index';
import type { Clock } from '../../main/platform/clock';
import type { SessionInfo, SignedSessionRequest } from '../../main/coordinator/protocol';
import { sessionInfoOf, signSessionRequest } from '../../main/cluster/session-request';

const PRIMES = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'fixtures', 'paillier-primes.test-only.json');

/** Test-only Paillier primes, one blob per node (production nodes generate their own). */
export function testPrimes(): Buffer[] {
  return (JSON.parse(readFileSync(PRIMES, 'utf8')) as string[]).map((h) => Buffer.from(h, 'hex'));
}

export interface TestNode {
  name: string;
  services: Services;
  dir: { path: string; cleanup: () => void };
  /** Folder of the rollback counter's mirror: outside the data folder, kept across restarts. */
  stateDir: { path: string; cleanup: () => void };
  /** The node's test authorizer (key checks and the test permits it was told to allow); null when it runs the real PermitAuthorizer. */
  authorizer: SignAuthorizer | null;
}

export interface StartNodeOptions {
  /** Opens this node's key-generation window for peers' invites (default true: most tests make keysets). */
  acceptKeygen?: boolean;
  stateDir?: { path: string; cleanup: () => void };
  signer?: MpcSigner;
  limits?: NonNullable<Parameters<typeof createServices>[0]['cluster']>['limits'];
  /** The test AllowlistAuthorizer by default; 'permits' for the node's real PermitAuthorizer (set up like a headless node). */
  authorizer?: SignAuthorizer | 'permits';
  clock?: Clock;
}

/** A node restarted on the same data folder is the same machine: it keeps its state folder. */
const stateDirs = new Map<string, { path: string; cleanup: () => void }>();

/** A signer node in this process. */
export async function startNode(name: string, primes?: Buffer, dir = tempDir(`vk-node-${name}-`), options: StartNodeOptions = {}): Promise<TestNode> {
  const stateDir = options.stateDir ?? stateDirs.get(dir.path) ?? tempDir(`vk-state-${name}-`);
  stateDirs.set(dir.path, stateDir);
  const chosen = options.authorizer ?? new AllowlistAuthorizer();
  const authorizer = chosen === 'permits' ? null : chosen;
  const services = createServices({
    dataDir: dir.path,
    kdfCost: TEST_KDF_COST,
    idleCheckIntervalMs: 0,
    idleTimeoutSeconds: 3600,
    ...(options.clock ? { clock: options.clock } : {}),
    cluster: { name, stateDir: stateDir.path, ...(authorizer ? { authorizer: () => authorizer } : {}), ...(primes ? { primes: () => primes } : {}), ...(options.signer ? { signer: options.signer } : {}), ...(options.limits ? { limits: options.limits } : {}) },
  });
  if (services.vault.status().state === 'uninitialized') await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
  else await services.vault.unlock(GOOD_PASSPHRASE);
  await services.cluster.identity();
  if (options.acceptKeygen !== false) services.cluster.openKeygenWindow(60);
  return { name, services, dir, stateDir, authorizer };
}

/** Every node enrols every other, confirming the fingerprint the other shows. */
export async function enrolAll(nodes: TestNode[]): Promise<void> {
  const cards = await Promise.all(nodes.map(async (n) => (await n.services.cluster.identity()).card));
  const prints = await Promise.all(nodes.map(async (n) => (await n.services.cluster.identity()).fingerprint));
  for (const n of nodes) {
    for (const [i, card] of cards.entries()) {
      if (card.nodeId !== (await n.services.cluster.identity()).nodeId) n.services.cluster.enrolPeer(card, prints[i]!);
    }
  }
}

export async function startCoordinator(options: Partial<CoordinatorOptions> = {}): Promise<Coordinator> {
  const c = new Coordinator({ storeFile: ':memory:', clusterId: 'test', ...options });
  await c.listen();
  return c;
}

/** A coordinator on loopback and three enrolled, connected nodes. */
export interface TestTrio {
  coordinator: Coordinator;
  nodes: TestNode[];
  stop: () => Promise<void>;
}

/**
 * The usual cluster of a test file: a coordinator and three nodes (console, node-b, node-c),
 * enrolled with each other and connected; each holds its test-only Paillier primes, so ECDSA
 * key generation does not wait on a prime search. `stop` ends the nodes (data removed) and the
 * coordinator, also for nodes the test replaced in `nodes`.
 */
export async function startPrimedTrio(): Promise<TestTrio> {
  const coordinator = await startCoordinator();
  const primes = testPrimes();
  const nodes = [await startNode('console', primes[0]), await startNode('node-b', primes[1]), await startNode('node-c', primes[2])];
  await enrolAll(nodes);
  for (const n of nodes) await n.services.cluster.connect(coordinator.url);
  return {
    coordinator,
    nodes,
    stop: async () => {
      for (const n of nodes) await stopNode(n).catch(() => undefined);
      await coordinator.close();
    },
  };
}

export async function stopNode(node: TestNode, removeData = true): Promise<void> {
  await node.services.close();
  if (removeData) {
    node.dir.cleanup();
    node.stateDir.cleanup();
  }
}

/** Waits until `check` holds, polling; gives up after `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Puts a test permit on the allowlist of every node given (each node decides for itself). */
export function allowEverywhere(nodes: TestNode[], permit: TestPermit): TestPermit {
  for (const n of nodes) if (n.authorizer instanceof AllowlistAuthorizer) n.authorizer.allow(permit);
  return permit;
}

/** A keygen session description among `ids` (party index = position), requested by ids[1] unless overridden. */
export function sessionDescription(ids: readonly string[], over: Partial<SessionInfo> = {}): SessionInfo {
  return {
    sessionId: randomBytes(32).toString('hex'),
    protocol: 'eddsa-keygen',
    clusterId: 'test',
    keysetId: `ks-${randomBytes(8).toString('hex')}`,
    parties: ids.map((nodeId, partyIndex) => ({ nodeId, partyIndex })),
    threshold: 2,
    requester: ids[1]!,
    deadlineAt: Date.now() + 60_000,
    ...over,
  };
}

/** The invite a relay would forward for `info`, with the request genuinely signed by `requester`. */
export async function signedInvite(requester: TestNode, info: SessionInfo): Promise<{ t: 'invite'; session: SessionInfo; request: SignedSessionRequest }> {
  const { requester: _requester, repair: _repair, ...body } = info;
  void _requester;
  void _repair;
  const request = signSessionRequest(await requester.services.cluster.identity(), { ...body, permitId: null });
  return { t: 'invite', session: sessionInfoOf(request.body), request };
}
