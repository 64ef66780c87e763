import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { type ReactNode, type RefObject, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { DiffHunk } from '../../shared/types.ts';
import { diffStats, type SplitCell, splitRows, unifiedRows } from '../lib/diff-rows.ts';
import { Segmented } from './ui.tsx';

export type DiffMode = 'split' | 'unified';

const MARK = { add: '+', del: '−', context: ' ' } as const;
const SR = { add: 'added', del: 'removed', context: '' } as const;

function Cell({ cell, side }: { cell: SplitCell | null; side: 'old' | 'new' }) {
  if (!cell) return <div className={`diff-cell diff-empty diff-${side}`} aria-hidden="true" />;
  return (
    <div className={`diff-cell diff-${cell.kind} diff-${side}`}>
      <span className="diff-no" aria-hidden="true">
        {cell.no}
      </span>
      <span className="diff-mark" aria-hidden="true">
        {MARK[cell.kind]}
      </span>
      <span className="diff-text">
        {SR[cell.kind] && <span className="sr-only">{SR[cell.kind]}: </span>}
        {cell.text || ' '}
      </span>
    </div>
  );
}

function scrollParent(el: HTMLElement): HTMLElement {
  for (let p = el.parentElement; p; p = p.parentElement) {
    if (/(auto|scroll)/.test(getComputedStyle(p).overflowY)) return p;
  }
  return document.scrollingElement as HTMLElement;
}

/**
 * Virtualises a list that scrolls with the page rather than in a box of its own, so a screen keeps
 * one vertical scroll area however long the file. `listRef` is the list's element; its distance
 * from the top of the scrolling ancestor is the scroll margin, measured again whenever the page's
 * layout changes (a notice, a collapsed list), since anything above the list moves it. With
 * `scrollsItself` the list is a box of fixed height that scrolls on its own, as in a card.
 */
export function usePageVirtualizer<T extends HTMLElement>(
  listRef: RefObject<T | null>,
  options: {
    count: number;
    estimateSize: (index: number) => number;
    overscan: number;
    getItemKey?: (index: number) => string | number;
    scrollsItself?: boolean;
  },
): Virtualizer<HTMLElement, Element> {
  const { scrollsItself = false, ...virtual } = options;
  const [scroller, setScroller] = useState<HTMLElement | null>(null);
  const [margin, setMargin] = useState(0);
  // The list element can come and go (an empty search shows a notice instead): follow whichever is there.
  const attached = useRef<{
    list: HTMLElement;
    scrollsItself: boolean;
    measure: () => void;
    detach: () => void;
  }>(null);
  useLayoutEffect(() => {
    const list = listRef.current;
    const current = attached.current;
    if (current && current.list === list && current.scrollsItself === scrollsItself) {
      current.measure();
      return;
    }
    current?.detach();
    attached.current = null;
    if (!list) return;
    if (scrollsItself) {
      setScroller(list);
      setMargin(0);
      attached.current = { list, scrollsItself, measure: () => {}, detach: () => {} };
      return;
    }
    const parent = scrollParent(list);
    const measure = (): void => {
      const top = list.getBoundingClientRect().top - parent.getBoundingClientRect().top + parent.scrollTop;
      setMargin((prev) => (Math.abs(prev - top) < 0.5 ? prev : top));
    };
    const observer = new ResizeObserver(measure);
    observer.observe(parent);
    for (const child of parent.children) observer.observe(child);
    attached.current = { list, scrollsItself, measure, detach: () => observer.disconnect() };
    setScroller(parent);
    measure();
  });
  useEffect(() => () => attached.current?.detach(), []);
  return useVirtualizer({
    ...virtual,
    getScrollElement: () => scroller,
    scrollMargin: margin,
  });
}

/** A line diff, side by side or unified; only the rows in view are in the page, which scrolls. */
export function DiffView({
  hunks,
  mode,
  label,
  oldLabel = 'Before',
  newLabel = 'After',
}: {
  hunks: DiffHunk[];
  mode: DiffMode;
  label: string;
  oldLabel?: string;
  newLabel?: string;
}) {
  const rows = useMemo(() => (mode === 'split' ? splitRows(hunks) : unifiedRows(hunks)), [hunks, mode]);
  const listRef = useRef<HTMLElement>(null);
  const virtualizer = usePageVirtualizer(listRef, {
    count: rows.length,
    estimateSize: () => 20,
    overscan: 30,
  });
  const margin = virtualizer.options.scrollMargin;

  return (
    <div className={`diff diff-mode-${mode}`}>
      {mode === 'split' && (
        <div className="diff-columns" aria-hidden="true">
          <span>{oldLabel}</span>
          <span>{newLabel}</span>
        </div>
      )}
      <section ref={listRef} className="diff-scroll" aria-label={label}>
        <div className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            let body: ReactNode;
            if (row.kind === 'hunk') {
              body = <div className="diff-hunk">{row.header}</div>;
            } else if ('left' in row) {
              body = (
                <div className="diff-pair">
                  <Cell cell={row.left} side="old" />
                  <Cell cell={row.right} side="new" />
                </div>
              );
            } else if (row.kind === 'note') {
              body = <div className="diff-note">{row.text}</div>;
            } else {
              body = (
                <div className={`diff-line diff-${row.kind}`}>
                  <span className="diff-no" aria-hidden="true">
                    {row.oldNo ?? ''}
                  </span>
                  <span className="diff-no" aria-hidden="true">
                    {row.newNo ?? ''}
                  </span>
                  <span className="diff-mark" aria-hidden="true">
                    {MARK[row.kind]}
                  </span>
                  <span className="diff-text">
                    {SR[row.kind] && <span className="sr-only">{SR[row.kind]}: </span>}
                    {row.text || ' '}
                  </span>
                </div>
              );
            }
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="virtual-row"
                style={{ transform: `translateY(${item.start - margin}px)` }}
              >
                {body}
              </div>
            );
          })}
        </div>
      </section>
    </div>
  );
}

/** "+12 −3": how many lines a diff adds and removes. */
export function DiffStat({ hunks }: { hunks: DiffHunk[] }) {
  const stats = diffStats(hunks);
  return (
    <span className="diff-stat">
      <span className="diff-stat-add">+{stats.added}</span>{' '}
      <span className="diff-stat-del">−{stats.removed}</span>
    </span>
  );
}

/** Side by side or unified, for a DiffView. */
export function DiffLayoutToggle({
  value,
  onChange,
}: {
  value: DiffMode;
  onChange: (mode: DiffMode) => void;
}) {
  return (
    <Segmented
      label="Diff layout"
      size="sm"
      value={value}
      onChange={onChange}
      options={[
        { value: 'split', label: 'Side by side', icon: 'columns' },
        { value: 'unified', label: 'Unified', icon: 'rows' },
      ]}
    />
  );
}
