/** Guardians with backup passphrases, and a node rebuilt from its backup, for the share-backup tests. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { BackupFile } from '../../main/backup/backup-format';
import { AppFailure } from '../../main/errors';
import { createServices, type Services } from '../../main/services';
import { AllowlistAuthorizer } from '../support/authorizer';
import { softwareKey } from '../support/guardians';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';
import type { TestNode } from './support';

export const rejectsWith = async (p: Promise<unknown> | (() => unknown), code: string): Promise<AppFailure> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof AppFailure, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
};

export interface Guardian {
  name: string;
  keyFile: string;
  keyPassphrase: string;
  /** The passphrase protecting this guardian's part of the backup key. */
  backupPassphrase: string;
}

/** Three guardians with software key files (the emulated Ledger is covered by the guardian tests). */
export async function makeGuardians(): Promise<Guardian[]> {
  const out: Guardian[] = [];
  for (const [name, backupPassphrase] of [['Lena', 'lena amber glacier violin 58'], ['Sam', 'sam river quartz lantern 41'], ['Sofia', 'sofia meadow cobalt harbor 17']] as const) {
    const keyPassphrase = `${name.toLowerCase()} signing key passphrase 2026`;
    const { keyFile } = await softwareKey(keyPassphrase);
    out.push({ name, keyFile, keyPassphrase, backupPassphrase });
  }
  return out;
}

/** Enrols the guardians; returns their ids on this vault by name. */
export async function enrolGuardians(services: Services, guardians: Guardian[]): Promise<Map<string, string>> {
  for (const g of guardians) await services.guardians.enrol({ method: 'software', name: g.name, keyFile: g.keyFile, passphrase: g.keyPassphrase });
  return new Map(services.guardians.registry().guardians.map((v) => [v.name, v.id]));
}

export async function approve(services: Services, requestId: string, who: Guardian[]): Promise<void> {
  for (const g of who) await services.guardians.signWithKeyFile(requestId, g.keyFile, g.keyPassphrase, 'approve');
}

/** The backup passphrases of the named guardians, addressed by the guardian ids the backup file records. */
export function unlock(guardians: Guardian[], names: string[], from: BackupFile): { guardianId: string; passphrase: string }[] {
  return names.map((n) => ({ guardianId: from.guardians.find((g) => g.name === n)!.guardianId, passphrase: guardians.find((g) => g.name === n)!.backupPassphrase }));
}

/** Each guardian's backup passphrase, by the guardian ids of the vault that writes the backup. */
export function backupPassphrases(guardians: Guardian[], ids: Map<string, string>): { guardianId: string; passphrase: string }[] {
  return guardians.map((g) => ({ guardianId: ids.get(g.name)!, passphrase: g.backupPassphrase }));
}

export interface FreshNode {
  services: Services;
  /** Shifts the fresh node's clock (to let an approval expire), in ms. */
  setOffset(ms: number): void;
  cleanup(): Promise<void>;
}

/** Closes `node`, deletes its data folder, and starts services on a new, empty one (no vault yet). */
export async function destroyAndStartFresh(node: TestNode): Promise<FreshNode> {
  await node.services.close();
  rmSync(node.dir.path, { recursive: true, force: true });
  const dataDir = tempDir(`vk-node-${node.name}-restored-`);
  const stateDir = tempDir(`vk-state-${node.name}-restored-`);
  let offset = 0;
  const services = createServices({
    dataDir: dataDir.path,
    kdfCost: TEST_KDF_COST,
    idleCheckIntervalMs: 0,
    idleTimeoutSeconds: 3600,
    clock: { now: () => Date.now() + offset },
    cluster: { name: node.name, stateDir: stateDir.path, authorizer: () => new AllowlistAuthorizer() },
  });
  return {
    services,
    setOffset: (ms) => {
      offset = ms;
    },
    cleanup: async () => {
      await services.close().catch(() => undefined);
      dataDir.cleanup();
      stateDir.cleanup();
    },
  };
}

/** After the vault was made from the backup: guardians, the peers (by their cards and fingerprints), the coordinator. */
export async function rejoin(fresh: Services, guardians: Guardian[], peers: TestNode[], coordinatorUrl: string): Promise<void> {
  await enrolGuardians(fresh, guardians);
  for (const peer of peers) {
    const id = await peer.services.cluster.identity();
    fresh.cluster.enrolPeer(id.card, id.fingerprint);
  }
  await fresh.cluster.connect(coordinatorUrl);
}

export const REQUESTER = { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE } as const;
