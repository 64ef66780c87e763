import { isBrowserMode } from '../api/client.ts';
import { useConnection } from '../api/connection.ts';
import { Spinner } from './ui.tsx';

/**
 * Says when the page cannot reach Hindsight, and that it reconnects by itself. The live region stays
 * in the page while empty, so screen readers announce the message when it appears.
 */
export function ConnectionStatus() {
  const connection = useConnection((s) => s.connection);
  const message =
    connection === 'lost'
      ? 'Lost contact with Hindsight — reconnecting…'
      : connection === 'restarting'
        ? // Electron's window closes with the system; only a browser tab is there to reconnect.
          isBrowserMode()
          ? 'Restarting… this page reconnects when the system is back'
          : 'Restarting…'
        : null;
  return (
    <div className="connection-status" role="status" aria-live="polite">
      {message && (
        <p className="connection-banner">
          <Spinner size={14} />
          <span>{message}</span>
        </p>
      )}
    </div>
  );
}
