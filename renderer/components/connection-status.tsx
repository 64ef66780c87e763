import { isBrowserMode } from '../api/client.ts';
import { retryNow, useConnection } from '../api/connection.ts';
import { Button, Spinner } from './ui.tsx';

/** The time of day contact was lost, as the clock on the wall says it. */
export function lostTime(lostAt: number): string {
  return new Date(lostAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * Says when the page cannot reach Hindsight, that what it shows is what Hindsight last said, and
 * that it reconnects by itself (or at once, on Retry now). The live region stays in the page while
 * empty, so screen readers announce the message when it appears; the button is kept out of it.
 */
export function ConnectionStatus() {
  const connection = useConnection((s) => s.connection);
  const lostAt = useConnection((s) => s.lostAt);
  const retrying = useConnection((s) => s.retrying);
  const since = lostAt === null ? '' : ` at ${lostTime(lostAt)}`;
  const message =
    connection === 'lost'
      ? `Showing what Hindsight last saw${since} — reconnecting…`
      : connection === 'restarting'
        ? // Electron's window closes with the system; only a browser tab is there to reconnect.
          isBrowserMode()
          ? 'Restarting… this page reconnects when the system is back'
          : 'Restarting…'
        : null;
  return (
    <div className={`connection-status${message ? ' is-out-of-reach' : ''}`}>
      <div className="connection-banner-text" role="status" aria-live="polite">
        {message && (
          <p className="connection-banner">
            <Spinner size={14} />
            <span>{message}</span>
          </p>
        )}
      </div>
      {connection === 'lost' && (
        <Button size="sm" icon="refresh" busy={retrying} onClick={retryNow}>
          Retry now
        </Button>
      )}
    </div>
  );
}
