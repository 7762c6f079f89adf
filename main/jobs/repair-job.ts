/**
 * Replacing a lost node's share (EdDSA share repair) as a job: progress for the screen, and
 * cancel, which ends this node's repair session as failed; the coordinator tells the other
 * helpers and the new node. The new node installs the rebuilt share, and the helpers record it,
 * only when every party finished, so a cancelled repair leaves nothing written anywhere.
 */
import { keysetJobGroup } from '../../preload/channels/jobs';
import type { ClusterService } from '../cluster/cluster-service';
import type { RepairService } from '../repair/repair-service';
import type { VaultService } from '../vault/vault-service';
import type { JobSpec } from './job-service';

export function repairJob(repair: RepairService, cluster: ClusterService, vault: VaultService, keysetId: string, newNodeId: string, requestId: string): JobSpec {
  const me = vault.nodeId();
  const newName = cluster.node(newNodeId)?.name ?? `${newNodeId.slice(0, 8)}…`;
  return {
    kind: 'repair',
    label: `Share repair of ${keysetId} for ${newName}`,
    activity: 'share repair',
    // A repair, a refresh or a restore of one keyset change its shares: one at a time.
    group: keysetJobGroup(keysetId),
    run: async (control) => {
      control.progress('Checking the guardian approval and that the other share holders and the new node are online');
      const out = await repair.run(keysetId, newNodeId, requestId, {
        onSession: () => control.progress(`Rebuilding the lost share with the other share holders; ${newName} checks it against the keyset's public share`),
      });
      return { summary: `${newName} now holds share ${out.partyIndex} of ${keysetId}, rebuilt by the other nodes; the address is unchanged (${out.address}); approved by ${out.approvers.length} guardians`, keysetId };
    },
    cancel: (reason, code) => void cluster.abortSessions((s) => s.requester === me && s.protocol === 'eddsa-repair' && s.keysetId === keysetId, code, reason),
  };
}
