import { useEffect, useMemo, useState } from 'react';
import type { FileMeta, FilesDiffReport, SnapshotRef } from '../../shared/types.ts';
import { useDelta, useFilesDiff, useFileView, useUpdateCheck } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { ChangedPathList, StatusBadge, StatusDot } from '../components/changed-path-list.tsx';
import { SnapshotPicker } from '../components/deployment-picker.tsx';
import { DiffLayoutToggle, type DiffMode, DiffStat, DiffView } from '../components/diff-view.tsx';
import { DeltaSummary, PackageDeltaView } from '../components/package-delta-view.tsx';
import { RestoreDefault } from '../components/restore-default.tsx';
import {
  Badge,
  EmptyState,
  ErrorNotice,
  IconButton,
  Loading,
  Notice,
  ScreenHeader,
  Segmented,
  Skeleton,
} from '../components/ui.tsx';
import {
  deploymentSelector,
  describeMeta,
  formatBytes,
  formatDay,
  shortChecksum,
  snapshotSelector,
  versionName,
} from '../lib/format.ts';
import { useUi } from '../state/ui-store.ts';

export function snapshotTitle(ref: SnapshotRef): string {
  const where = ref.index === null ? 'not deployed' : `deployment ${ref.index}`;
  return `${versionName(ref)} (${where}, ${shortChecksum(ref.checksum)}, ${formatDay(ref.timestamp)})`;
}

type Tab = 'packages' | 'files';
type FileEntry = FilesDiffReport['entries'][number];

const FILE_CHANGE_WORDS: Record<FileEntry['changes'][number], string> = {
  content: 'content',
  target: 'link target',
  type: 'file type',
  mode: 'permissions',
  owner: 'owner',
  group: 'group',
};

/** Where an image's default /etc lives in its tree: `/usr/etc/…` is what `/etc/…` starts from. */
const USR_ETC = '/usr/etc/';

function typeWord(meta: FileMeta | null): string {
  if (!meta) return 'absent';
  return meta.type === 'directory' ? 'folder' : meta.type === 'symlink' ? 'symbolic link' : meta.type;
}

function PackagesTab({ from, to }: { from: string; to: string }) {
  const delta = useDelta(from, to);
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
        title="The two snapshots could not be compared"
        error={delta.error}
        onRetry={() => void delta.refetch()}
      />
    );
  return (
    <>
      <p className="compare-caption">
        From <strong>{snapshotTitle(delta.data.from)}</strong> to{' '}
        <strong>{snapshotTitle(delta.data.to)}</strong>
      </p>
      <DeltaSummary delta={delta.data} />
      <PackageDeltaView delta={delta.data} />
    </>
  );
}

function FileDetail({ report, entry }: { report: FilesDiffReport; entry: FileEntry }) {
  const system = useSystem();
  const [mode, setMode] = useState<DiffMode>('split');
  const from = snapshotSelector(report.from);
  const to = snapshotSelector(report.to);
  const fromName = versionName(report.from);
  const toName = versionName(report.to);
  const isFile = entry.from?.type === 'file' || entry.to?.type === 'file';
  const pathArg = { path: entry.path, ...(entry.pathBase64 ? { pathBase64: entry.pathBase64 } : {}) };
  const file = useFileView(isFile ? from : undefined, to, isFile ? pathArg : undefined);
  const view = file.data;
  const binary = view ? view.from.content === 'binary' || view.to.content === 'binary' : false;
  const large = view ? view.from.content === 'large' || view.to.content === 'large' : false;
  const hunks = useMemo(() => view?.hunks ?? [], [view]);
  // An image default of a deployment's /etc: restoring puts that deployment's /etc back to it.
  const toDeployment =
    report.to.index !== null
      ? system.deployments.find((d) => d.checksum === report.to.checksum && d.serial === report.to.serial)
      : undefined;
  const etcPath =
    entry.path.startsWith(USR_ETC) && !entry.pathBase64 ? entry.path.slice(USR_ETC.length) : null;
  const folder = entry.from?.type === 'directory' || entry.to?.type === 'directory';

  return (
    <section className="file-detail" aria-label={entry.path}>
      <header className="file-head">
        <h2 className="file-path mono">{entry.path}</h2>
        <div className="badges">
          <StatusBadge status={entry.status} />
          {entry.changes.map((c) => (
            <Badge key={c} tone="neutral">
              {FILE_CHANGE_WORDS[c]}
            </Badge>
          ))}
          {view && !binary && !large && hunks.length > 0 && <DiffStat hunks={hunks} />}
        </div>
      </header>
      <dl className="facts">
        <div>
          <dt>In {fromName}</dt>
          <dd>{describeMeta(entry.from)}</dd>
        </div>
        <div>
          <dt>In {toName}</dt>
          <dd>{describeMeta(entry.to)}</dd>
        </div>
        {entry.package && (
          <div>
            <dt>Package</dt>
            <dd className="mono">{entry.package}</dd>
          </div>
        )}
      </dl>
      {((etcPath && toDeployment && !folder) || (view && !binary && !large && hunks.length > 0)) && (
        <div className="toolbar">
          {etcPath && toDeployment && !folder && (
            <RestoreDefault
              deployment={deploymentSelector(toDeployment)}
              path={{ path: etcPath }}
              hasDefault={entry.to !== null}
              running={toDeployment.booted}
              label={`Restore /etc/${etcPath} of ${toName} to this image default`}
              deploymentName={toName}
            />
          )}
          {view && !binary && !large && hunks.length > 0 && (
            <DiffLayoutToggle value={mode} onChange={setMode} />
          )}
        </div>
      )}
      {!isFile ? (
        <p className="muted detail-note">
          {folder
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
      ) : binary ? (
        <Notice tone="neutral" title="Binary file">
          <p>
            Its content is not text, so there is no line diff. {typeWord(entry.from)},{' '}
            {entry.from ? formatBytes(entry.from.size) : '—'} → {typeWord(entry.to)},{' '}
            {entry.to ? formatBytes(entry.to.size) : '—'}.
          </p>
        </Notice>
      ) : large ? (
        <Notice tone="neutral" title="Large file">
          <p>
            At {formatBytes(Math.max(entry.from?.size ?? 0, entry.to?.size ?? 0))} it is too large to show as
            a line diff ({entry.from ? formatBytes(entry.from.size) : 'absent'} →{' '}
            {entry.to ? formatBytes(entry.to.size) : 'absent'}).
          </p>
        </Notice>
      ) : hunks.length === 0 ? (
        <p className="muted detail-note">
          {entry.from && entry.to ? 'The text is the same; only its properties differ.' : 'An empty file.'}
        </p>
      ) : (
        <DiffView
          hunks={hunks}
          mode={mode}
          label={`Changes to ${entry.path}`}
          oldLabel={`${fromName} (${shortChecksum(report.from.checksum)})`}
          newLabel={`${toName} (${shortChecksum(report.to.checksum)})`}
        />
      )}
    </section>
  );
}

function FilesTab({ from, to }: { from: string; to: string }) {
  const files = useFilesDiff(from, to);
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  if (files.isPending) return <Loading label="Comparing the files of both trees…" />;
  if (files.isError)
    return files.error.code === 'not-downloaded' ? (
      <Notice tone="neutral" title="Its files are known once it is downloaded">
        <p>
          Only the package list of a commit that is not downloaded is here so far; its files come with the
          rest of it (staging the update downloads it).
        </p>
      </Notice>
    ) : (
      <ErrorNotice
        title="The files could not be compared"
        error={files.error}
        onRetry={() => void files.refetch()}
      />
    );
  const report = files.data;
  const { entries, counts, truncated } = report;
  return (
    <>
      <p className="compare-caption">
        From <strong>{snapshotTitle(report.from)}</strong> to <strong>{snapshotTitle(report.to)}</strong>
      </p>
      {entries.length === 0 ? (
        <EmptyState icon="check" title="Same files">
          Both trees hold exactly the same files.
        </EmptyState>
      ) : (
        <>
          {truncated && (
            <Notice tone="warning" compact title="Only the first files are listed">
              <p>
                More paths differ than Hindsight lists at once ({counts.added.toLocaleString()} added,{' '}
                {counts.removed.toLocaleString()} removed, {counts.modified.toLocaleString()} changed in all);
                the list shows the first {entries.length.toLocaleString()} in tree order.
              </p>
            </Notice>
          )}
          <ChangedPathList
            entries={entries}
            counts={counts}
            title="Changed files"
            treeLabel={`Changed files from ${versionName(report.from)} to ${versionName(report.to)}`}
            selected={params.path}
            onSelect={(path) => setParams({ path })}
            isFolder={(e) => e.from?.type === 'directory' || e.to?.type === 'directory'}
            searchText={packageOf}
            renderMeta={(e) => (
              <>
                {e.package && <span className="tree-package">{e.package}</span>}
                <StatusDot status={e.status} />
              </>
            )}
            renderDetail={(e) => <FileDetail key={`${from}:${to}:${e.path}`} report={report} entry={e} />}
          />
        </>
      )}
    </>
  );
}

const packageOf = (e: FileEntry): string | undefined => e.package;

export function CompareScreen() {
  const system = useSystem();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  const updates = useUpdateCheck(false);

  // Default: what the next boot changes from the running system, or else from the rollback.
  const fallbackFrom =
    system.booted && system.next && system.booted !== system.next ? system.booted : (system.rollback ?? null);
  const fallbackTo = system.next;
  const from = params.from ?? (fallbackFrom ? deploymentSelector(fallbackFrom) : undefined);
  const to = params.to ?? (fallbackTo ? deploymentSelector(fallbackTo) : undefined);

  useEffect(() => {
    if ((!params.from && from) || (!params.to && to)) setParams({ from, to });
  }, [params.from, params.to, from, to, setParams]);

  const tab: Tab = params.tab === 'files' ? 'files' : 'packages';
  const available = updates.data?.available;
  const extra =
    available && !system.deployments.some((d) => d.checksum === available.checksum)
      ? [
          {
            value: available.checksum,
            label: `${versionName(available)} — available update (${shortChecksum(available.checksum)})`,
          },
        ]
      : [];

  return (
    <div className="screen screen-review">
      <ScreenHeader
        title="Compare"
        subtitle="Packages and files that differ between two deployments or commits"
      />
      <div className="compare-pickers card">
        <SnapshotPicker
          label="From (older)"
          value={from}
          onChange={(v) => setParams({ from: v, path: undefined })}
          deployments={system.deployments}
          labels={system.labels}
          extra={extra}
          allowCommit
        />
        <IconButton
          icon="swap"
          label="Swap the two sides"
          variant="secondary"
          size="md"
          onClick={() => setParams({ from: to, to: from, path: undefined })}
          disabled={!from || !to}
        />
        <SnapshotPicker
          label="To (newer)"
          value={to}
          onChange={(v) => setParams({ to: v, path: undefined })}
          deployments={system.deployments}
          labels={system.labels}
          extra={extra}
          allowCommit
        />
      </div>
      {!from || !to ? (
        <EmptyState icon="compare" title="Choose two snapshots">
          Pick what to compare above. With a single deployment there is nothing to compare it with yet.
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
