import QRCode from 'qrcode';
import type { MembershipView } from '../../../preload/contract';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';
import { guardedRequest } from './guarded-request';

/** Joining a real cluster: cards, enrolment, removal and replacement (guardians), coordinator. */
export function membershipHandlers(services: Services): HandlersFor<'membership.'> {
  const { vault, cluster, clusterSetup, guardians } = services;
  const roster = cluster.roster;
  const view = async (): Promise<MembershipView> => {
    const unlocked = vault.unlocked;
    const config = unlocked ? clusterSetup.config() : null;
    return {
      configured: config
        ? {
            name: config.name,
            transport: config.transport.kind,
            coordinatorUrl: config.transport.kind === 'coordinator' ? config.transport.url : null,
            certSha256: config.transport.kind === 'coordinator' ? config.transport.certSha256 : null,
            configuredAt: config.configuredAt,
          }
        : null,
      connected: cluster.connected,
      lastError: clusterSetup.lastError,
      members: unlocked ? await clusterSetup.members() : [],
      removed: unlocked ? roster.removed().map(({ nodeId, name, removedAt, replacedBy }) => ({ nodeId, name, removedAt, replacedBy })) : [],
    };
  };
  return {
    'membership.status': () => view(),
    'membership.card': async () => {
      const card = await clusterSetup.card();
      return { ...card, qr: await QRCode.toDataURL(card.text, { errorCorrectionLevel: 'M', margin: 2, width: 360 }) };
    },
    'membership.inspectCard': async (request) => {
      const { card, fingerprint } = await roster.inspect(request.text);
      return { nodeId: card.nodeId, name: card.name, signingPublicKey: card.signingPublicKey, hpkePublicKey: card.hpkePublicKey, fingerprint };
    },
    'membership.enrolCard': async (request) => {
      await roster.enrol(request.text, request.words);
      return view();
    },
    'membership.configure': async (request) => {
      await clusterSetup.configure(request.airgapped ? { name: request.name, airgapped: true } : { name: request.name, airgapped: false, coordinatorUrl: request.coordinatorUrl, certSha256: request.certSha256 });
      return view();
    },
    'membership.requestRemoval': (request) => guardedRequest(services, 'cluster.peer.remove', request.nodeId, () => roster.removeParameters(request.nodeId), request),
    'membership.removePeer': async (request) => {
      roster.remove(request.nodeId, request.requestId, guardians);
      return view();
    },
    'membership.requestReplacement': async (request) => {
      const parameters = await roster.replaceParameters(request.nodeId, request.text, request.words);
      return guardedRequest(services, 'cluster.peer.replace', request.nodeId, () => parameters, request);
    },
    'membership.replacePeer': async (request) => {
      await roster.replace(request.nodeId, request.text, request.words, request.requestId, guardians);
      return view();
    },
  };
}
