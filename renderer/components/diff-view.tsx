import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useMemo, useRef } from 'react';
import type { DiffHunk } from '../../shared/types.ts';
import { type SplitCell, splitRows, unifiedRows } from '../lib/diff-rows.ts';
import { ScrollRegion } from './ui.tsx';

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

/** A line diff, side by side or unified; only the rows in view are in the page. */
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
  const scrollRef = useRef<HTMLElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 21,
    overscan: 30,
  });

  return (
    <div className={`diff diff-mode-${mode}`}>
      {mode === 'split' && (
        <div className="diff-columns" aria-hidden="true">
          <span>{oldLabel}</span>
          <span>{newLabel}</span>
        </div>
      )}
      <ScrollRegion ref={scrollRef} className="diff-scroll" label={label}>
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
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {body}
              </div>
            );
          })}
        </div>
      </ScrollRegion>
    </div>
  );
}
