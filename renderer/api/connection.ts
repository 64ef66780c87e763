import { create } from 'zustand';

/**
 * Whether the page can reach Hindsight. Only browser mode can lose it: `hindsight serve` stopped, or
 * the machine is restarting under the open page. While it is lost the transport's probe (a cheap
 * read-only call) is tried again and again; at the first answer the page is connected again, the
 * transport re-opens its event stream and every query refetches (see queries.ts), so after a reboot
 * the screens show the new booted deployment without a reload. Meanwhile the screens keep showing
 * what Hindsight last said, marked as such.
 */
export type Connection = 'connected' | 'lost' | 'restarting';

export interface ConnectionState {
  connection: Connection;
  /** When contact was lost (ms since the epoch): what the page shows is as of then. Null while connected. */
  lostAt: number | null;
  /** A probe asked for with {@link retryNow} is under way. */
  retrying: boolean;
}

export const useConnection = create<ConnectionState>(() => ({
  connection: 'connected',
  lostAt: null,
  retrying: false,
}));

/** A server that is gone for a while is asked less often: the first wait, then doubling up to the cap. */
const PROBE_FIRST_MS = 2_000;
const PROBE_CAP_MS = 30_000;
/**
 * A restart the person asked for is waited out at the first pace throughout: they are watching the
 * page for the machine to come back, and a probe of a machine that is down costs nothing.
 */
const RESTART_PROBE_MS = PROBE_FIRST_MS;
/** A restart that has not taken the server away after this long did not happen: stop waiting for it. */
const RESTART_GIVE_UP_MS = 3 * 60_000;

/** Whether the server answers at all. Electron's IPC cannot be lost; browser mode sets its own. */
let serverAnswers: () => Promise<boolean> = async () => true;
/** Whether the server was seen unreachable since the connection was last good. */
let serverWasGone = false;
let restartRequestedAt = 0;
let probing = false;
/** Ends the wait before the next probe early (Retry now, the browser back online, the tab shown). */
let wake: (() => void) | null = null;

export function setConnectionProbe(probe: () => Promise<boolean>): void {
  serverAnswers = probe;
}

function markLost(connection: 'lost' | 'restarting'): void {
  const { lostAt } = useConnection.getState();
  useConnection.setState({ connection, lostAt: lostAt ?? Date.now() });
}

/** A call or the event stream could not reach the server. */
export function connectionLost(): void {
  serverWasGone = true;
  if (useConnection.getState().connection === 'connected') markLost('lost');
  void probeUntilBack();
}

/**
 * `system:reboot` was accepted (or the connection broke while it ran): the server goes away shortly
 * and comes back with the machine. Until it has been seen gone, its answers are the old server's.
 */
export function restartExpected(): void {
  restartRequestedAt = Date.now();
  markLost('restarting');
  void probeUntilBack();
}

/** Asks the server at once instead of at the next scheduled probe. */
export function retryNow(): void {
  if (useConnection.getState().connection === 'connected') return;
  useConnection.setState({ retrying: true });
  wake?.();
}

async function probeUntilBack(): Promise<void> {
  if (probing) return;
  probing = true;
  let wait = PROBE_FIRST_MS;
  try {
    for (;;) {
      const restarting = useConnection.getState().connection === 'restarting';
      await new Promise<void>((resolve) => {
        const timer = window.setTimeout(resolve, restarting ? RESTART_PROBE_MS : wait);
        wake = () => {
          window.clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      wait = Math.min(wait * 2, PROBE_CAP_MS);
      const answered = await serverAnswers();
      useConnection.setState({ retrying: false });
      if (!answered) {
        serverWasGone = true;
        continue;
      }
      const waitingForRestart =
        useConnection.getState().connection === 'restarting' &&
        !serverWasGone &&
        Date.now() - restartRequestedAt < RESTART_GIVE_UP_MS;
      if (!waitingForRestart) break;
    }
  } finally {
    probing = false;
    wake = null;
  }
  serverWasGone = false;
  useConnection.setState({ connection: 'connected', lostAt: null, retrying: false });
}

// The browser back on the network, or the tab looked at again: worth asking now rather than after
// a long backoff.
window.addEventListener('online', retryNow);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') retryNow();
});
