import { type ReactNode, useEffect, useId, useRef } from 'react';
import { Button, ErrorNotice } from './ui.tsx';

/** What the dialog confirms: a mutation (useOperation), whose progress and error it shows. */
export interface DialogOperation {
  isPending: boolean;
  error: unknown;
  reset: () => void;
}

/**
 * A confirmation built on the native modal <dialog>: focus is trapped, Escape cancels, and the
 * safe choice has focus first when the action is destructive. While the operation runs neither
 * button can be used again; cancelling clears its error, so the next opening starts clean.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  cancelLabel = 'Cancel',
  tone = 'primary',
  operation,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  tone?: 'primary' | 'danger';
  operation?: DialogOperation;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  const busy = operation?.isPending ?? false;
  const error = operation?.error;
  const cancel = (): void => {
    operation?.reset();
    onCancel();
  };

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      const opener = document.activeElement as HTMLElement | null;
      dialog.showModal();
      (tone === 'danger' ? cancelRef : confirmRef).current?.focus();
      return () => {
        if (dialog.open) dialog.close();
        opener?.focus?.();
      };
    }
    if (!open && dialog.open) dialog.close();
    return undefined;
  }, [open, tone]);

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) cancel();
      }}
    >
      {open && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            onConfirm();
          }}
        >
          <h2 id={titleId} className="dialog-title">
            {title}
          </h2>
          <div id={bodyId} className="dialog-body">
            {children}
          </div>
          {error ? <ErrorNotice error={error} compact /> : null}
          <div className="dialog-actions">
            <Button ref={cancelRef} onClick={cancel} disabled={busy}>
              {cancelLabel}
            </Button>
            <Button ref={confirmRef} type="submit" variant={tone} busy={busy}>
              {confirmLabel}
            </Button>
          </div>
        </form>
      )}
    </dialog>
  );
}
