import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import type { HistoryEntry } from '../../shared/ipc-contract.ts';
import type { EtcBackupInfo } from '../../shared/types.ts';
import { useEtcBackups, useHistory, useOperation } from '../api/queries.ts';
import { type SystemView, useSystem } from '../api/use-system.ts';
import { ConfirmDialog } from '../components/dialog.tsx';
import { Icon } from '../components/icons.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  IconButton,
  Loading,
  Notice,
  ScreenHeader,
  ScrollRegion,
  SearchField,
  Segmented,
} from '../components/ui.tsx';
import { formatBytes, formatDate, formatRelative, plural, shortChecksum } from '../lib/format.ts';
import { OPERATION_LABELS, type Tone } from '../lib/labels.ts';
import { useUi } from '../state/ui-store.ts';

type ResultFilter = 'all' | 'ok' | 'error';

/** Turns a record's parameters into words: selectors become the versions they name. */
function describeParams(entry: HistoryEntry, system: SystemView): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(entry.params)) {
    if (key === 'sysroot' || key === 'os') continue;
    if (key === 'resolutions' && Array.isArray(value)) {
      parts.push(
        plural(value.length, 'file') +
          ': ' +
          value
            .slice(0, 3)
            .map((r) => (r as { path?: { path?: string } }).path?.path ?? '?')
            .join(', ') +
          (value.length > 3 ? '…' : ''),
      );
      continue;
    }
    if (typeof value === 'string') {
      const checksum = value.split('.')[0] ?? '';
      const d = /^[0-9a-f]{10,64}$/.test(checksum)
        ? system.deployments.find((x) => x.checksum.startsWith(checksum))
        : undefined;
      const shown = d?.version
        ? `${d.version} (${shortChecksum(d.checksum)})`
        : /^[0-9a-f]{64}/.test(value)
          ? shortChecksum(value)
          : value;
      parts.push(`${key} ${shown}`);
    } else if (typeof value === 'boolean') {
      if (value) parts.push(key);
    } else if (value !== undefined && value !== null) {
      parts.push(`${key} ${JSON.stringify(value)}`);
    }
  }
  return parts.join(' · ');
}

function paramsKey(params: Record<string, unknown>): string {
  const rest = Object.entries(params)
    .filter(([k]) => k !== 'sysroot' && k !== 'os')
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(rest);
}

/**
 * The helper's root-owned log and the app's own record both note an action the app started; show it
 * once (the helper's record). App records stay when the helper never saw the action, e.g. a password
 * prompt that was dismissed.
 */
export function withoutDuplicates(entries: HistoryEntry[]): HistoryEntry[] {
  const helper = entries.filter((e) => e.source === 'helper');
  return entries.filter(
    (e) =>
      e.source !== 'app' ||
      !helper.some(
        (h) =>
          h.operation === e.operation &&
          h.result === e.result &&
          Math.abs(Date.parse(h.time) - Date.parse(e.time)) < 120_000 &&
          paramsKey(h.params) === paramsKey(e.params),
      ),
  );
}

function who(entry: HistoryEntry): string {
  if (entry.user) return entry.user;
  if (entry.uid === 0) return 'root';
  if (entry.uid !== null) return `uid ${entry.uid}`;
  return 'unknown user';
}

const BACKUP_STATES: Record<EtcBackupInfo['state'], { label: string; tone: Tone; title: string }> = {
  applied: { label: 'Applied', tone: 'info', title: 'Undo puts back the files it holds' },
  prepared: {
    label: 'Interrupted',
    tone: 'warning',
    title: 'The apply stopped part way; undo still puts back the files it holds',
  },
  undone: { label: 'Undone', tone: 'neutral', title: 'Its change was undone already' },
};

function backupTarget(b: EtcBackupInfo): string {
  const t = b.target;
  if (t.index === null) return `a removed deployment (${shortChecksum(t.checksum)}.${t.serial})`;
  return `${t.version ?? shortChecksum(t.checksum)} (deployment ${t.index})`;
}

/**
 * The copies of /etc files that `etc apply` keeps for undo: root-only, pruned after each apply by the
 * limits shown here, and removable one by one (which cannot be taken back, hence the confirmation).
 */
function EtcBackups() {
  const backups = useEtcBackups();
  const remove = useOperation('backups:remove');
  const unlock = useOperation('helper:unlock');
  const toast = useUi((s) => s.toast);
  const [removing, setRemoving] = useState<EtcBackupInfo | null>(null);
  const list = backups.data;

  return (
    <section className="card backups-card" aria-labelledby="etc-backups-title">
      <div className="backups-head">
        <h2 id="etc-backups-title" className="backups-title">
          /etc backups
        </h2>
        {list && (
          <p className="muted backups-limits">
            Made before each Apply, so that Undo can put the old files back; readable by root only. Hindsight
            keeps at most {list.limits.maxCount}, none older than {list.limits.maxAgeDays} days, and always
            the newest one of each deployment that has not been undone.
          </p>
        )}
      </div>
      {backups.isPending ? (
        <Loading label="Reading the /etc backups…" compact />
      ) : backups.isError ? (
        <ErrorNotice
          title="The /etc backups could not be read"
          error={backups.error}
          compact
          onRetry={() => void backups.refetch()}
        />
      ) : !list?.readable ? (
        <Notice
          tone="warning"
          icon="lock"
          compact
          title="Only an administrator can list the /etc backups"
          actions={
            <Button size="sm" icon="lock" busy={unlock.isPending} onClick={() => unlock.mutate({})}>
              Unlock
            </Button>
          }
        >
          {unlock.error && <ErrorNotice error={unlock.error} compact />}
        </Notice>
      ) : list.backups.length === 0 ? (
        <p className="muted">No /etc backups: Apply on the Merge screen makes one.</p>
      ) : (
        <ScrollRegion label="/etc backups, newest first" className="backups-scroll">
          <table className="meta-table backups-table">
            <thead>
              <tr>
                <th scope="col">Made</th>
                <th scope="col">Written to</th>
                <th scope="col">State</th>
                <th scope="col">Files</th>
                <th scope="col">Size</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.backups.map((b) => {
                const state = BACKUP_STATES[b.state];
                return (
                  <tr key={b.id} aria-label={`Backup ${b.id}`}>
                    <td>
                      <time dateTime={b.time} title={`${formatDate(b.time)} · ${b.id}`}>
                        {formatRelative(b.time)}
                      </time>
                    </td>
                    <td>{backupTarget(b)}</td>
                    <td>
                      <span className="backups-state">
                        <Badge tone={state.tone} title={state.title}>
                          {state.label}
                        </Badge>
                        {b.keptForUndo && (
                          <Badge
                            tone="success"
                            title="Kept whatever the limits: the newest backup that can still undo this deployment’s /etc"
                          >
                            Kept for undo
                          </Badge>
                        )}
                      </span>
                    </td>
                    <td>{b.files.toLocaleString()}</td>
                    <td>{formatBytes(b.bytes)}</td>
                    <td>
                      <IconButton
                        icon="trash"
                        label={`Remove backup ${b.id}`}
                        onClick={() => {
                          remove.reset();
                          setRemoving(b);
                        }}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this /etc backup?"
        confirmLabel="Remove backup"
        tone="danger"
        busy={remove.isPending}
        error={remove.error}
        onCancel={() => {
          setRemoving(null);
          remove.reset();
        }}
        onConfirm={() => {
          if (!removing) return;
          remove.mutate(
            { backupId: removing.id },
            {
              onSuccess: () => {
                setRemoving(null);
                toast('success', 'The /etc backup was removed.');
              },
            },
          );
        }}
      >
        {removing && (
          <p>
            The copies of {plural(removing.files, 'file')} taken {formatDate(removing.time)} before writing to{' '}
            {backupTarget(removing)} are deleted for good.{' '}
            {removing.state === 'undone'
              ? 'That change was undone already.'
              : 'That change can then no longer be undone.'}
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

export function HistoryScreen() {
  const history = useHistory();
  const backups = useEtcBackups();
  const system = useSystem();
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const [result, setResult] = useState<ResultFilter>('all');
  const entries = useMemo(() => withoutDuplicates(history.data ?? []), [history.data]);
  const filtered = useMemo(() => {
    const q = deferred.trim().toLowerCase();
    return entries.filter((e) => {
      if (result !== 'all' && e.result !== result) return false;
      if (!q) return true;
      const text = `${OPERATION_LABELS[e.operation] ?? e.operation} ${e.operation} ${e.detail} ${who(e)} ${JSON.stringify(e.params)}`;
      return text.toLowerCase().includes(q);
    });
  }, [entries, deferred, result]);
  const scrollRef = useRef<HTMLElement>(null);
  const virtualizer = useVirtualizer({
    count: filtered.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 76,
    overscan: 8,
  });
  const failures = entries.filter((e) => e.result === 'error').length;

  return (
    <div className="screen screen-fill">
      <ScreenHeader
        title="History"
        subtitle="What was done to this system, when, by whom, and how it ended"
        actions={
          <IconButton
            icon="refresh"
            label="Refresh history"
            variant="secondary"
            size="md"
            onClick={() => {
              void history.refetch();
              void backups.refetch();
            }}
          />
        }
      />
      <EtcBackups />
      {history.isPending ? (
        <Loading label="Reading the history…" />
      ) : history.isError ? (
        <ErrorNotice
          title="The history could not be read"
          error={history.error}
          onRetry={() => void history.refetch()}
        />
      ) : entries.length === 0 ? (
        <EmptyState icon="history" title="Nothing has been done yet">
          Rollbacks, updates, pins and /etc resolutions made with Hindsight appear here.
        </EmptyState>
      ) : (
        <>
          <div className="toolbar">
            <SearchField value={query} onChange={setQuery} label="Search history" />
            <Segmented
              label="Result"
              size="sm"
              value={result}
              onChange={setResult}
              options={[
                { value: 'all', label: 'All', count: entries.length },
                { value: 'ok', label: 'Succeeded', count: entries.length - failures },
                { value: 'error', label: 'Failed', count: failures },
              ]}
            />
          </div>
          {filtered.length === 0 ? (
            <EmptyState icon="search" title="No record matches" />
          ) : (
            <ScrollRegion
              ref={scrollRef}
              className="history-scroll card"
              label="History records, newest first"
            >
              <ol className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
                {virtualizer.getVirtualItems().map((item) => {
                  const e = filtered[item.index] as HistoryEntry;
                  return (
                    <li
                      key={e.id}
                      data-index={item.index}
                      ref={virtualizer.measureElement}
                      className="virtual-row history-row"
                      style={{ transform: `translateY(${item.start}px)` }}
                    >
                      <span
                        className={`history-icon ${e.result === 'ok' ? 'is-ok' : 'is-error'}`}
                        aria-hidden="true"
                      >
                        <Icon name={e.result === 'ok' ? 'check' : 'alert'} size={14} />
                      </span>
                      <div className="history-main">
                        <p className="history-title">
                          {OPERATION_LABELS[e.operation] ?? e.operation}
                          <Badge tone={e.result === 'ok' ? 'success' : 'danger'}>
                            {e.result === 'ok' ? 'Succeeded' : 'Failed'}
                          </Badge>
                        </p>
                        <p className="history-params muted">{describeParams(e, system) || e.operation}</p>
                        {e.detail && (
                          <p className={`history-detail${e.result === 'error' ? ' is-error' : ''}`}>
                            {e.detail}
                          </p>
                        )}
                      </div>
                      <div className="history-when">
                        <time dateTime={e.time} title={formatDate(e.time)}>
                          {formatRelative(e.time)}
                        </time>
                        <span className="muted">{formatDate(e.time)}</span>
                        <span className="muted">
                          by {who(e)} · {e.source === 'helper' ? 'system log' : 'this app'}
                        </span>
                      </div>
                    </li>
                  );
                })}
              </ol>
            </ScrollRegion>
          )}
        </>
      )}
    </div>
  );
}
