/**
 * A keyset refresh as a job: progress for the screen, and cancel, which ends this node's own
 * refresh (or auxiliary-data) session as failed; the coordinator passes that on to the peers.
 * A cancel that comes after this node sealed its new share leaves the refresh to "Finish
 * interrupted refresh", which proves which share the peers hold.
 */
import { keysetJobGroup } from '../../preload/channels/jobs';
import type { ClusterService } from '../cluster/cluster-service';
import type { RefreshService } from '../refresh/refresh-service';
import type { VaultService } from '../vault/vault-service';
import type { JobSpec } from './job-service';

const REFRESH_SESSIONS = new Set(['eddsa-refresh', 'ecdsa-refresh-shares', 'ecdsa-aux']);

export function refreshJob(refresh: RefreshService, cluster: ClusterService, vault: VaultService, keysetId: string, requestId: string, newAux: boolean): JobSpec {
  const me = vault.nodeId();
  return {
    kind: 'refresh',
    label: `Share refresh of ${keysetId}${newAux ? ' with new auxiliary data' : ''}`,
    activity: 'share refresh',
    // One refresh, repair or restore of a keyset at a time: each changes its shares.
    group: keysetJobGroup(keysetId),
    run: async (control) => {
      control.progress('Checking the guardian approval and that all three nodes are online');
      const running = refresh.run(keysetId, requestId, {
        newAux,
        onSession: (_sessionId, step) => control.progress(step === 'aux' ? 'Generating new auxiliary data with the three nodes (the keyset signs with the old data meanwhile)' : 'Refreshing the shares with the three nodes; each checks the approval and the group key'),
      });
      const out = await running;
      return { summary: `Shares of ${out.address} refreshed (epoch ${out.fromEpoch} → ${out.toEpoch}); the address is unchanged; backups made before are dead`, keysetId };
    },
    cancel: (reason, code) => void cluster.abortSessions((s) => s.requester === me && REFRESH_SESSIONS.has(s.protocol), code, reason),
  };
}
