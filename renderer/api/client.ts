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
import { connectionLost, setConnectionProbe, useConnection } from './connection.ts';

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

/** How long the reconnect probe waits for an answer: a machine going down may leave it hanging. */
const PROBE_TIMEOUT_MS = 5_000;

/** Browser mode: the same contract over HTTP on loopback, authorised by the server's token. */
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
  const openEvents = (): void => {
    source?.close();
    // EventSource cannot send headers; the session cookie set with the page authorises it.
    const stream = new EventSource(BROWSER_ROUTES.events);
    source = stream;
    stream.onmessage = (message) => {
      const { event, payload } = JSON.parse(message.data as string) as {
        event: IpcEventName;
        payload: unknown;
      };
      for (const listener of listeners.get(event) ?? []) listener(payload);
    };
    stream.onerror = () => {
      // CLOSED: the server answered but refused the stream (a server with another token); the calls
      // say why, and treating it as lost would flap between lost and back every probe.
      const refused = stream.readyState === EventSource.CLOSED;
      stream.close();
      if (source === stream) source = null;
      // Otherwise the stream broke: serve stopped or the machine is going down. Rather than
      // EventSource's own retries, the connection probe decides when the server is back.
      if (!refused) connectionLost();
    };
  };
  const ensureEvents = (): void => {
    if (!source) openEvents();
  };
  const post = (channel: string, request: unknown, signal?: AbortSignal): Promise<Response> =>
    fetch(BROWSER_ROUTES.invoke, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
      body: JSON.stringify({ channel, request }),
      signal,
    });

  // Any HTTP answer, even an error, means the server is back; only a failed fetch means it is not.
  setConnectionProbe(async () => {
    try {
      await post('app:info', {}, AbortSignal.timeout(PROBE_TIMEOUT_MS));
      return true;
    } catch {
      return false;
    }
  });
  // Back after a loss: events sent meanwhile went nowhere, and a stream that never saw the server go
  // (the machine vanished without closing it) would stay silent, so a fresh one is opened.
  useConnection.subscribe((now, before) => {
    if (now.connection === 'connected' && before.connection !== 'connected' && listeners.size > 0) {
      openEvents();
    }
  });

  return {
    async invoke(channel, request) {
      let response: Response;
      try {
        response = await post(channel, request);
      } catch {
        connectionLost();
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

/** Browser mode (`hindsight serve`) rather than Electron: only there can the page outlive its server. */
export const isBrowserMode = (): boolean => !window.hindsightBridge;

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
