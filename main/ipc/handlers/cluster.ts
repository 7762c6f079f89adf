import QRCode from 'qrcode';
import type { ClusterStatus, KeysetView } from '../../../preload/contract';
import type { KeysetRecord } from '../../cluster/cluster-service';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function clusterHandlers({ vault, cluster }: Services): HandlersFor<'cluster.'> {
  const status = (): ClusterStatus => {
    const unlocked = vault.unlocked;
    return {
      mode: cluster.mode,
      connected: cluster.connected,
      clusterId: cluster.clusterId,
      coordinatorUrl: cluster.coordinatorUrl,
      nodes: unlocked ? cluster.nodes() : [],
    };
  };
  const view = async (k: KeysetRecord): Promise<KeysetView> => {
    const names = new Map(cluster.nodes().map((n) => [n.nodeId, n.name]));
    return {
      keysetId: k.keysetId,
      scheme: k.scheme,
      chain: k.scheme === 'ecdsa' ? 'Ethereum' : 'Solana',
      keyRef: k.keyRef,
      threshold: k.threshold,
      participants: k.participants.map((p) => ({ ...p, name: names.get(p.nodeId) ?? p.nodeId.slice(0, 8) })),
      address: k.address,
      publicKey: k.publicKey,
      status: k.status,
      createdAt: k.createdAt,
      addressQr: k.address ? await QRCode.toDataURL(k.address, { errorCorrectionLevel: 'M', margin: 1, width: 192 }) : null,
    };
  };
  return {
    'cluster.status': () => status(),
    'cluster.keysets': async () => {
      vault.keyRing();
      return Promise.all(cluster.keysets().map(view));
    },
    'cluster.createKeyset': async (request) => view(await cluster.createKeyset(request.scheme)),
    'cluster.sessions': () => {
      vault.keyRing();
      return cluster.sessions(100);
    },
    'cluster.releasePeer': (request) => {
      cluster.release(request.nodeId);
      return status();
    },
  };
}
