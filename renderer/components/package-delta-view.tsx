import { type ReactNode, useCallback, useDeferredValue, useId, useMemo, useRef, useState } from 'react';
import type {
  DeltaChangelogs,
  FileCounts,
  PackageChangelogChange,
  PackageDelta,
  SnapperSnapshotRef,
  SnapshotRef,
} from '../../shared/types.ts';
import { useChangelogs } from '../api/queries.ts';
import { useSnapperChangelogs } from '../api/snapper-queries.ts';
import { formatDay, plural, snapshotSelector, versionName } from '../lib/format.ts';
import { usePageVirtualizer } from './diff-view.tsx';
import { Icon, type IconName } from './icons.tsx';
import { EmptyState, ScrollRegion, SearchField, Segmented } from './ui.tsx';

/**
 * A delta between two OSTree snapshots or two snapper snapshots; snapper's has no file counts (see
 * SnapperPackageDelta), and names its sides by number.
 */
export type AnyPackageDelta = Omit<PackageDelta<SnapshotRef | SnapperSnapshotRef>, 'files'> & {
  files?: FileCounts;
};

function sideName(ref: SnapshotRef | SnapperSnapshotRef): string {
  return 'checksum' in ref ? versionName(ref) : `snapshot ${ref.number}`;
}

type Group = 'upgraded' | 'downgraded' | 'added' | 'removed';
/** `security`: only the changed packages whose changelog names CVEs. */
type Filter = 'all' | Group | 'security';

const FORMAT_WORDS: Record<PackageDelta['format'], string> = {
  dpkg: 'Debian packages',
  rpm: 'RPM packages',
  pacman: 'pacman packages',
};

const GROUPS: { key: Group; title: string; icon: IconName; tone: string }[] = [
  { key: 'upgraded', title: 'Upgraded', icon: 'arrowRight', tone: 'accent' },
  { key: 'downgraded', title: 'Downgraded', icon: 'rollback', tone: 'warning' },
  { key: 'added', title: 'Added', icon: 'package', tone: 'success' },
  { key: 'removed', title: 'Removed', icon: 'trash', tone: 'danger' },
];

type Item = {
  kind: 'item';
  group: Group;
  name: string;
  arch: string;
  from: string | null;
  to: string | null;
};

type Row =
  | { kind: 'group'; group: Group; title: string; count: number; shown: number; icon: IconName; tone: string }
  | Item
  | { kind: 'log'; item: Item };

const itemKey = (i: Pick<Item, 'group' | 'name' | 'arch'>): string => `${i.group}:${i.name}:${i.arch}`;

function rowKey(row: Row | undefined, index: number): string {
  if (!row) return `#${index}`;
  if (row.kind === 'group') return `group:${row.group}`;
  if (row.kind === 'log') return `log:${itemKey(row.item)}`;
  return `item:${itemKey(row)}`;
}

/** Each changed package's changelog by its row's key, and whether the filter's security view applies. */
type LogIndex = Map<string, PackageChangelogChange>;

function indexChangelogs(data: DeltaChangelogs | undefined): LogIndex {
  const out: LogIndex = new Map();
  for (const p of data?.packages ?? []) {
    out.set(
      itemKey({ group: p.direction === 'upgrade' ? 'upgraded' : 'downgraded', name: p.name, arch: p.arch }),
      p,
    );
  }
  return out;
}

const cvesOf = (logs: LogIndex, item: Item): string[] => logs.get(itemKey(item))?.changelog?.cves ?? [];

function itemsOf(delta: AnyPackageDelta, group: Group): Item[] {
  if (group === 'upgraded' || group === 'downgraded') {
    return delta[group].map((c) => ({
      kind: 'item',
      group,
      name: c.name,
      arch: c.arch,
      from: c.from,
      to: c.to,
    }));
  }
  return delta[group].map((p) => ({
    kind: 'item',
    group,
    name: p.name,
    arch: p.arch,
    from: group === 'removed' ? p.version : null,
    to: group === 'added' ? p.version : null,
  }));
}

/**
 * Each group's packages whose name (or a CVE its changelog names) matches the search, so the rows and
 * the filter's counts agree.
 */
function matchingItems(
  delta: AnyPackageDelta,
  query: string,
  logs: LogIndex,
): Record<Group, { all: Item[]; shown: Item[] }> {
  const q = query.trim().toLowerCase();
  const out = {} as Record<Group, { all: Item[]; shown: Item[] }>;
  for (const g of GROUPS) {
    const all = itemsOf(delta, g.key);
    out[g.key] = {
      all,
      shown: q
        ? all.filter(
            (i) =>
              i.name.toLowerCase().includes(q) || cvesOf(logs, i).some((c) => c.toLowerCase().includes(q)),
          )
        : all,
    };
  }
  return out;
}

function buildRows(
  matches: Record<Group, { all: Item[]; shown: Item[] }>,
  filter: Filter,
  logs: LogIndex,
  expanded: ReadonlySet<string>,
): Row[] {
  const rows: Row[] = [];
  for (const g of GROUPS) {
    if (filter !== 'all' && filter !== 'security' && filter !== g.key) continue;
    const { all } = matches[g.key];
    const shown =
      filter === 'security'
        ? matches[g.key].shown.filter((i) => cvesOf(logs, i).length > 0)
        : matches[g.key].shown;
    if (!shown.length) continue;
    rows.push({
      kind: 'group',
      group: g.key,
      title: g.title,
      count: all.length,
      shown: shown.length,
      icon: g.icon,
      tone: g.tone,
    });
    for (const item of shown) {
      rows.push(item);
      if (expanded.has(itemKey(item))) rows.push({ kind: 'log', item });
    }
  }
  return rows;
}

/** CVE ids as plain chips: named, never linked (the app reaches no network). */
function CveChips({ cves, label }: { cves: string[]; label: string }) {
  return (
    <ul className="cve-chips" aria-label={label}>
      {cves.map((c) => (
        <li key={c} className="cve-chip mono">
          {c}
        </li>
      ))}
    </ul>
  );
}

/** The changelog entries of one changed package, under its row. */
function ChangelogPanel({
  id,
  item,
  change,
  state,
}: {
  id: string;
  item: Item;
  change: PackageChangelogChange | undefined;
  state: { pending: boolean; error: string | null };
}) {
  const down = item.group === 'downgraded';
  const log = change?.changelog ?? null;
  let body: ReactNode;
  if (state.pending) body = <p className="muted">Reading the changelog…</p>;
  else if (state.error) body = <p className="muted">The changelogs could not be read: {state.error}</p>;
  else if (!log)
    body = (
      <p className="muted">
        No changelog in the package{down ? ', so what going back loses is not known' : ''}.
      </p>
    );
  else
    body = (
      <>
        <p className="changelog-intro">
          {down
            ? `Going back from ${item.from} to ${item.to} loses ${plural(log.entries.length, 'changelog entry', 'changelog entries')}.`
            : `${plural(log.entries.length, 'changelog entry', 'changelog entries')} from ${item.from} to ${item.to}.`}
        </p>
        {log.cves.length > 0 && (
          <div className="changelog-cves">
            <span className={down ? 'tone-text-warning' : 'tone-text-success'}>
              {down ? 'Going back loses fixes for' : 'Fixes'}
            </span>
            <CveChips cves={log.cves} label={down ? `CVE fixes lost going back` : `CVEs fixed`} />
          </div>
        )}
        {log.entries.length === 0 ? (
          <p className="muted">The changelog has no entry between these two versions.</p>
        ) : (
          <ol className="changelog-entries">
            {log.entries.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: entries are positional; versions may repeat
              <li key={i} className="changelog-entry">
                <p className="changelog-head">
                  <span className="ver mono">{e.version ?? 'no version'}</span>
                  <span>{formatDay(e.date)}</span>
                  <span className="muted changelog-author">{e.author}</span>
                </p>
                <pre className="changelog-text">{e.text}</pre>
              </li>
            ))}
          </ol>
        )}
        {log.truncated && (
          <p className="muted">Only the first entries are shown; the whole changelog is in {log.source}.</p>
        )}
      </>
    );
  return (
    <div id={id} className="changelog">
      {body}
    </div>
  );
}

/** "Fixes 12 CVEs": what the changelogs of the delta's changed packages say, once read. */
function ChangelogSummary({
  data,
  pending,
  error,
}: {
  data: DeltaChangelogs | undefined;
  pending: boolean;
  error: string | null;
}) {
  let text: ReactNode;
  if (pending) text = <span className="muted">Reading the changelogs…</span>;
  else if (error) text = <span className="muted">The changelogs could not be read: {error}</span>;
  else if (!data) return null;
  else {
    const read = data.packages.filter((p) => p.changelog).length;
    const parts: ReactNode[] = [];
    if (data.cvesFixed.length > 0)
      parts.push(
        <strong key="fixed" className="tone-text-success">
          Fixes {plural(data.cvesFixed.length, 'CVE')}
        </strong>,
      );
    if (data.cvesLost.length > 0)
      parts.push(
        <strong key="lost" className="tone-text-warning">
          Going back loses fixes for {plural(data.cvesLost.length, 'CVE')}
        </strong>,
      );
    if (parts.length === 0)
      parts.push(
        <span key="none">
          {read === 0 ? 'No changed package carries a changelog' : 'The changelogs name no CVE'}
        </span>,
      );
    text = (
      <>
        {parts.map((p, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a fixed sequence of parts
          <span key={i}>
            {i > 0 && ' · '}
            {p}
          </span>
        ))}
        {read > 0 && (
          <span className="muted">
            {' '}
            ({plural(read, 'changelog')} read of {data.packages.length})
          </span>
        )}
        {data.problems.length > 0 && (
          <span className="muted" title={data.problems.join('\n')}>
            {' '}
            · {plural(data.problems.length, 'changelog')} could not be read
          </span>
        )}
      </>
    );
  }
  return (
    <p className="delta-cves" aria-live="polite">
      <Icon name="shield" size={14} />
      <span>{text}</span>
    </p>
  );
}

export function DeltaSummary({ delta }: { delta: AnyPackageDelta }) {
  const counts = GROUPS.map((g) => ({ ...g, count: delta[g.key].length }));
  const files = delta.files;
  // Only the package database of a commit that is not downloaded is known; its files come with it.
  const filesNote = files?.pending ? 'File changes are known once the update is downloaded.' : null;
  return (
    <div className="delta-summary">
      <div className="delta-total">
        <span className="delta-total-number">{delta.from.packages.toLocaleString()}</span>
        <Icon name="arrowRight" size={14} />
        <span className="delta-total-number">{delta.to.packages.toLocaleString()}</span>
        <span className="muted">{FORMAT_WORDS[delta.format]}</span>
      </div>
      <ul className="delta-counts" aria-label="Package changes">
        {counts.map((c) => (
          <li key={c.key} className={`delta-count tone-${c.tone}${c.count ? '' : ' is-zero'}`}>
            <span className="delta-count-number">{c.count.toLocaleString()}</span> {c.title.toLowerCase()}
          </li>
        ))}
      </ul>
      {files && (
        <p className="delta-files">
          <Icon name="file" size={14} />
          {filesNote ??
            `Whole tree: ${plural(files.added, 'file')} added, ${files.removed.toLocaleString()} removed, ${files.modified.toLocaleString()} modified`}
        </p>
      )}
    </div>
  );
}

/** The package delta as nvd prints it — grouped, old → new — searchable and virtualised. */
export function PackageDeltaView({
  delta,
  height = 'fill',
  label,
}: {
  delta: AnyPackageDelta;
  height?: 'fill' | number;
  label?: string;
}) {
  const [filter, setFilter] = useState<Filter>('all');
  const [query, setQuery] = useState('');
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const baseId = useId();
  const deferredQuery = useDeferredValue(query);
  // Changelogs come for changed versions only, in their own query after the list is shown: the
  // list never waits for them. OSTree names the sides by deployment or commit, snapper by number.
  const pair =
    'checksum' in delta.from && 'checksum' in delta.to
      ? { from: snapshotSelector(delta.from), to: snapshotSelector(delta.to) }
      : null;
  const snapperPair =
    'number' in delta.from && 'number' in delta.to
      ? { from: String(delta.from.number), to: String(delta.to.number) }
      : null;
  // A commit that is not downloaded has only its package database here, none of its changelogs.
  const notDownloaded = delta.files?.pending === true;
  const changed = delta.upgraded.length + delta.downgraded.length > 0;
  const ostreeWanted = pair !== null && !notDownloaded && changed;
  const withLogs = ostreeWanted || (snapperPair !== null && changed);
  const ostreeLogs = useChangelogs(
    ostreeWanted ? pair?.from : undefined,
    ostreeWanted ? pair?.to : undefined,
  );
  const snapperLogs = useSnapperChangelogs(
    changed ? snapperPair?.from : undefined,
    changed ? snapperPair?.to : undefined,
  );
  const changelogs = snapperPair ? snapperLogs : ostreeLogs;
  const logs = useMemo(() => indexChangelogs(changelogs.data), [changelogs.data]);
  const logState = {
    pending: changelogs.isPending,
    error: changelogs.isError ? changelogs.error.message : null,
  };
  const matches = useMemo(() => matchingItems(delta, deferredQuery, logs), [delta, deferredQuery, logs]);
  const rows = useMemo(() => buildRows(matches, filter, logs, expanded), [matches, filter, logs, expanded]);
  const securityCount = useMemo(
    () =>
      matches.upgraded.shown.filter((i) => cvesOf(logs, i).length > 0).length +
      matches.downgraded.shown.filter((i) => cvesOf(logs, i).length > 0).length,
    [matches, logs],
  );
  const toggle = useCallback(
    (key: string) =>
      setExpanded((was) => {
        const next = new Set(was);
        if (!next.delete(key)) next.add(key);
        return next;
      }),
    [],
  );
  const scrollRef = useRef<HTMLElement>(null);
  // Filling a screen, the list scrolls with the page; in a card it is a box of its own height.
  const virtualizer = usePageVirtualizer(scrollRef, {
    count: rows.length,
    estimateSize: (i) => {
      const row = rows[i];
      return row?.kind === 'group' ? 44 : row?.kind === 'log' ? 160 : 34;
    },
    getItemKey: (i) => rowKey(rows[i], i),
    overscan: 12,
    scrollsItself: height !== 'fill',
  });
  const margin = virtualizer.options.scrollMargin;
  const total = delta.upgraded.length + delta.downgraded.length + delta.added.length + delta.removed.length;
  const shownTotal = GROUPS.reduce((sum, g) => sum + matches[g.key].shown.length, 0);
  const listLabel = label ?? `Package changes from ${sideName(delta.from)} to ${sideName(delta.to)}`;

  return (
    <section className={`delta-view${height === 'fill' ? ' fill' : ''}`} aria-label={listLabel}>
      <div className="toolbar">
        <SearchField
          value={query}
          onChange={setQuery}
          label="Search packages"
          placeholder="Search packages"
        />
        <Segmented
          label="Show"
          size="sm"
          value={filter}
          onChange={setFilter}
          options={[
            { value: 'all', label: 'All', count: shownTotal },
            ...GROUPS.map((g) => ({ value: g.key, label: g.title, count: matches[g.key].shown.length })),
            ...(withLogs
              ? [
                  {
                    value: 'security' as const,
                    label: 'Security fixes',
                    icon: 'shield' as const,
                    ...(changelogs.data ? { count: securityCount } : {}),
                    disabled: !changelogs.data,
                  },
                ]
              : []),
          ]}
        />
      </div>
      {pair !== null && notDownloaded && delta.upgraded.length + delta.downgraded.length > 0 && (
        <p className="delta-cves muted">
          <Icon name="shield" size={14} />
          <span>Changelogs, and the CVEs they name, are read once the update is downloaded.</span>
        </p>
      )}
      {withLogs && (
        <ChangelogSummary data={changelogs.data} pending={logState.pending} error={logState.error} />
      )}
      {total === 0 ? (
        <EmptyState icon="check" title="Same packages">
          Both snapshots have exactly the same {plural(delta.to.packages, 'package')}.
        </EmptyState>
      ) : rows.length === 0 ? (
        filter === 'security' && !query ? (
          <EmptyState icon="shield" title="No security fixes">
            No changelog of these packages names a CVE.
          </EmptyState>
        ) : (
          <EmptyState icon="search" title="No package matches">
            Nothing in this list is called “{query}”.
          </EmptyState>
        )
      ) : (
        <ScrollRegion
          ref={scrollRef}
          className="delta-scroll"
          style={height === 'fill' ? undefined : { height }}
          label={`${listLabel}, scrollable`}
        >
          <ul className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index] as Row;
              if (row.kind === 'log') {
                const key = itemKey(row.item);
                return (
                  <li
                    key={item.key}
                    data-index={item.index}
                    ref={virtualizer.measureElement}
                    className="delta-row-log"
                    style={{ transform: `translateY(${item.start - margin}px)` }}
                  >
                    <ChangelogPanel
                      id={`${baseId}-${key}`}
                      item={row.item}
                      change={logs.get(key)}
                      state={logState}
                    />
                  </li>
                );
              }
              const key = row.kind === 'item' ? itemKey(row) : '';
              const expandable =
                row.kind === 'item' && (row.group === 'upgraded' || row.group === 'downgraded');
              const open = expanded.has(key);
              const cves = row.kind === 'item' ? cvesOf(logs, row) : [];
              return (
                <li
                  key={item.key}
                  className={`delta-row delta-row-${row.kind}`}
                  style={{ transform: `translateY(${item.start - margin}px)`, height: item.size }}
                >
                  {row.kind === 'group' ? (
                    <h3 className={`delta-group tone-${row.tone}`}>
                      <Icon name={row.icon} size={14} />
                      {row.title}
                      <span className="delta-group-count">
                        {row.shown === row.count
                          ? row.count.toLocaleString()
                          : `${row.shown} of ${row.count}`}
                      </span>
                    </h3>
                  ) : (
                    <>
                      {expandable && withLogs ? (
                        <button
                          type="button"
                          className="delta-name delta-toggle"
                          title={`${row.name}: ${open ? 'hide' : 'show'} the changelog`}
                          aria-expanded={open}
                          aria-controls={open ? `${baseId}-${key}` : undefined}
                          onClick={() => toggle(key)}
                        >
                          <span className="delta-toggle-icon" aria-hidden="true">
                            <Icon name={open ? 'chevronDown' : 'chevronRight'} size={12} />
                          </span>
                          <span className="delta-toggle-name">{row.name}</span>
                        </button>
                      ) : (
                        <span className="delta-name" title={row.name}>
                          {row.name}
                        </span>
                      )}
                      <span className="delta-versions">
                        {row.from !== null && (
                          <span className={`ver ver-from tone-${row.group}`}>{row.from}</span>
                        )}
                        {row.from !== null && row.to !== null && (
                          <span className="ver-arrow">
                            <span aria-hidden="true">→</span>
                            <span className="sr-only"> to </span>
                          </span>
                        )}
                        {row.to !== null && <span className={`ver ver-to tone-${row.group}`}>{row.to}</span>}
                        <span className="delta-arch">{row.arch}</span>
                        {cves.length > 0 && (
                          <span className={`cve-count tone-${row.group}`} title={cves.join(', ')}>
                            {row.group === 'downgraded' ? 'loses ' : ''}
                            {plural(cves.length, 'CVE')}
                          </span>
                        )}
                      </span>
                    </>
                  )}
                </li>
              );
            })}
          </ul>
        </ScrollRegion>
      )}
    </section>
  );
}
