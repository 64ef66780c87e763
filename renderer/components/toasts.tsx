import { type RefObject, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { type Toast, useUi } from '../state/ui-store.ts';
import { Icon } from './icons.tsx';

/** Bars pinned to the bottom of a screen that hold its main action: toasts never cover them. */
const ACTION_BARS = '.apply-bar';
/** The stack's distance from the window's corner, and from an action bar it moves above. */
const EDGE_PX = 20;
const GAP_PX = 12;

/**
 * How far from the bottom the stack sits: its corner, or just above an action bar that would be
 * under it there. Sticky bars move with scrolling and wrap with the width, so this is measured
 * every frame while toasts are up rather than set in CSS.
 */
function useClearOfActionBars(stack: RefObject<HTMLDivElement | null>, active: boolean): number {
  const [bottom, setBottom] = useState(EDGE_PX);
  useLayoutEffect(() => {
    if (!active) return;
    let frame = 0;
    const measure = (): void => {
      const el = stack.current;
      if (el) {
        const box = el.getBoundingClientRect();
        const height = window.innerHeight;
        // Where the stack would be in its corner, whatever it is lifted to now.
        const top = height - EDGE_PX - box.height;
        let lifted = EDGE_PX;
        for (const bar of document.querySelectorAll(ACTION_BARS)) {
          const r = bar.getBoundingClientRect();
          if (r.width === 0 || r.height === 0) continue;
          const overlaps =
            r.top < height - EDGE_PX && r.bottom > top && r.left < box.right && r.right > box.left;
          if (overlaps) lifted = Math.max(lifted, height - r.top + GAP_PX);
        }
        setBottom(lifted);
      }
      frame = window.requestAnimationFrame(measure);
    };
    measure();
    return () => window.cancelAnimationFrame(frame);
  }, [active, stack]);
  return bottom;
}

function ToastItem({ toast: t }: { toast: Toast }) {
  const dismiss = useUi((s) => s.dismissToast);
  const hold = useUi((s) => s.holdToast);
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const holding = hovered || focused;
  const wasHolding = useRef(false);
  useEffect(() => {
    if (holding === wasHolding.current) return;
    wasHolding.current = holding;
    hold(t.id, holding);
  }, [holding, hold, t.id]);

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a status or alert; hover and focus only keep it up, they do nothing
    <div
      className={`toast toast-${t.tone}`}
      role={t.tone === 'danger' ? 'alert' : 'status'}
      onPointerEnter={() => setHovered(true)}
      onPointerLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setFocused(false);
      }}
    >
      <Icon name={t.tone === 'success' ? 'check' : t.tone === 'danger' ? 'alert' : 'info'} size={16} />
      <span className="toast-message">{t.message}</span>
      {t.action && (
        <button
          type="button"
          className="toast-action"
          onClick={() => {
            const { run } = t.action ?? {};
            dismiss(t.id);
            run?.();
          }}
        >
          {t.action.label}
        </button>
      )}
      <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
        <Icon name="x" size={12} />
      </button>
    </div>
  );
}

/**
 * Results of actions, announced politely; errors stay where they happened, this only confirms. A
 * toast may offer one follow-up (Undo) and then stays up longer, and while hovered or focused.
 */
export function Toasts() {
  const toasts = useUi((s) => s.toasts);
  const stack = useRef<HTMLDivElement>(null);
  const bottom = useClearOfActionBars(stack, toasts.length > 0);
  return (
    <div ref={stack} className="toasts" aria-live="polite" aria-relevant="additions" style={{ bottom }}>
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} />
      ))}
    </div>
  );
}
