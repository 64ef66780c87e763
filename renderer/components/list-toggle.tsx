import { useEffect, useRef } from 'react';
import { Icon } from './icons.tsx';

/**
 * The list pane's heading as a button: on a narrow window the list folds away above the detail and
 * this says which file is open; on a wide one the list stays beside the detail and it is not shown.
 */
export function ListToggle({
  label,
  count,
  current,
  open,
  onToggle,
  controls,
}: {
  label: string;
  count: number;
  current: string | undefined;
  open: boolean;
  onToggle: () => void;
  controls: string;
}) {
  const ref = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(open);
  useEffect(() => {
    // A choice in the list folds it away; keyboard focus stays on its heading instead of falling to the page.
    const focused = document.activeElement;
    const lost = focused === document.body || (focused instanceof HTMLElement && !focused.checkVisibility());
    if (wasOpen.current && !open && lost) ref.current?.focus();
    wasOpen.current = open;
  }, [open]);
  return (
    <button
      ref={ref}
      type="button"
      className="list-toggle"
      aria-expanded={open}
      aria-controls={controls}
      onClick={onToggle}
    >
      <Icon name={open ? 'chevronDown' : 'chevronRight'} size={14} />
      <span className="list-toggle-label">{label}</span>
      <span className="list-toggle-count">{count.toLocaleString()}</span>
      {current && <span className="list-toggle-current mono">{current}</span>}
    </button>
  );
}
