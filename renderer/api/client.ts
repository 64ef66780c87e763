import { HindsightError, isErrorCode } from '../../shared/errors.ts';
import {
  BROWSER_ROUTES,
  type HindsightApi,
  type HindsightBridge,
  type IpcChannel,
  type IpcEnvelope,
  type IpcEventName,
  type IpcEvents,
  type IpcRequest,
  type IpcResponse,
  TOKEN_HEADER,
} from '../../shared/ipc-contract.ts';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in browser mode. */
    hindsightBridge?: HindsightBridge;
  }
}

function unwrap<T>(envelope: IpcEnvelope<unknown>): T {
  if ('error' in envelope) {
    const { code, message } = envelope.error;
    throw new HindsightError(isErrorCode(code) ? code : 'internal', message);
  }
  return envelope.result as T;
}

/** Browser mode: the same contract over HTTP on loopback, authorised by the per-run token. */
function browserBridge(): HindsightBridge {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem('hindsight-token', fromUrl);
    // Keep the secret out of the address bar and history.
    params.delete('token');
    const rest = params.toString();
    window.history.replaceState(
      null,
      '',
      `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`,
    );
  }
  const token = fromUrl ?? sessionStorage.getItem('hindsight-token') ?? '';
  const listeners = new Map<IpcEventName, Set<(payload: unknown) => void>>();
  let source: EventSource | null = null;
  const ensureEvents = (): void => {
    if (source) return;
    // EventSource cannot send headers; the session cookie set with the page authorises it.
    source = new EventSource(BROWSER_ROUTES.events);
    source.onmessage = (message) => {
      const { event, payload } = JSON.parse(message.data as string) as {
        event: IpcEventName;
        payload: unknown;
      };
      for (const listener of listeners.get(event) ?? []) listener(payload);
    };
  };
  return {
    async invoke(channel, request) {
      let response: Response;
      try {
        response = await fetch(BROWSER_ROUTES.invoke, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
          body: JSON.stringify({ channel, request }),
        });
      } catch {
        return {
          error: {
            code: 'io-error',
            message: 'Hindsight is not reachable: is `hindsight serve` still running?',
          },
        };
      }
      try {
        return (await response.json()) as IpcEnvelope<unknown>;
      } catch {
        return {
          error: { code: 'internal', message: `unexpected answer from Hindsight (HTTP ${response.status})` },
        };
      }
    },
    on(event, listener) {
      ensureEvents();
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    },
  };
}

let api: HindsightApi | null = null;

/** The typed API: Electron's preload bridge when present, else browser mode's HTTP transport. */
export function getApi(): HindsightApi {
  if (api) return api;
  const bridge = window.hindsightBridge ?? browserBridge();
  api = {
    async invoke<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
      return unwrap<IpcResponse<C>>(await bridge.invoke(channel, request));
    },
    on<E extends IpcEventName>(event: E, listener: (payload: IpcEvents[E]) => void): () => void {
      return bridge.on(event, listener as (payload: unknown) => void);
    },
  };
  return api;
}
