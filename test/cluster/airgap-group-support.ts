/**
 * Three nodes that share no network, each with its own data folder and its own folder as the
 * medium; the test carries bundles between the folders like an operator with a USB stick.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { BUNDLE_SUFFIX } from '../../main/cluster/airgap';
import type { AirgapGroupHandle } from '../../main/cluster/airgap-group';
import type { PublicResult } from '../../main/coordinator/protocol';
import { tempDir } from '../support/temp-dir';
import { enrolAll, startNode, stopNode, type TestNode } from './support';

export const AIRGAP_CLUSTER = 'vault-offline';

export interface AirgapTrio {
  nodes: TestNode[];
  ids: string[];
  /** One medium folder per node (the folder it imports from and writes to). */
  folders: string[];
  root: string;
  stop: () => Promise<void>;
}

/** Three enrolled nodes configured "air-gapped, no coordinator", never connected to anything. */
export async function startAirgapTrio(primes?: Buffer[]): Promise<AirgapTrio> {
  const media = tempDir('vk-airgap-group-');
  const names = ['console', 'node-b', 'node-c'];
  const nodes: TestNode[] = [];
  for (const [i, name] of names.entries()) nodes.push(await startNode(name, primes?.[i]));
  await enrolAll(nodes);
  for (const n of nodes) await n.services.clusterSetup.configure({ name: AIRGAP_CLUSTER, airgapped: true });
  const ids = await Promise.all(nodes.map(async (n) => (await n.services.cluster.identity()).nodeId));
  const folders = names.map((name) => join(media.path, name));
  for (const f of folders) mkdirSync(f);
  return {
    nodes,
    ids,
    folders,
    root: media.path,
    stop: async () => {
      for (const n of nodes) await stopNode(n).catch(() => undefined);
      media.cleanup();
    },
  };
}

/**
 * Copies every complete bundle of each folder to every other folder (an operator carrying the
 * stick round); `keep` decides, per file and destination, whether it is carried.
 */
export function carryAll(folders: string[], keep: (file: string, toFolder: number) => boolean = () => true): void {
  for (const [i, from] of folders.entries()) {
    for (const name of readdirSync(from)) {
      if (!name.endsWith(BUNDLE_SUFFIX) || name.startsWith('.')) continue;
      for (const [j, to] of folders.entries()) {
        if (i === j || existsSync(join(to, name)) || !keep(name, j)) continue;
        copyFileSync(join(from, name), join(to, name));
      }
    }
  }
}

export interface CarryRun {
  /** Settled outcomes by node index (what each node kept, or why it refused). */
  outcomes: Map<number, { ok: true; value: PublicResult } | { ok: false; error: unknown }>;
  joined: Map<number, AirgapGroupHandle>;
  refused: Array<{ node: number; code: string; message: string }>;
}

/**
 * Imports each node's folder and carries bundles round after round until every watched party
 * settled (or `ms` passed). `started` is the requester's handle (node index `requester`).
 */
export async function carryUntilSettled(trio: AirgapTrio, requester: number, started: AirgapGroupHandle, parties: number[], options: { keep?: (file: string, toFolder: number) => boolean; ms?: number; eachRound?: () => void | Promise<void> } = {}): Promise<CarryRun> {
  const run: CarryRun = { outcomes: new Map(), joined: new Map([[requester, started]]), refused: [] };
  const watch = (i: number, h: AirgapGroupHandle) =>
    h.result.then(
      (value) => run.outcomes.set(i, { ok: true, value }),
      (error: unknown) => run.outcomes.set(i, { ok: false, error }),
    );
  void watch(requester, started);
  const end = Date.now() + (options.ms ?? 60_000);
  while (run.outcomes.size < parties.length && Date.now() < end) {
    await options.eachRound?.();
    carryAll(trio.folders, options.keep);
    for (const i of parties) {
      const report = await trio.nodes[i]!.services.cluster.airgapImport(trio.folders[i]!);
      for (const r of report.refused) run.refused.push({ node: i, code: r.code, message: r.message });
      for (const h of report.joinedGroup) {
        if (!run.joined.has(i)) {
          run.joined.set(i, h);
          void watch(i, h);
        }
      }
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  return run;
}

/** Counts every socket connect attempted in this process while `fn` runs. */
export async function withoutSockets<T>(fn: () => Promise<T>): Promise<{ value: T; connects: unknown[] }> {
  const connects: unknown[] = [];
  const original = Socket.prototype.connect;
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    connects.push(args[0]);
    return (original as (...a: unknown[]) => Socket).apply(this, args);
  } as typeof Socket.prototype.connect;
  try {
    return { value: await fn(), connects };
  } finally {
    Socket.prototype.connect = original;
  }
}
