import { BrowserWindow, ipcMain } from 'electron';
import type { IpcEnvelope, IpcEventName } from '../../shared/ipc-contract.ts';
import { isTrustedSenderUrl } from './security.ts';

/**
 * The only module that touches ipcMain. One invoke channel carries the typed contract; messages from
 * frames that are not our own pages are dropped with an error, never dispatched.
 */
export const INVOKE_CHANNEL = 'hindsight:invoke';
export const EVENT_CHANNEL = 'hindsight:event';

export function registerIpc(
  dispatch: (channel: unknown, request: unknown) => Promise<IpcEnvelope<unknown>>,
): () => void {
  ipcMain.handle(INVOKE_CHANNEL, async (event, channel: unknown, request: unknown) => {
    const url = event.senderFrame?.url ?? '';
    if (!isTrustedSenderUrl(url)) {
      return { error: { code: 'not-authorized', message: 'IPC from an untrusted page was refused' } };
    }
    return dispatch(channel, request);
  });
  return () => ipcMain.removeHandler(INVOKE_CHANNEL);
}

export function broadcast(event: IpcEventName, payload: unknown): void {
  for (const window of BrowserWindow.getAllWindows()) {
    if (!window.isDestroyed() && isTrustedSenderUrl(window.webContents.getURL())) {
      window.webContents.send(EVENT_CHANNEL, { event, payload });
    }
  }
}
