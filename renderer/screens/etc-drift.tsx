import { useEffect, useMemo, useState } from 'react';
import type { EtcDriftEntry, FileMeta } from '../../shared/types.ts';
import { useDrift, useEtcFile, useOperation } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { ChangedPathList, StatusBadge } from '../components/changed-path-list.tsx';
import { SnapshotPicker } from '../components/deployment-picker.tsx';
import { DiffLayoutToggle, type DiffMode, DiffStat, DiffView } from '../components/diff-view.tsx';
import { RestoreDefault } from '../components/restore-default.tsx';
import { Badge, Button, EmptyState, ErrorNotice, Loading, Notice, ScreenHeader } from '../components/ui.tsx';
import { hunksFor } from '../lib/diff-rows.ts';
import { deploymentSelector, formatBytes, formatMode, versionName } from '../lib/format.ts';
import { CHANGE_LABELS } from '../lib/labels.ts';
import { useUi } from '../state/ui-store.ts';

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

function FileDetail({
  deployment,
  entry,
  running,
}: {
  deployment: string;
  entry: EtcDriftEntry;
  running: boolean;
}) {
  const [mode, setMode] = useState<DiffMode>('split');
  const wantsContent = entry.content === 'text';
  const file = useEtcFile(wantsContent ? deployment : undefined, entry.path);
  const hunks = useMemo(() => {
    if (!file.data) return [];
    if (file.data.hunks) return file.data.hunks;
    return hunksFor(file.data.base.text ?? '', file.data.local.text ?? '');
  }, [file.data]);

  return (
    <section className="file-detail" aria-label={`/etc/${entry.path}`}>
      <header className="file-head">
        <h2 className="file-path mono">/etc/{entry.path}</h2>
        <div className="badges">
          <StatusBadge status={entry.status} />
          {entry.changes.map((c) => (
            <Badge key={c} tone="neutral">
              {CHANGE_LABELS[c]}
            </Badge>
          ))}
          {wantsContent && file.data && <DiffStat hunks={hunks} />}
        </div>
        {entry.local?.type !== 'directory' && entry.base?.type !== 'directory' && (
          <div className="file-actions">
            <RestoreDefault
              deployment={deployment}
              path={entry}
              hasDefault={entry.base !== null}
              running={running}
            />
          </div>
        )}
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
            <DiffLayoutToggle value={mode} onChange={setMode} />
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
  const d = system.find(deployment);

  useEffect(() => {
    if (!params.deployment && deployment) setParams({ deployment });
  }, [params.deployment, deployment, setParams]);

  const entries = drift.data?.entries ?? [];

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
        <ChangedPathList
          entries={entries}
          title="Changed paths"
          prefix="/etc/"
          treeLabel="Changed paths under /etc"
          selected={params.path}
          onSelect={(path) => setParams({ path })}
          isFolder={(e) => e.local?.type === 'directory' || e.base?.type === 'directory'}
          // Open the first changed file so the screen never starts empty.
          autoSelect={(shown) => shown.find((e) => e.content === 'text') ?? shown[0]}
          renderDetail={(e) => (
            <FileDetail
              key={`${deployment}:${e.path}`}
              deployment={deployment}
              entry={e}
              running={d?.booted === true}
            />
          )}
        />
      )}
    </div>
  );
}
