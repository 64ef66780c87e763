import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import type { PackageDelta } from '../../shared/types.ts';
import { plural, versionName } from '../lib/format.ts';
import { Icon, type IconName } from './icons.tsx';
import { EmptyState, ScrollRegion, SearchField, Segmented } from './ui.tsx';

type Group = 'upgraded' | 'downgraded' | 'added' | 'removed';
type Filter = 'all' | Group;

const GROUPS: { key: Group; title: string; icon: IconName; tone: string }[] = [
  { key: 'upgraded', title: 'Upgraded', icon: 'arrowRight', tone: 'accent' },
  { key: 'downgraded', title: 'Downgraded', icon: 'rollback', tone: 'warning' },
  { key: 'added', title: 'Added', icon: 'package', tone: 'success' },
  { key: 'removed', title: 'Removed', icon: 'trash', tone: 'danger' },
];

type Row =
  | { kind: 'group'; group: Group; title: string; count: number; shown: number; icon: IconName; tone: string }
  | {
      kind: 'item';
      group: Group;
      n: number;
      name: string;
      arch: string;
      from: string | null;
      to: string | null;
    };

function buildRows(delta: PackageDelta, filter: Filter, query: string): Row[] {
  const q = query.trim().toLowerCase();
  const rows: Row[] = [];
  for (const g of GROUPS) {
    if (filter !== 'all' && filter !== g.key) continue;
    const items: Row[] = [];
    if (g.key === 'upgraded' || g.key === 'downgraded') {
      delta[g.key].forEach((c, i) => {
        items.push({
          kind: 'item',
          group: g.key,
          n: i + 1,
          name: c.name,
          arch: c.arch,
          from: c.from,
          to: c.to,
        });
      });
    } else {
      delta[g.key].forEach((p, i) => {
        items.push({
          kind: 'item',
          group: g.key,
          n: i + 1,
          name: p.name,
          arch: p.arch,
          from: g.key === 'removed' ? p.version : null,
          to: g.key === 'added' ? p.version : null,
        });
      });
    }
    const total = items.length;
    const shown = q ? items.filter((r) => r.kind === 'item' && r.name.toLowerCase().includes(q)) : items;
    if (!shown.length) continue;
    rows.push({
      kind: 'group',
      group: g.key,
      title: g.title,
      count: total,
      shown: shown.length,
      icon: g.icon,
      tone: g.tone,
    });
    rows.push(...shown);
  }
  return rows;
}

export function DeltaSummary({ delta }: { delta: PackageDelta }) {
  const counts = GROUPS.map((g) => ({ ...g, count: delta[g.key].length }));
  const files = delta.files;
  // Only the package database of a commit that is not downloaded is known; its files come with it.
  const filesNote = files.pending ? 'File changes are known once the update is downloaded.' : null;
  return (
    <div className="delta-summary">
      <div className="delta-total">
        <span className="delta-total-number">{delta.from.packages.toLocaleString()}</span>
        <Icon name="arrowRight" size={14} />
        <span className="delta-total-number">{delta.to.packages.toLocaleString()}</span>
        <span className="muted">{delta.format === 'rpm' ? 'RPM packages' : 'Debian packages'}</span>
      </div>
      <ul className="delta-counts" aria-label="Package changes">
        {counts.map((c) => (
          <li key={c.key} className={`delta-count tone-${c.tone}${c.count ? '' : ' is-zero'}`}>
            <span className="delta-count-number">{c.count.toLocaleString()}</span> {c.title.toLowerCase()}
          </li>
        ))}
      </ul>
      <p className="delta-files">
        <Icon name="file" size={14} />
        {filesNote ??
          `Whole tree: ${plural(files.added, 'file')} added, ${files.removed.toLocaleString()} removed, ${files.modified.toLocaleString()} modified`}
      </p>
    </div>
  );
}

/** The package delta as nvd prints it — grouped, numbered, old → new — searchable and virtualised. */
export function PackageDeltaView({
  delta,
  height = 'fill',
  label,
}: {
  delta: PackageDelta;
  height?: 'fill' | number;
  label?: string;
}) {
  const [filter, setFilter] = useState<Filter>('all');
  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query);
  const rows = useMemo(() => buildRows(delta, filter, deferredQuery), [delta, filter, deferredQuery]);
  const scrollRef = useRef<HTMLElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.kind === 'group' ? 44 : 34),
    overscan: 12,
  });
  const total = delta.upgraded.length + delta.downgraded.length + delta.added.length + delta.removed.length;
  const listLabel = label ?? `Package changes from ${versionName(delta.from)} to ${versionName(delta.to)}`;

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
            { value: 'all', label: 'All', count: total },
            ...GROUPS.map((g) => ({ value: g.key, label: g.title, count: delta[g.key].length })),
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
                  style={{ transform: `translateY(${item.start}px)`, height: item.size }}
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
                      <span className="delta-n">#{row.n}</span>
                      <span className="delta-name">{row.name}</span>
                      <span className="delta-arch">{row.arch}</span>
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
