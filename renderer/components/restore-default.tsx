import { useState } from 'react';
import type { EtcPath } from '../../shared/types.ts';
import { useOperation } from '../api/queries.ts';
import { useUi } from '../state/ui-store.ts';
import { ConfirmDialog } from './dialog.tsx';
import { Button, ErrorNotice } from './ui.tsx';

/**
 * Puts one /etc path of a deployment back to what its image ships (usr/etc). A deployment that is not
 * running reads its /etc only at its boot: one click, with Undo. The running /etc changes under
 * running programs, so that asks first. Used by /etc changes and by Compare → Files.
 */
export function RestoreDefault({
  deployment,
  path,
  hasDefault,
  running,
  label = 'Restore image default',
  deploymentName,
}: {
  /** The deployment's selector. */
  deployment: string;
  /** Relative to /etc. */
  path: EtcPath;
  /** Whether the image ships this path at all (else restoring removes it). */
  hasDefault: boolean;
  running: boolean;
  label?: string;
  /** Named in the dialog's title when given. */
  deploymentName?: string;
}) {
  const restore = useOperation('etc:restore');
  const undo = useOperation('etc:undo');
  const toast = useUi((s) => s.toast);
  const [confirm, setConfirm] = useState(false);
  const what = hasDefault ? 'the image’s version' : 'nothing (the image has no such file)';
  const shown = `/etc/${path.path}`;
  // Promises rather than mutate's callbacks: the detail unmounts once the path leaves the list, and
  // react-query drops the callbacks of an unmounted component.
  const undoRestore = (backupId: string) =>
    void undo
      .mutateAsync({ backupId })
      .then(() => toast('success', `${shown} is as you had it again.`, { topic: 'etc-restore' }))
      .catch((error: Error) => toast('danger', `Undo failed: ${error.message}`, { topic: 'etc-restore' }));
  const run = () =>
    void restore
      .mutateAsync({
        deployment,
        path: { path: path.path, ...(path.pathBase64 ? { pathBase64: path.pathBase64 } : {}) },
        ...(running ? { allowBooted: true } : {}),
      })
      .then((result) => {
        setConfirm(false);
        toast('success', `${shown}${deploymentName ? ` of ${deploymentName}` : ''} is back to ${what}.`, {
          topic: 'etc-restore',
          action: { label: 'Undo', run: () => undoRestore(result.backupId) },
        });
      })
      // The error stays on the button (or in the dialog) through restore.error.
      .catch(() => {});
  return (
    <>
      <Button
        icon="undo"
        busy={!confirm && restore.isPending}
        onClick={() => (running ? setConfirm(true) : run())}
      >
        {running ? `${label}…` : label}
      </Button>
      {!confirm && restore.error && (
        <ErrorNotice error={restore.error} compact title="Nothing was restored" />
      )}
      <ConfirmDialog
        open={confirm}
        title={`Restore ${shown} on the running system?`}
        confirmLabel="Restore"
        operation={restore}
        onCancel={() => setConfirm(false)}
        onConfirm={run}
      >
        <p>
          It becomes {what} at once, under the programs running now. A backup is kept; Undo puts your version
          back.
        </p>
      </ConfirmDialog>
    </>
  );
}
