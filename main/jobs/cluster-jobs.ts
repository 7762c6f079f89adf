/**
 * The cluster's long operations as jobs: the group's ECDSA auxiliary data, key generation and
 * presignature generation. Cancelling
 * one (by the operator or by locking the vault) ends this node's own session of that kind as
 * failed with the reason, which the coordinator passes on to every peer.
 */
import type { JobControl, JobSpec } from './job-service';
import type { ClusterService } from '../cluster/cluster-service';
import type { VaultService } from '../vault/vault-service';

const CHAIN = { ecdsa: 'Ethereum', eddsa: 'Solana' } as const;

/** Only sessions this node requested: a peer's session this node merely joins is not the job's. */
function ownSessions(vault: VaultService, protocol: (p: string) => boolean) {
  const me = vault.nodeId();
  return (s: { protocol: string; requester: string }) => s.requester === me && protocol(s.protocol);
}

/**
 * Reports the engine's own progress (step of total, and its words) of this node's running session
 * that `matches` as the job's phase and percentage, once a second; returns the stop.
 */
function followEngine(cluster: ClusterService, control: JobControl, what: string, matches: (s: { protocol: string }) => boolean): () => void {
  const timer = setInterval(() => {
    const session = cluster.runningSessions().find(matches);
    if (session && session.total > 0) control.progress(`${what}: ${session.label} (step ${session.step} of ${session.total})`, (100 * session.step) / session.total);
  }, 1_000);
  timer.unref();
  return () => clearInterval(timer);
}

export function auxJob(cluster: ClusterService, vault: VaultService): JobSpec {
  return {
    kind: 'aux',
    label: 'ECDSA auxiliary data of this signer group',
    activity: 'auxiliary-data setup',
    // It takes the same three nodes and CPU as a key generation: one or the other at a time.
    group: 'keygen',
    run: async (control) => {
      control.progress('Checking that the three nodes are online');
      const running = cluster.prepareAuxData();
      control.progress('Generating the auxiliary data (Paillier keys and their proofs) with the three nodes: minutes on a slow machine');
      const stop = followEngine(cluster, control, 'Generating the auxiliary data with the three nodes', (s) => s.protocol === 'ecdsa-aux');
      try {
        const group = await running;
        return { summary: `Auxiliary data ready for this signer group (${group.auxGroupId}); ECDSA key generations now reuse it`, keysetId: null };
      } finally {
        stop();
      }
    },
    cancel: (reason, code) => void cluster.abortSessions(ownSessions(vault, (p) => p === 'ecdsa-aux'), code, reason),
  };
}

export function keygenJob(cluster: ClusterService, vault: VaultService, scheme: 'ecdsa' | 'eddsa'): JobSpec {
  return {
    kind: 'keygen',
    label: `${scheme.toUpperCase()} key generation (${CHAIN[scheme]})`,
    activity: 'key generation',
    // One key generation at a time: a second would compete for the same peers and CPU.
    group: 'keygen',
    run: async (control) => {
      control.progress('Checking that the three nodes are online');
      const started = cluster.createKeyset(scheme);
      control.progress(scheme === 'ecdsa'
        ? 'Running the 2-of-3 key generation with the three nodes (threshold ECDSA: tens of seconds to a few minutes)'
        : 'Running the 2-of-3 key generation with the three nodes');
      const stop = followEngine(cluster, control, 'Running the key generation with the three nodes', (s) => s.protocol === `${scheme}-keygen` || (scheme === 'ecdsa' && s.protocol === 'ecdsa-dkg'));
      try {
        const keyset = await started;
        return { summary: `${CHAIN[scheme]} keyset created: ${keyset.address ?? keyset.keysetId}`, keysetId: keyset.keysetId };
      } finally {
        stop();
      }
    },
    // With the group's auxiliary data reused, an ECDSA key generation runs as ecdsa-dkg.
    cancel: (reason, code) => void cluster.abortSessions(ownSessions(vault, (p) => p === `${scheme}-keygen` || (scheme === 'ecdsa' && p === 'ecdsa-dkg')), code, reason),
  };
}

export function presignJob(cluster: ClusterService, vault: VaultService, keysetId: string): JobSpec {
  return {
    kind: 'presign',
    label: `Presignature for ${keysetId}`,
    activity: 'presignature generation',
    group: `presign:${keysetId}`,
    run: async (control) => {
      control.progress('Running the presign session with a quorum of two nodes');
      const made = await cluster.presign(keysetId);
      return { summary: `Presignature ${made.presignatureId.slice(0, 12)}… ready for ${keysetId}`, keysetId };
    },
    cancel: (reason, code) => void cluster.abortSessions(ownSessions(vault, (p) => p === 'ecdsa-presign'), code, reason),
  };
}
