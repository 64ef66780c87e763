import { useEffect, useId, useMemo, useState } from 'react';
import { BACKEND_WORDS } from '../../shared/backends.ts';
import type { FileChangeEntry, SnapperSnapshot } from '../../shared/snapper.ts';
import { useOperation } from '../api/queries.ts';
import { useSnapperDelta, useSnapperFile, useSnapperFiles } from '../api/snapper-queries.ts';
import { ChangedPathList, StatusBadge } from '../components/changed-path-list.tsx';
import { ConfirmDialog } from '../components/dialog.tsx';
import { DiffLayoutToggle, type DiffMode, DiffStat, DiffView } from '../components/diff-view.tsx';
import { DeltaSummary, PackageDeltaView } from '../components/package-delta-view.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  IconButton,
  Loading,
  Notice,
  ScreenHeader,
  Segmented,
  Skeleton,
} from '../components/ui.tsx';
import { hunksFor } from '../lib/diff-rows.ts';
import { describeMeta, formatBytes, formatDay } from '../lib/format.ts';
import { changeRows, compareDefault, snapshotLabel } from '../lib/snapper-changes.ts';
import { useUi } from '../state/ui-store.ts';
import { useSnapper } from './snapshots.tsx';

const WORDS = BACKEND_WORDS.snapper;

/** Chooses one of snapper's snapshots, snapshot 0 (the live root) included. */
export function SnapperPicker({
  label,
  value,
  onChange,
  snapshots,
}: {
  label: string;
  value: string | undefined;
  onChange: (value: string) => void;
  snapshots: SnapperSnapshot[];
}) {
  const id = useId();
  const known = snapshots.some((s) => String(s.number) === value);
  return (
    <div className="picker">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <select id={id} className="select" value={value ?? ''} onChange={(e) => onChange(e.target.value)}>
        {(!value || !known) && (
          <option value={value ?? ''}>{value ? `${value} (not listed)` : 'Choose…'}</option>
        )}
        {[...snapshots]
          .sort((a, b) => (a.number === 0 ? -1 : b.number === 0 ? 1 : b.number - a.number))
          .map((s) => (
            <option key={s.number} value={String(s.number)}>
              {snapshotLabel(s)}
              {s.date ? ` (${formatDay(s.date)})` : ''}
            </option>
          ))}
      </select>
    </div>
  );
}

type Tab = 'packages' | 'files';

function PackagesTab({ from, to }: { from: string; to: string }) {
  const delta = useSnapperDelta(from, to);
  if (delta.isPending)
    return (
      <div className="card">
        <Loading label="Reading both package databases…" />
        <Skeleton lines={6} />
      </div>
    );
  if (delta.isError)
    return (
      <ErrorNotice
        title={`The two ${WORDS.entries} could not be compared`}
        error={delta.error}
        onRetry={() => void delta.refetch()}
      />
    );
  return (
    <>
      <DeltaSummary delta={delta.data} />
      <PackageDeltaView
        delta={delta.data}
        label={`Package changes from ${WORDS.entry} ${delta.data.from.number} to ${WORDS.entry} ${delta.data.to.number}`}
      />
    </>
  );
}

function FileDetail({ from, to, entry }: { from: string; to: string; entry: FileChangeEntry }) {
  const [mode, setMode] = useState<DiffMode>('split');
  const [confirm, setConfirm] = useState(false);
  const restore = useOperation('snapshots:restore');
  const undo = useOperation('snapshots:undo-file');
  const toast = useUi((s) => s.toast);
  const isFile = entry.from?.type === 'file' || entry.to?.type === 'file';
  const pathArg = { path: entry.path, ...(entry.pathBase64 ? { pathBase64: entry.pathBase64 } : {}) };
  const file = useSnapperFile(isFile ? from : undefined, to, isFile ? pathArg : undefined);
  const view = file.data;
  const isText = view ? view.from.content !== 'binary' && view.to.content !== 'binary' : false;
  const tooLarge = view ? view.from.content === 'large' || view.to.content === 'large' : false;
  const hunks = useMemo(() => {
    if (!view) return [];
    if (view.hunks) return view.hunks;
    return hunksFor(view.from.text ?? '', view.to.text ?? '');
  }, [view]);
  const restoreReason =
    from === '0'
      ? `The older side is the live root itself; choose an older ${WORDS.entry} to restore from.`
      : !entry.from
        ? `It does not exist in ${WORDS.entry} ${from}.`
        : null;

  return (
    <section className="file-detail" aria-label={entry.path}>
      <header className="file-head">
        <h2 className="file-path mono">{entry.path}</h2>
        <div className="badges">
          <StatusBadge status={entry.status} />
          {entry.changes.map((c) => (
            <Badge key={c} tone="neutral">
              {c}
            </Badge>
          ))}
          {view && isText && !tooLarge && <DiffStat hunks={hunks} />}
        </div>
      </header>
      <dl className="facts">
        <div>
          <dt>
            In {WORDS.entry} {from}
          </dt>
          <dd>{describeMeta(entry.from)}</dd>
        </div>
        <div>
          <dt>
            In {WORDS.entry} {to}
          </dt>
          <dd>{describeMeta(entry.to)}</dd>
        </div>
      </dl>
      <div className="toolbar">
        <Button
          size="sm"
          icon="undo"
          disabledReason={restoreReason}
          onClick={() => setConfirm(true)}
          aria-label={`Restore this file from ${WORDS.entry} ${from}`}
        >
          Restore this file
        </Button>
        {isFile && view && isText && !tooLarge && hunks.length > 0 && (
          <DiffLayoutToggle value={mode} onChange={setMode} />
        )}
      </div>
      {(restore.error ?? undo.error) && (
        <ErrorNotice
          error={restore.error ?? undo.error}
          compact
          title={restore.error ? 'The file was not restored' : 'The restore was not undone'}
        />
      )}
      {!isFile ? (
        <p className="muted detail-note">
          {entry.from?.type === 'directory' || entry.to?.type === 'directory'
            ? 'A folder: only its properties are compared.'
            : entry.from?.type === 'symlink' || entry.to?.type === 'symlink'
              ? `A symbolic link: ${entry.from?.target ?? '—'} → ${entry.to?.target ?? '—'}.`
              : 'Not a regular file: only its properties are compared.'}
        </p>
      ) : file.isPending ? (
        <Loading label="Reading both versions…" compact />
      ) : file.isError ? (
        <ErrorNotice
          title="This file could not be shown"
          error={file.error}
          onRetry={() => void file.refetch()}
        />
      ) : !isText ? (
        <Notice tone="neutral" title="Binary file">
          <p>
            Its content is not text, so there is no line diff. Size{' '}
            {entry.from ? formatBytes(entry.from.size) : '—'} → {entry.to ? formatBytes(entry.to.size) : '—'}.
          </p>
        </Notice>
      ) : tooLarge ? (
        <Notice tone="neutral" title="Large file">
          <p>
            At {formatBytes(Math.max(entry.from?.size ?? 0, entry.to?.size ?? 0))} it is too large to show as
            a line diff.
          </p>
        </Notice>
      ) : hunks.length === 0 ? (
        <p className="muted detail-note">The text is the same; only its properties differ.</p>
      ) : (
        <DiffView
          hunks={hunks}
          mode={mode}
          label={`Changes to ${entry.path}`}
          oldLabel={`${capitalise(WORDS.entry)} ${from}`}
          newLabel={to === '0' ? 'Current (live root)' : `${capitalise(WORDS.entry)} ${to}`}
        />
      )}
      <ConfirmDialog
        open={confirm}
        title={`Restore ${entry.path}?`}
        confirmLabel="Restore into the running system"
        operation={restore}
        onCancel={() => setConfirm(false)}
        onConfirm={() =>
          // As with merges: the file may leave the list before the call returns.
          restore
            .mutateAsync({ from, path: pathArg })
            .then((result) => {
              setConfirm(false);
              const backupId = result.backupId;
              toast('success', result.message, {
                action: backupId ? { label: 'Undo', run: () => undo.mutate({ backupId }) } : undefined,
              });
            })
            .catch(() => {})
        }
      >
        <p>
          {entry.path} in the running system is replaced by its copy from {WORDS.entry} {from}
          {entry.from ? ` (${describeMeta(entry.from)})` : ''}. What is there now is kept as a backup, so Undo
          puts it back.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function FilesTab({ from, to }: { from: string; to: string }) {
  const files = useSnapperFiles(from, to);
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  if (files.isPending) return <Loading label={`Comparing the files of both ${WORDS.entries}…`} />;
  if (files.isError)
    return (
      <ErrorNotice
        title="The files could not be compared"
        error={files.error}
        onRetry={() => void files.refetch()}
      />
    );
  const { entries, counts, truncated } = files.data;
  if (entries.length === 0)
    return (
      <EmptyState icon="check" title="Same files">
        Both {WORDS.entries} hold exactly the same files.
      </EmptyState>
    );
  return (
    <>
      {truncated && (
        <Notice tone="warning" compact title="Only the first files are listed">
          <p>
            More paths differ than Hindsight lists at once ({counts.added.toLocaleString()} added,{' '}
            {counts.removed.toLocaleString()} removed, {counts.modified.toLocaleString()} changed in all).
          </p>
        </Notice>
      )}
      <ChangedPathList
        entries={entries}
        counts={counts}
        title="Changed files"
        treeLabel={`Changed files from ${WORDS.entry} ${from} to ${to}`}
        selected={params.path}
        onSelect={(path) => setParams({ path })}
        isFolder={(e) => e.from?.type === 'directory' || e.to?.type === 'directory'}
        renderDetail={(e) => <FileDetail key={`${from}:${to}:${e.path}`} from={from} to={to} entry={e} />}
      />
    </>
  );
}

export function SnapperCompareScreen() {
  const status = useSnapper();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  // Default: the newest change, before and after (or against the live root when it is a lone snapshot).
  const newest = changeRows(status).find((r) => r.kind !== 'current');
  const fallback = newest ? compareDefault(newest) : null;
  const from = params.from ?? (fallback ? String(fallback.from) : undefined);
  const to = params.to ?? (fallback ? String(fallback.to) : undefined);
  const tab: Tab = params.tab === 'files' ? 'files' : 'packages';

  useEffect(() => {
    if ((!params.from && from) || (!params.to && to)) setParams({ from, to });
  }, [params.from, params.to, from, to, setParams]);

  return (
    <div className="screen screen-review">
      <ScreenHeader
        title="Compare"
        subtitle={`Packages and files that differ between two ${WORDS.entries}`}
      />
      <div className="compare-pickers card">
        <SnapperPicker
          label="From (older)"
          value={from}
          onChange={(v) => setParams({ from: v, path: undefined })}
          snapshots={status.snapshots}
        />
        <IconButton
          icon="swap"
          label="Swap the two sides"
          variant="secondary"
          size="md"
          onClick={() => setParams({ from: to, to: from, path: undefined })}
          disabled={!from || !to}
        />
        <SnapperPicker
          label="To (newer)"
          value={to}
          onChange={(v) => setParams({ to: v, path: undefined })}
          snapshots={status.snapshots}
        />
      </div>
      {!from || !to ? (
        <EmptyState icon="compare" title={`Choose two ${WORDS.entries}`}>
          Pick what to compare above.
        </EmptyState>
      ) : (
        <>
          <div className="toolbar">
            <Segmented
              label="Compare"
              value={tab}
              onChange={(v) => setParams({ tab: v === 'packages' ? undefined : v })}
              options={[
                { value: 'packages', label: 'Packages', icon: 'package' },
                { value: 'files', label: 'Files', icon: 'file' },
              ]}
            />
          </div>
          {tab === 'packages' ? <PackagesTab from={from} to={to} /> : <FilesTab from={from} to={to} />}
        </>
      )}
    </div>
  );
}
