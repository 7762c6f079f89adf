/**
 * Binds the contract's channels to the IPC router. One handler per contract channel, nothing
 * else: the preload only invokes contract channels, and main answers no other. Each call's
 * sender is judged here from the event (our window, its main frame, the app origin); the event
 * itself never goes further than this file. `ipcMain` is passed in, so tests drive this with a
 * stand-in. Runtime: Electron main process.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { CHANNEL_NAMES, type Channel, type Result } from '../../preload/contract';
import type { IpcRouter } from '../ipc/router';
import { describeSender, isTrustedSender, type SenderFacts } from './app-origin';

export type IpcRegistrar = Pick<IpcMain, 'handle' | 'removeHandler'>;

/** Answers whether a web contents is the app's own window (it may not exist yet, or be gone). */
export type IsAppWindow = (contents: WebContents) => boolean;

export function senderFacts(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, isAppWindow: IsAppWindow): SenderFacts {
  const untrusted: SenderFacts = { frameUrl: null, isMainFrame: false, fromAppWindow: false };
  try {
    const frame = event.senderFrame;
    // A frame that navigated away or was destroyed is null, or throws on access: untrusted either way.
    if (frame === null) return { ...untrusted, fromAppWindow: isAppWindow(event.sender) };
    return { frameUrl: frame.url, isMainFrame: frame.parent === null, fromAppWindow: isAppWindow(event.sender) };
  } catch {
    return untrusted;
  }
}

/** Registers every contract channel; returns a function that removes them again. */
export function bindIpc(ipcMain: IpcRegistrar, router: Pick<IpcRouter, 'dispatch'>, isAppWindow: IsAppWindow): () => void {
  for (const channel of CHANNEL_NAMES) {
    ipcMain.handle(channel, (event, request: unknown): Promise<Result<unknown>> => {
      const facts = senderFacts(event, isAppWindow);
      return router.dispatch(channel satisfies Channel, request, {
        trustedSender: isTrustedSender(facts),
        senderDescription: describeSender(facts),
      });
    });
  }
  return () => {
    for (const channel of CHANNEL_NAMES) ipcMain.removeHandler(channel);
  };
}
