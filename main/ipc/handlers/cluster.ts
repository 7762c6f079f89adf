import QRCode from 'qrcode';
import type { AirgapProgressView, AirgapReport, AirgapRequestView, ClusterStatus, KeyCheckView, KeysetView } from '../../../preload/contract';
import { airgapRequestView } from '../../cluster/airgap-review';
import type { AirgapGroupHandle } from '../../cluster/airgap-types';
import { fail } from '../../errors';
import type { KeysetRecord } from '../../cluster/cluster-service';
import { PRESIGNATURE_POOL_CAP } from '../../cluster/presignature-refill';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';
import { isFolder } from '../../platform/safe-file';

function requireFolder(path: string): string {
  if (!isFolder(path)) fail('BUNDLE_MALFORMED', `The folder ${path} does not exist or is not a folder. Check that the medium is mounted.`);
  return path;
}

export function clusterHandlers({ vault, cluster, lab, exit, refresh }: Services): HandlersFor<'cluster.'> {
  const reviewList = async (folder: string): Promise<AirgapRequestView[]> => {
    const keysetLabel = (keysetId: string) => {
      const k = cluster.keyset(keysetId);
      if (!k) return null;
      return `${k.lab ? 'LAB · ' : ''}${k.scheme === 'eddsa' ? 'Solana' : 'Ethereum'} ${k.address ?? keysetId}`;
    };
    return (await cluster.airgapPending(folder)).map((facts) => airgapRequestView(facts, { nodeName: (id) => cluster.node(id)?.name ?? null, keysetLabel }));
  };
  const progress = (): AirgapProgressView[] =>
    vault.unlocked ? cluster.airgapStatus().map((s) => ({ ...s, waitingFor: s.waitingFor.map((nodeId) => ({ nodeId, name: cluster.node(nodeId)?.name ?? null })) })) : [];
  const waiting = () => [...cluster.airgapSessions().map((s) => s.sessionId), ...cluster.airgapGroup.handles().map((s) => s.sessionId)];
  /** A multi-party session requested here: its request and first round are in the folder. */
  const started = (handle: AirgapGroupHandle): AirgapReport => {
    // The outcome arrives with later imports; a refusal then is recorded on the session row.
    handle.result.catch(() => undefined);
    return { sessionId: handle.sessionId, bundles: 1, refused: [], joined: [], waiting: waiting(), pending: [], refusedEarlier: [], progress: progress() };
  };
  const status = (): ClusterStatus => {
    const unlocked = vault.unlocked;
    return {
      mode: cluster.mode,
      connected: cluster.connected,
      clusterId: cluster.clusterId,
      coordinatorUrl: cluster.coordinatorUrl,
      nodes: unlocked ? cluster.nodes() : [],
      lab: { running: lab.status().running, pids: lab.status().pids, available: lab.status().available, unavailableReason: lab.status().unavailableReason },
      keygenWindowUntil: unlocked ? cluster.keygenWindow.openUntil() : null,
      primePool: unlocked ? cluster.primePoolStatus() : { level: 0, target: cluster.primePool.target, filling: false },
      auxGroups: unlocked ? auxGroupViews() : [],
      running: unlocked ? cluster.runningSessions() : [],
    };
  };
  const auxGroupViews = (): ClusterStatus['auxGroups'] => {
    const names = new Map(cluster.nodes().map((n) => [n.nodeId, n.name]));
    return cluster.auxGroups().map((g) => ({ auxGroupId: g.auxGroupId, auxId: g.auxId, status: g.status, createdAt: g.createdAt, participants: g.participants.map((p) => names.get(p.nodeId) ?? p.nodeId.slice(0, 8)) }));
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
      lab: k.lab,
      exportedAt: exit.records.exportedKeysets().get(k.keysetId) ?? null,
      auxGroupId: k.auxGroupId,
      presignaturePool: k.scheme === 'ecdsa' ? { ...cluster.presignaturePoolLevel(k.keysetId), cap: PRESIGNATURE_POOL_CAP } : null,
      qrCaption: k.lab ? `LAB KEYSET — NOT FOR REAL FUNDS · ${k.scheme === 'ecdsa' ? 'Ethereum' : 'Solana'} address` : `${k.scheme === 'ecdsa' ? 'Ethereum' : 'Solana'} address`,
    };
  };
  return {
    'cluster.status': () => status(),
    'cluster.cancelSession': (request) => {
      cluster.cancelSession(request.sessionId);
      return status();
    },
    'cluster.fillPrimePool': () => {
      vault.keyRing();
      void cluster.fillPrimePool().catch(() => undefined);
      return status();
    },
    'cluster.presignatureTarget': async (request) => {
      cluster.setPresignatureTarget(request.keysetId, request.target);
      const k = cluster.keyset(request.keysetId);
      if (!k) fail('KEYSET_NOT_FOUND', `No keyset ${request.keysetId} on this node.`, { keysetId: request.keysetId });
      return view(k);
    },
    'cluster.keysets': async () => {
      vault.keyRing();
      return Promise.all(cluster.keysets().map(view));
    },
    'cluster.sessions': () => {
      vault.keyRing();
      return cluster.sessions(100);
    },
    // Releasing a quarantined peer is one operator's call for now; it may later need a guardian quorum.
    'cluster.releasePeer': (request) => {
      cluster.release(request.nodeId);
      return status();
    },
    'cluster.startLab': async () => {
      await lab.start();
      return status();
    },
    'cluster.keygenWindow': (request) => {
      if (request.minutes === 0) cluster.closeKeygenWindow();
      else cluster.openKeygenWindow(request.minutes);
      return status();
    },
    'cluster.stopLab': async () => {
      vault.keyRing();
      await lab.stop();
      return status();
    },
    'cluster.keyCheck': async (request): Promise<KeyCheckView> => {
      const out = await cluster.keyCheck(request.keysetId, request.purpose);
      return { keysetId: request.keysetId, purpose: out.purpose, sessionId: out.sessionId, parties: out.parties, message: out.message, signature: out.signature, verified: true };
    },
    'cluster.airgapSign': async (request): Promise<AirgapReport> => {
      const folder = requireFolder(request.folder);
      const handle = await cluster.airgapRequest(request.keysetId, { purpose: request.purpose }, request.partner, folder);
      return { sessionId: handle.sessionId, bundles: 1, refused: [], joined: [], waiting: waiting(), pending: [], refusedEarlier: [], progress: progress() };
    },
    'cluster.airgapImport': async (request): Promise<AirgapReport> => {
      const folder = requireFolder(request.folder);
      // The console joins only what its operator approved after review.
      const report = await cluster.airgapImport(folder, folder, { approve: new Set(request.approve) });
      return { sessionId: null, bundles: report.imported, refused: report.refused, joined: [...report.joined, ...report.joinedGroup].map((j) => j.sessionId), waiting: waiting(), pending: report.pending, refusedEarlier: report.refusedEarlier, progress: progress() };
    },
    'cluster.airgapKeygen': async (request): Promise<AirgapReport> => started(await cluster.airgapGroup.keygen(request.scheme, requireFolder(request.folder))),
    'cluster.airgapPresign': async (request): Promise<AirgapReport> => started(await cluster.airgapGroup.presign(request.keysetId, request.partner, requireFolder(request.folder))),
    'cluster.airgapRefresh': async (request): Promise<AirgapReport> => started(await refresh.runByFiles(request.keysetId, request.requestId, requireFolder(request.folder))),
    'cluster.airgapProgress': async (): Promise<AirgapProgressView[]> => progress(),
    'cluster.airgapReview': async (request): Promise<AirgapRequestView[]> => reviewList(requireFolder(request.folder)),
    'cluster.airgapRefuse': async (request): Promise<AirgapRequestView[]> => {
      const folder = requireFolder(request.folder);
      await cluster.airgapRefuse(folder, request.sessionId, request.reason);
      return reviewList(folder);
    },
  };
}
