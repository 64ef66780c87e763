import { useDeferredValue, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { EtcDriftEntry, FileMeta } from '../../shared/types.ts';
import { useDrift, useEtcFile, useOperation } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { SnapshotPicker } from '../components/deployment-picker.tsx';
import { type DiffMode, DiffView } from '../components/diff-view.tsx';
import { Icon } from '../components/icons.tsx';
import { PathTree } from '../components/path-tree-view.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  Loading,
  Notice,
  ScreenHeader,
  SearchField,
  Segmented,
} from '../components/ui.tsx';
import { diffStats, hunksFor } from '../lib/diff-rows.ts';
import { deploymentSelector, formatBytes, formatMode, plural, versionName } from '../lib/format.ts';
import { CHANGE_LABELS, DRIFT_LABELS } from '../lib/labels.ts';
import { useUi } from '../state/ui-store.ts';

type StatusFilter = 'all' | EtcDriftEntry['status'];

const STATUS_TONE = { added: 'success', modified: 'accent', removed: 'danger' } as const;

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

function MetaTable({ base, local }: { base: FileMeta | null; local: FileMeta | null }) {
  const rows: { label: string; before: string; after: string }[] = [];
  const typeName = (m: FileMeta | null): string =>
    !m ? '—' : m.type === 'directory' ? 'folder' : m.type === 'symlink' ? 'symbolic link' : m.type;
  rows.push({ label: 'Type', before: typeName(base), after: typeName(local) });
  rows.push({
    label: 'Permissions',
    before: base ? formatMode(base.mode) : '—',
    after: local ? formatMode(local.mode) : '—',
  });
  rows.push({
    label: 'Owner (uid:gid)',
    before: base ? `${base.uid}:${base.gid}` : '—',
    after: local ? `${local.uid}:${local.gid}` : '—',
  });
  if (base?.type === 'file' || local?.type === 'file') {
    rows.push({
      label: 'Size',
      before: base?.type === 'file' ? formatBytes(base.size) : '—',
      after: local?.type === 'file' ? formatBytes(local.size) : '—',
    });
  }
  if (base?.target !== undefined || local?.target !== undefined) {
    rows.push({ label: 'Link target', before: base?.target ?? '—', after: local?.target ?? '—' });
  }
  return (
    <table className="meta-table">
      <thead>
        <tr>
          <th scope="col">
            <span className="sr-only">Property</span>
          </th>
          <th scope="col">Image default</th>
          <th scope="col">This /etc</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.label} className={r.before !== r.after ? 'is-changed' : undefined}>
            <th scope="row">{r.label}</th>
            <td className="mono">{r.before}</td>
            <td className="mono">{r.after}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LockedFile({ path }: { path: string }) {
  const unlock = useOperation('helper:unlock');
  return (
    <Notice
      tone="warning"
      icon="lock"
      title="Only an administrator can read this file"
      actions={
        <Button icon="lock" busy={unlock.isPending} onClick={() => unlock.mutate({})}>
          Unlock
        </Button>
      }
    >
      <p>
        <code>/etc/{path}</code> is readable by root only. Unlock asks for your password and restarts
        Hindsight’s reader with administrator rights; it still changes nothing.
      </p>
      {unlock.error && <ErrorNotice error={unlock.error} compact />}
    </Notice>
  );
}

function FileDetail({ deployment, entry }: { deployment: string; entry: EtcDriftEntry }) {
  const [mode, setMode] = useState<DiffMode>('split');
  const wantsContent = entry.content === 'text';
  const file = useEtcFile(wantsContent ? deployment : undefined, entry.path);
  const hunks = useMemo(() => {
    if (!file.data) return [];
    if (file.data.hunks) return file.data.hunks;
    return hunksFor(file.data.base.text ?? '', file.data.local.text ?? '');
  }, [file.data]);
  const stats = diffStats(hunks);

  return (
    <section className="file-detail" aria-label={`/etc/${entry.path}`}>
      <header className="file-head">
        <h2 className="file-path mono">/etc/{entry.path}</h2>
        <div className="badges">
          <Badge tone={STATUS_TONE[entry.status]}>{DRIFT_LABELS[entry.status]}</Badge>
          {entry.changes.map((c) => (
            <Badge key={c} tone="neutral">
              {CHANGE_LABELS[c]}
            </Badge>
          ))}
          {wantsContent && file.data && (
            <span className="diff-stat">
              <span className="diff-stat-add">+{stats.added}</span>{' '}
              <span className="diff-stat-del">−{stats.removed}</span>
            </span>
          )}
        </div>
      </header>
      <MetaTable base={entry.base} local={entry.local} />
      {entry.content === 'binary' ? (
        <Notice tone="neutral" title="Binary file">
          <p>
            Its content changed, but it is not text, so there is no line diff.{' '}
            {entry.base && entry.local
              ? `Size ${formatBytes(entry.base.size)} → ${formatBytes(entry.local.size)}.`
              : null}
          </p>
        </Notice>
      ) : entry.content === 'large' ? (
        <Notice tone="neutral" title="Large file">
          <p>
            At {formatBytes(Math.max(entry.base?.size ?? 0, entry.local?.size ?? 0))} it is too large to show
            as a line diff.
          </p>
        </Notice>
      ) : entry.content === 'none' ? (
        <p className="muted detail-note">
          {entry.local?.type === 'directory' || entry.base?.type === 'directory'
            ? `A folder ${entry.status === 'added' ? 'that you created' : entry.status === 'removed' ? 'that you deleted' : 'whose properties changed'}.`
            : 'Only its properties changed; the content is the same.'}
        </p>
      ) : file.isPending ? (
        <Loading label="Reading both versions…" compact />
      ) : file.isError ? (
        file.error.code === 'not-authorized' ? (
          <LockedFile path={entry.path} />
        ) : (
          <ErrorNotice
            title="This file could not be shown"
            error={file.error}
            onRetry={() => void file.refetch()}
          />
        )
      ) : hunks.length === 0 ? (
        <p className="muted detail-note">The text is the same; only the end of the file differs.</p>
      ) : (
        <>
          <div className="toolbar">
            <Segmented
              label="Diff layout"
              size="sm"
              value={mode}
              onChange={setMode}
              options={[
                { value: 'split', label: 'Side by side', icon: 'columns' },
                { value: 'unified', label: 'Unified', icon: 'rows' },
              ]}
            />
          </div>
          <DiffView
            hunks={hunks}
            mode={mode}
            label={`Changes to /etc/${entry.path}`}
            oldLabel="Image default (usr/etc)"
            newLabel="This deployment’s /etc"
          />
        </>
      )}
    </section>
  );
}

export function EtcDriftScreen() {
  const system = useSystem();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  const deployment = params.deployment ?? (system.current ? deploymentSelector(system.current) : undefined);
  const drift = useDrift(deployment);
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const [status, setStatus] = useState<StatusFilter>('all');
  const [listOpen, setListOpen] = useState(false);
  const listId = useId();
  const showId = useId();
  const d = system.find(deployment);

  useEffect(() => {
    if (!params.deployment && deployment) setParams({ deployment });
  }, [params.deployment, deployment, setParams]);

  const entries = drift.data?.entries ?? [];
  const filtered = useMemo(() => {
    const q = deferred.trim().toLowerCase();
    return entries.filter(
      (e) => (status === 'all' || e.status === status) && (!q || e.path.toLowerCase().includes(q)),
    );
  }, [entries, deferred, status]);
  const selected = entries.find((e) => e.path === params.path) ?? null;
  const counts = {
    added: entries.filter((e) => e.status === 'added').length,
    modified: entries.filter((e) => e.status === 'modified').length,
    removed: entries.filter((e) => e.status === 'removed').length,
  };

  useEffect(() => {
    // Open the first changed file so the screen never starts empty.
    if (!params.path && filtered.length) {
      const first = filtered.find((e) => e.content === 'text') ?? filtered[0];
      if (first) setParams({ path: first.path });
    }
  }, [params.path, filtered, setParams]);

  return (
    <div className="screen screen-review">
      <ScreenHeader
        title="/etc changes"
        subtitle={
          d
            ? `What ${versionName(d)}’s /etc changed against its image’s defaults`
            : 'What a deployment’s /etc changed against its image’s defaults'
        }
        actions={
          <SnapshotPicker
            label="Deployment"
            value={deployment}
            onChange={(v) => setParams({ deployment: v, path: undefined })}
            deployments={system.deployments}
            labels={system.labels}
          />
        }
      />
      {!deployment ? (
        <EmptyState icon="layers" title="No deployment to show" />
      ) : drift.isPending ? (
        <Loading label="Comparing /etc with the image’s defaults…" />
      ) : drift.isError ? (
        <ErrorNotice
          title="/etc could not be read"
          error={drift.error}
          onRetry={() => void drift.refetch()}
        />
      ) : entries.length === 0 ? (
        <EmptyState icon="check" title="No local changes">
          This deployment’s /etc is exactly what its image ships.
        </EmptyState>
      ) : (
        <div className="split-pane">
          <aside className={`pane pane-list${listOpen ? '' : ' is-collapsed'}`} aria-label="Changed paths">
            <ListToggle
              label="Changed paths"
              count={entries.length}
              current={selected ? `/etc/${selected.path}` : undefined}
              open={listOpen}
              onToggle={() => setListOpen((open) => !open)}
              controls={listId}
            />
            <div className="pane-list-body" id={listId}>
              <div className="pane-tools">
                <SearchField
                  value={query}
                  onChange={setQuery}
                  label="Filter paths"
                  placeholder="Filter paths"
                />
                <label className="sr-only" htmlFor={showId}>
                  Show
                </label>
                <select
                  id={showId}
                  className="select pane-filter"
                  value={status}
                  onChange={(e) => setStatus(e.target.value as StatusFilter)}
                >
                  <option value="all">All ({entries.length})</option>
                  <option value="modified">Changed ({counts.modified})</option>
                  <option value="added">Added ({counts.added})</option>
                  <option value="removed">Deleted ({counts.removed})</option>
                </select>
              </div>
              <p className="pane-caption muted" aria-live="polite">
                {filtered.length === entries.length
                  ? plural(entries.length, 'changed path')
                  : `${filtered.length} of ${plural(entries.length, 'changed path')}`}
              </p>
              {filtered.length === 0 ? (
                <EmptyState icon="search" title="Nothing matches the filter" />
              ) : (
                <PathTree
                  entries={filtered}
                  selected={params.path}
                  onSelect={(e) => {
                    setParams({ path: e.path });
                    setListOpen(false);
                  }}
                  label="Changed paths under /etc"
                  isFolderEntry={(e) => e.local?.type === 'directory' || e.base?.type === 'directory'}
                  renderMeta={(e) => (
                    <span className={`status-dot status-${e.status}`} title={DRIFT_LABELS[e.status]}>
                      <span className="sr-only">{DRIFT_LABELS[e.status]}</span>
                      {e.status === 'added' ? 'A' : e.status === 'removed' ? 'D' : 'M'}
                    </span>
                  )}
                />
              )}
            </div>
          </aside>
          <div className="pane pane-detail">
            {selected ? (
              <FileDetail key={`${deployment}:${selected.path}`} deployment={deployment} entry={selected} />
            ) : (
              <EmptyState icon="file" title="Choose a path">
                Pick a changed path on the left to see what changed.
              </EmptyState>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
