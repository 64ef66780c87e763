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
  TAB_SECRET_HEADER,
  TAB_SECRET_KEY,
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

/**
 * The call never reached Hindsight (browser mode, `hindsight serve` gone). Queries wait for the
 * connection instead of failing with it (see queries.ts); a change asked for fails at once, with
 * this message.
 */
export class UnreachableError extends HindsightError {
  constructor() {
    super('io-error', 'Hindsight is not reachable: is `hindsight serve` still running?');
    this.name = 'UnreachableError';
  }
}

export const isUnreachable = (error: unknown): boolean => error instanceof UnreachableError;

/** How long the reconnect probe waits for an answer: a machine going down may leave it hanging. */
const PROBE_TIMEOUT_MS = 5_000;

/** Where a tab keeps its secret: this origin's and this tab's only, kept across reloads. */

/**
 * The one-time link token from the address `hindsight serve` printed, taken out of the address bar
 * (and the history entry) before anything else runs.
 */
function takeLinkToken(): string | null {
  const params = new URLSearchParams(window.location.search);
  const token = params.get('token');
  if (token === null) return null;
  params.delete('token');
  const rest = params.toString();
  window.history.replaceState(
    null,
    '',
    `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`,
  );
  return token;
}

/** This tab has no access (no link, a used one, or a secret an earlier server's key made): say how to get it. */
function noAccess(): Promise<never> {
  sessionStorage.removeItem(TAB_SECRET_KEY);
  window.location.replace(BROWSER_ROUTES.noAccess);
  // The page is going away: whatever waited for an answer never gets one.
  return new Promise<never>(() => {});
}

/**
 * Browser mode: the same contract over HTTP on loopback. The page was opened with a one-time link;
 * it trades that for a secret of this tab's own and sends it in a header with every call and on the
 * event stream (see browser-server.ts for why never in a cookie).
 */
function browserBridge(): HindsightBridge {
  let link = takeLinkToken();
  const kept = sessionStorage.getItem(TAB_SECRET_KEY);
  // A new link opened in a tab that had a secret: the link is traded, for a secret of the current run.
  let secret: Promise<string> | null = kept && link === null ? Promise.resolve(kept) : null;
  const session = (): Promise<string> => {
    if (secret) return secret;
    if (link === null) return noAccess();
    const traded = (async () => {
      const response = await fetch(BROWSER_ROUTES.session, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: link }),
      });
      if (!response.ok) return noAccess();
      const { secret: fresh } = (await response.json()) as { secret: string };
      sessionStorage.setItem(TAB_SECRET_KEY, fresh);
      link = null;
      return fresh;
    })();
    secret = traded;
    // The server could not be reached: the link is still good, the next call trades it.
    traded.catch(() => {
      if (secret === traded) secret = null;
    });
    return traded;
  };

  const listeners = new Map<IpcEventName, Set<(payload: unknown) => void>>();
  const deliver = (data: string): void => {
    const { event, payload } = JSON.parse(data) as { event: IpcEventName; payload: unknown };
    for (const listener of listeners.get(event) ?? []) listener(payload);
  };
  let stream: AbortController | null = null;
  /**
   * The event stream, read with fetch() because EventSource cannot send the tab secret. Rather than
   * retrying by itself, a broken stream reports the connection lost; the probe decides when the
   * server is back, and then a fresh stream is opened.
   */
  const openEvents = (): void => {
    stream?.abort();
    const controller = new AbortController();
    stream = controller;
    void (async () => {
      try {
        const response = await fetch(BROWSER_ROUTES.events, {
          headers: { [TAB_SECRET_HEADER]: await session() },
          cache: 'no-store',
          signal: controller.signal,
        });
        if (response.status === 401) {
          void noAccess();
          return;
        }
        if (!response.ok || !response.body) {
          // The server answered but refused the stream: the calls say why, and treating it as lost
          // would flap between lost and back every probe.
          if (stream === controller) stream = null;
          return;
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const messages = buffer.split('\n\n');
          buffer = messages.pop() ?? '';
          for (const message of messages) {
            const data = message
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice('data: '.length))
              .join('\n');
            if (data) deliver(data);
          }
        }
        throw new Error('the event stream ended');
      } catch {
        // Aborted here: a fresh stream replaced this one. Otherwise serve stopped or the machine is
        // going down.
        if (controller.signal.aborted) return;
        if (stream === controller) stream = null;
        connectionLost();
      }
    })();
  };
  const ensureEvents = (): void => {
    if (!stream) openEvents();
  };
  const post = async (channel: string, request: unknown, signal?: AbortSignal): Promise<Response> => {
    const response = await fetch(BROWSER_ROUTES.invoke, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TAB_SECRET_HEADER]: await session() },
      body: JSON.stringify({ channel, request }),
      signal,
    });
    if (response.status === 401) return noAccess();
    return response;
  };

  // Traded now, not at the first call: a used link or none at all shows the page that says how to
  // get a new address at once. A failure to reach the server is the first call's to report.
  session().catch(() => {});

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
        throw new UnreachableError();
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
