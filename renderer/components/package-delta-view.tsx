import { useDeferredValue, useMemo, useRef, useState } from 'react';
import type { FileCounts, PackageDelta, SnapperSnapshotRef, SnapshotRef } from '../../shared/types.ts';
import { plural, versionName } from '../lib/format.ts';
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
type Filter = 'all' | Group;

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
  | Item;

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

/** Each group's packages whose name matches the search, so the rows and the filter's counts agree. */
function matchingItems(delta: AnyPackageDelta, query: string): Record<Group, { all: Item[]; shown: Item[] }> {
  const q = query.trim().toLowerCase();
  const out = {} as Record<Group, { all: Item[]; shown: Item[] }>;
  for (const g of GROUPS) {
    const all = itemsOf(delta, g.key);
    out[g.key] = { all, shown: q ? all.filter((i) => i.name.toLowerCase().includes(q)) : all };
  }
  return out;
}

function buildRows(matches: Record<Group, { all: Item[]; shown: Item[] }>, filter: Filter): Row[] {
  const rows: Row[] = [];
  for (const g of GROUPS) {
    if (filter !== 'all' && filter !== g.key) continue;
    const { all, shown } = matches[g.key];
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
    rows.push(...shown);
  }
  return rows;
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
  const deferredQuery = useDeferredValue(query);
  const matches = useMemo(() => matchingItems(delta, deferredQuery), [delta, deferredQuery]);
  const rows = useMemo(() => buildRows(matches, filter), [matches, filter]);
  const scrollRef = useRef<HTMLElement>(null);
  // Filling a screen, the list scrolls with the page; in a card it is a box of its own height.
  const virtualizer = usePageVirtualizer(scrollRef, {
    count: rows.length,
    estimateSize: (i) => (rows[i]?.kind === 'group' ? 44 : 34),
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
          ]}
        />
      </div>
      {total === 0 ? (
        <EmptyState icon="check" title="Same packages">
          Both snapshots have exactly the same {plural(delta.to.packages, 'package')}.
        </EmptyState>
      ) : rows.length === 0 ? (
        <EmptyState icon="search" title="No package matches">
          Nothing in this list is called “{query}”.
        </EmptyState>
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
                      <span className="delta-name" title={row.name}>
                        {row.name}
                      </span>
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
