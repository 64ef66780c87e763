import { create } from 'zustand';

/**
 * Whether the page can reach Hindsight. Only browser mode can lose it: `hindsight serve` stopped, or
 * the machine is restarting under the open page. While it is lost the transport's probe (a cheap
 * read-only call) is tried every two seconds; at the first answer the page is connected again, the
 * transport re-opens its event stream and every query refetches (see queries.ts), so after a reboot
 * the screens show the new booted deployment without a reload.
 */
export type Connection = 'connected' | 'lost' | 'restarting';

export const useConnection = create<{ connection: Connection }>(() => ({ connection: 'connected' }));

const PROBE_INTERVAL_MS = 2_000;
/** A restart that has not taken the server away after this long did not happen: stop waiting for it. */
const RESTART_GIVE_UP_MS = 3 * 60_000;

/** Whether the server answers at all. Electron's IPC cannot be lost; browser mode sets its own. */
let serverAnswers: () => Promise<boolean> = async () => true;
/** Whether the server was seen unreachable since the connection was last good. */
let serverWasGone = false;
let restartRequestedAt = 0;
let probing = false;

export function setConnectionProbe(probe: () => Promise<boolean>): void {
  serverAnswers = probe;
}

/** A call or the event stream could not reach the server. */
export function connectionLost(): void {
  serverWasGone = true;
  if (useConnection.getState().connection === 'connected') useConnection.setState({ connection: 'lost' });
  void probeUntilBack();
}

/**
 * `system:reboot` was accepted (or the connection broke while it ran): the server goes away shortly
 * and comes back with the machine. Until it has been seen gone, its answers are the old server's.
 */
export function restartExpected(): void {
  restartRequestedAt = Date.now();
  useConnection.setState({ connection: 'restarting' });
  void probeUntilBack();
}

async function probeUntilBack(): Promise<void> {
  if (probing) return;
  probing = true;
  try {
    for (;;) {
      await new Promise((resolve) => window.setTimeout(resolve, PROBE_INTERVAL_MS));
      if (!(await serverAnswers())) {
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
  }
  serverWasGone = false;
  useConnection.setState({ connection: 'connected' });
}
