import { type ReactNode, useDeferredValue, useEffect, useId, useMemo, useState } from 'react';
import { plural } from '../lib/format.ts';
import { type ChangeStatus, STATUS_LABELS, STATUS_LETTERS, STATUS_TONES } from '../lib/labels.ts';
import { ListToggle } from './list-toggle.tsx';
import { PathTree } from './path-tree-view.tsx';
import { Badge, EmptyState, SearchField } from './ui.tsx';

/** What the list needs of an entry; each screen's own type carries more, for its detail. */
export interface ChangedPath {
  path: string;
  status: ChangeStatus;
}

type Filter = 'all' | ChangeStatus;

/** The key of a path in the tree and in the route's `path`: PathTree splits on `/`, so a leading one goes. */
export function treePath(path: string): string {
  return path.replace(/^\/+/, '');
}

/** The tree row's mark: a letter, with the status in words for screen readers and on hover. */
export function StatusDot({ status }: { status: ChangeStatus }) {
  return (
    <span className={`status-dot status-${status}`} title={STATUS_LABELS[status]}>
      <span className="sr-only">{STATUS_LABELS[status]}</span>
      {STATUS_LETTERS[status]}
    </span>
  );
}

export function StatusBadge({ status }: { status: ChangeStatus }) {
  return <Badge tone={STATUS_TONES[status]}>{STATUS_LABELS[status]}</Badge>;
}

/**
 * The changed paths between two trees beside the open one: a filterable tree on the left (it folds
 * away above the detail on a narrow window) and the chosen path's detail on the right.
 */
export function ChangedPathList<T extends ChangedPath>({
  entries,
  counts,
  title,
  prefix = '',
  treeLabel,
  selected,
  onSelect,
  isFolder,
  renderMeta = (entry) => <StatusDot status={entry.status} />,
  autoSelect,
  searchText,
  renderDetail,
}: {
  entries: readonly T[];
  /** The totals by status, when `entries` is only the first part of the list; else counted from it. */
  counts?: Record<ChangeStatus, number>;
  /** The pane's name, and its heading on a narrow window. */
  title: string;
  /** What the paths are below, shown before the open one in that heading (`/etc/`). */
  prefix?: string;
  /** The tree's name. */
  treeLabel: string;
  /** The open path, as `treePath` gives it. */
  selected: string | undefined;
  onSelect: (path: string) => void;
  /** A folder entry opens and closes on Enter rather than being chosen. */
  isFolder: (entry: T) => boolean;
  renderMeta?: (entry: T) => ReactNode;
  /** Which of the shown entries to open while none is. */
  autoSelect?: (shown: T[]) => T | undefined;
  /** More the filter matches besides the path (an owning package's name). */
  searchText?: (entry: T) => string | undefined;
  renderDetail: (entry: T) => ReactNode;
}) {
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const [status, setStatus] = useState<Filter>('all');
  const [open, setOpen] = useState(false);
  const listId = useId();
  const showId = useId();
  const rows = useMemo(() => entries.map((entry) => ({ path: treePath(entry.path), entry })), [entries]);
  const shown = useMemo(() => {
    const q = deferred.trim().toLowerCase();
    return rows.filter(
      (r) =>
        (status === 'all' || r.entry.status === status) &&
        (!q ||
          r.path.toLowerCase().includes(q) ||
          (searchText?.(r.entry)?.toLowerCase().includes(q) ?? false)),
    );
  }, [rows, deferred, status, searchText]);
  const total = useMemo(
    () =>
      counts ?? {
        added: entries.filter((e) => e.status === 'added').length,
        modified: entries.filter((e) => e.status === 'modified').length,
        removed: entries.filter((e) => e.status === 'removed').length,
      },
    [counts, entries],
  );
  const current = rows.find((r) => r.path === selected);

  useEffect(() => {
    // The screen never starts empty when it knows what to open first.
    if (selected || !autoSelect) return;
    const first = autoSelect(shown.map((r) => r.entry));
    if (first) onSelect(treePath(first.path));
  }, [selected, shown, autoSelect, onSelect]);

  return (
    <div className="split-pane">
      <aside className={`pane pane-list${open ? '' : ' is-collapsed'}`} aria-label={title}>
        <ListToggle
          label={title}
          count={rows.length}
          current={current ? `${prefix}${current.entry.path}` : undefined}
          open={open}
          onToggle={() => setOpen((was) => !was)}
          controls={listId}
        />
        <div className="pane-list-body" id={listId}>
          <div className="pane-tools">
            <SearchField value={query} onChange={setQuery} label="Filter paths" placeholder="Filter paths" />
            <label className="sr-only" htmlFor={showId}>
              Show
            </label>
            <select
              id={showId}
              className="select pane-filter"
              value={status}
              onChange={(e) => setStatus(e.target.value as Filter)}
            >
              <option value="all">All ({rows.length})</option>
              {(['modified', 'added', 'removed'] as const).map((s) => (
                <option key={s} value={s}>
                  {STATUS_LABELS[s]} ({total[s]})
                </option>
              ))}
            </select>
          </div>
          <p className="pane-caption muted" aria-live="polite">
            {shown.length === rows.length
              ? plural(rows.length, 'changed path')
              : `${shown.length} of ${plural(rows.length, 'changed path')}`}
          </p>
          {shown.length === 0 ? (
            <EmptyState icon="search" title="Nothing matches the filter" />
          ) : (
            <PathTree
              entries={shown}
              selected={selected}
              onSelect={(r) => {
                onSelect(r.path);
                setOpen(false);
              }}
              label={treeLabel}
              isFolderEntry={(r) => isFolder(r.entry)}
              renderMeta={(r) => renderMeta(r.entry)}
            />
          )}
        </div>
      </aside>
      <div className="pane pane-detail">
        {current ? (
          renderDetail(current.entry)
        ) : (
          <EmptyState icon="file" title="Choose a path">
            Pick a changed path on the left to see what changed.
          </EmptyState>
        )}
      </div>
    </div>
  );
}
