import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { HindsightError } from '../../shared/errors.ts';
import type { IpcResponse } from '../../shared/ipc-contract.ts';
import { restartExpected, useConnection } from '../api/connection.ts';
import { call, useAppInfo } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { versionName } from '../lib/format.ts';
import { ConfirmDialog } from './dialog.tsx';
import { Button } from './ui.tsx';

/**
 * Restarts into the next-boot deployment; only offered where there is a running system to restart.
 * Once asked, the page says it is restarting and, in browser mode, reconnects when the system is back.
 */
export function RebootButton({ variant = 'secondary' }: { variant?: 'primary' | 'secondary' }) {
  const info = useAppInfo();
  const { next } = useSystem();
  // Not useOperation: it refetches everything and waits for that before it settles, and a server
  // going down would keep this dialog busy until it is back. The page refetches on reconnecting,
  // and main's 'sysroot:changed' after the call refreshes it while the server is still up.
  const reboot = useMutation<IpcResponse<'system:reboot'>, HindsightError>({
    mutationFn: () => call('system:reboot', {}),
    onSuccess: () => restartExpected(),
  });
  const [open, setOpen] = useState(false);
  const reason = !info.data
    ? null
    : !info.data.bootedSystem
      ? info.data.demo
        ? 'Not available in demo mode: this is a folder, not the running system.'
        : 'Not available: Hindsight is showing a folder, not the running system.'
      : null;
  return (
    <>
      <Button variant={variant} icon="power" disabledReason={reason} onClick={() => setOpen(true)}>
        Reboot now
      </Button>
      <ConfirmDialog
        open={open}
        title="Restart the computer now?"
        confirmLabel="Reboot now"
        tone="danger"
        operation={reboot}
        onCancel={() => setOpen(false)}
        onConfirm={() => {
          const wasConnected = useConnection.getState().connection === 'connected';
          reboot.mutate(undefined, {
            onSuccess: () => setOpen(false),
            onError: () => {
              // The connection broke during the call: most likely the restart itself cut off the
              // answer. If it did not, the server answers the next probe and the notice goes away.
              if (!wasConnected || useConnection.getState().connection === 'connected') return;
              setOpen(false);
              reboot.reset();
              restartExpected();
            },
          });
        }}
      >
        <p>
          The computer restarts into{' '}
          {next ? <strong>{versionName(next)}</strong> : 'the next-boot deployment'}. Save your work in other
          applications first.
        </p>
      </ConfirmDialog>
    </>
  );
}
