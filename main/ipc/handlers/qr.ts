import type { Services } from '../../services';
import type { HandlersFor } from '../router';

/** Animated QR: parts of a payload main holds, and the reading of one frame at a time. */
export function qrHandlers(services: Services): HandlersFor<'qr.'> {
  const { qr } = services;
  return {
    'qr.frames': (request) => qr.frames(request.payload, request.fragmentBytes),
    'qr.receiveStart': (request) => qr.receiveStart(request),
    'qr.receivePart': (request) => qr.receivePart(request.receiveId, request.part),
    'qr.receiveCancel': (request) => qr.cancel(request.receiveId),
  };
}
