import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import type { HistoryEntry } from '../../shared/ipc-contract.ts';
import { useHistory } from '../api/queries.ts';
import { type SystemView, useSystem } from '../api/use-system.ts';
import { Icon } from '../components/icons.tsx';
import {
  Badge,
  EmptyState,
  ErrorNotice,
  IconButton,
  Loading,
  ScreenHeader,
  ScrollRegion,
  SearchField,
  Segmented,
} from '../components/ui.tsx';
import { formatDate, formatRelative, plural, shortChecksum } from '../lib/format.ts';
import { OPERATION_LABELS } from '../lib/labels.ts';

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

export function HistoryScreen() {
  const history = useHistory();
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
            onClick={() => void history.refetch()}
          />
        }
      />
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
