import { contextBridge, ipcRenderer } from 'electron';
import type { HindsightBridge, IpcEventName } from '../../shared/ipc-contract.ts';

// Kept literal (not imported from main) so the sandboxed preload bundle stays tiny and Node-free.
const INVOKE_CHANNEL = 'hindsight:invoke';
const EVENT_CHANNEL = 'hindsight:event';

/** The whole surface the renderer gets: one invoke, one event subscription. Nothing else of Electron. */
const bridge: HindsightBridge = {
  invoke: (channel, request) => ipcRenderer.invoke(INVOKE_CHANNEL, channel, request),
  on(event: IpcEventName, listener: (payload: unknown) => void) {
    const handler = (_: unknown, message: { event: IpcEventName; payload: unknown }): void => {
      if (message?.event === event) listener(message.payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('hindsightBridge', bridge);
