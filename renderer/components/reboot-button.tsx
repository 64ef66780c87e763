import { useState } from 'react';
import { useAppInfo, useOperation } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { versionName } from '../lib/format.ts';
import { ConfirmDialog } from './dialog.tsx';
import { Button } from './ui.tsx';

/** Restarts into the next-boot deployment; only offered where there is a running system to restart. */
export function RebootButton({ variant = 'secondary' }: { variant?: 'primary' | 'secondary' }) {
  const info = useAppInfo();
  const { next } = useSystem();
  const reboot = useOperation('system:reboot');
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
        busy={reboot.isPending}
        error={reboot.error}
        onCancel={() => {
          setOpen(false);
          reboot.reset();
        }}
        onConfirm={() => reboot.mutate({}, { onSuccess: () => setOpen(false) })}
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
