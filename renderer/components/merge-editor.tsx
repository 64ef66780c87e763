import {
  type KeyboardEvent,
  type ReactNode,
  type RefObject,
  useId,
  useMemo,
  useRef,
  useState,
  type WheelEvent,
} from 'react';
import type { EtcMergeFile } from '../../shared/types.ts';
import {
  type ChangeRegion,
  type Choice,
  type Choices,
  choiceLines,
  compose,
  effectiveChoice,
  mergedFinalNewline,
  mergeRegions,
  type Region,
  type SplitText,
  splitText,
} from '../lib/merge-model.ts';
import {
  lineColumns,
  type MergeRow,
  mergeRows,
  type Pane,
  type PaneLine,
  widestLines,
} from '../lib/merge-rows.ts';
import { type Composed, type FileDecision, useMergeStore } from '../state/merge-store.ts';
import { usePageVirtualizer } from './diff-view.tsx';
import { Icon } from './icons.tsx';
import { Button, Notice } from './ui.tsx';

export interface MergeTexts {
  base: string;
  yours: string;
  upstream: string;
}

export interface MergeModel {
  split: { base: SplitText; yours: SplitText; upstream: SplitText };
  regions: Region[];
  finalNewline: boolean;
}

export function useMergeModel(texts: MergeTexts | null): MergeModel | null {
  return useMemo(() => {
    if (!texts) return null;
    const split = {
      base: splitText(texts.base),
      yours: splitText(texts.yours),
      upstream: splitText(texts.upstream),
    };
    return {
      split,
      regions: mergeRegions(split.base.lines, split.yours.lines, split.upstream.lines),
      finalNewline: mergedFinalNewline(split.base, split.yours, split.upstream),
    };
  }, [texts]);
}

/** The result of the current choices, and which side it equals so Apply sends the lightest resolution. */
export function composeResult(
  file: EtcMergeFile,
  texts: MergeTexts,
  model: MergeModel,
  choices: Choices,
): Composed {
  const result = compose(model.regions, choices, model.finalNewline);
  const equals =
    result.unresolved > 0
      ? null
      : file.merge === 'clean' && file.merged === result.text
        ? 'merged'
        : result.text === texts.yours
          ? 'local'
          : result.text === texts.upstream
            ? 'upstream'
            : null;
  return { ...result, equals };
}

const CHANGE_TITLES: Record<ChangeRegion['change'], string> = {
  yours: 'Your change',
  upstream: 'Change in the new image',
  'both-same': 'Both made the same change',
  conflict: 'Conflict: both changed these lines',
};

function Line({ line, className }: { line: PaneLine | null; className: string }) {
  if (!line) return <div className={`mp-cell mp-filler ${className}`} aria-hidden="true" />;
  return (
    <div className={`mp-cell ${className}`}>
      <span className="mp-no" aria-hidden="true">
        {line.no}
      </span>
      <span className="mp-text">{line.text || ' '}</span>
    </div>
  );
}

const PANE_TITLES: Record<Pane, string> = {
  base: 'Base (old image)',
  yours: 'Yours',
  result: 'Result',
  upstream: 'Upstream (new image)',
};

const PANE_CLASSES: Pane[] = ['base', 'yours', 'result', 'upstream'];
const KEY_STEP = 40;

/**
 * Lines never wrap, so rows keep one height and stay aligned across the panes; each pane scrolls
 * sideways on its own. The scrollbars sit in the column heads (which stick to the top of the page),
 * and move their pane's text through a CSS variable, so every row of a pane — virtualised or not —
 * shifts together. A trackpad or Shift+wheel over a pane, or the arrow keys on the merge, scroll too.
 */
function usePaneScroll() {
  const rootRef = useRef<HTMLDivElement>(null);
  const strips = useRef<Partial<Record<Pane, HTMLDivElement | null>>>({});
  const follow = (pane: Pane, strip: HTMLDivElement): void => {
    rootRef.current?.style.setProperty(`--mp-x-${pane}`, `${-strip.scrollLeft}px`);
  };
  const onWheel = (e: WheelEvent<HTMLElement>): void => {
    const sideways = e.shiftKey ? e.deltaY : Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : 0;
    const target = e.target as Element;
    if (!sideways || target.closest('textarea')) return;
    const pane = PANE_CLASSES.find((p) => target.closest(`.mp-${p}`));
    const strip = pane && strips.current[pane];
    if (strip) strip.scrollLeft += sideways;
  };
  const onKeyDown = (e: KeyboardEvent<HTMLElement>): void => {
    if (e.target !== e.currentTarget || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight')) return;
    for (const strip of Object.values(strips.current)) {
      if (strip) strip.scrollLeft += e.key === 'ArrowLeft' ? -KEY_STEP : KEY_STEP;
    }
    e.preventDefault();
  };
  return { rootRef, strips, follow, onWheel, onKeyDown };
}

type PaneScroll = ReturnType<typeof usePaneScroll>;

function PaneHeads({
  panes,
  widest,
  scroll,
  grid,
  titles,
}: {
  panes: Pane[];
  widest: Record<Pane, number>;
  scroll: PaneScroll;
  grid: { gridTemplateColumns: string };
  titles?: Partial<Record<Pane, string>>;
}) {
  return (
    <div className="mp-columns" style={grid}>
      {panes.map((pane) => (
        <div key={pane} className="mp-column">
          <span className="mp-column-title">{titles?.[pane] ?? PANE_TITLES[pane]}</span>
          <div
            className="mp-hscroll"
            aria-hidden="true"
            // Keyboard users scroll from the merge region; a scroller is otherwise a tab stop of its own.
            tabIndex={-1}
            ref={(el) => {
              scroll.strips.current[pane] = el;
            }}
            onScroll={(e) => scroll.follow(pane, e.currentTarget)}
          >
            <div className="mp-hscroll-width" style={{ width: `calc(${widest[pane]}ch + 8px)` }} />
          </div>
        </div>
      ))}
    </div>
  );
}

/** The rows of a merge: a named region that the arrow keys scroll sideways. */
function MergeRowsRegion({
  listRef,
  label,
  scroll,
  children,
}: {
  listRef?: RefObject<HTMLElement | null>;
  label: string;
  scroll: PaneScroll;
  children: ReactNode;
}) {
  return (
    <section
      ref={listRef}
      className="mp-scroll"
      aria-label={label}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: keyboard users scroll the panes sideways from here
      tabIndex={0}
      onWheel={scroll.onWheel}
      onKeyDown={scroll.onKeyDown}
    >
      {children}
    </section>
  );
}

function ChoiceBar({
  region,
  choice,
  onChoose,
}: {
  region: ChangeRegion;
  choice: Choice | null;
  onChoose: (choice: Choice | undefined) => void;
}) {
  const current = choice === null ? null : typeof choice === 'object' ? 'edit' : choice;
  const options: { value: 'yours' | 'upstream' | 'both' | 'edit'; label: string }[] = [
    { value: 'yours', label: 'Yours' },
    { value: 'upstream', label: 'Upstream' },
    { value: 'both', label: 'Both' },
    { value: 'edit', label: 'Edit' },
  ];
  const hunk = region.id + 1;
  return (
    <div className="mp-choices">
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          className="chip"
          aria-pressed={current === o.value}
          aria-label={`Hunk ${hunk}: ${o.value === 'edit' ? 'edit the result' : `take ${o.label.toLowerCase()}`}`}
          onClick={() => {
            if (o.value === 'edit') {
              const start =
                choice && typeof choice !== 'object'
                  ? choiceLines(region, choice)
                  : [...region.yours, ...region.upstream];
              onChoose({ edited: start.join('\n') });
            } else onChoose(o.value);
          }}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

/**
 * The three-pane merge: yours | result | upstream (and the base on demand), aligned hunk by hunk,
 * each hunk with its choice. Rows are virtualised so a 20,000-line file scrolls smoothly.
 */
interface MergePanesProps {
  file: EtcMergeFile;
  regions: Region[];
  decisionKey: string;
  decision: FileDecision;
  fallback: FileDecision;
  showBase: boolean;
  /** The column heads, where "image" is not the word (a package's config file on snapper). */
  titles?: Partial<Record<Pane, string>>;
  /** The merge region's name; by default the /etc path of `file`. */
  label?: string;
}

function MergePanes({
  file,
  regions,
  decisionKey,
  decision,
  fallback,
  showBase,
  titles,
  label,
}: MergePanesProps) {
  const setChoice = useMergeStore((s) => s.setChoice);
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const rows = useMemo(
    () => mergeRows(regions, decision.choices, expanded),
    [regions, decision.choices, expanded],
  );

  const listRef = useRef<HTMLElement>(null);
  const virtualizer = usePageVirtualizer(listRef, {
    count: rows.length,
    estimateSize: (i) => (rows[i]?.kind === 'head' ? 38 : 20),
    overscan: 25,
    getItemKey: (i) => rows[i]?.key ?? i,
  });
  const margin = virtualizer.options.scrollMargin;
  const scroll = usePaneScroll();
  const widest = useMemo(() => widestLines(rows), [rows]);
  const panes: Pane[] = showBase ? ['base', 'yours', 'result', 'upstream'] : ['yours', 'result', 'upstream'];
  const grid = { gridTemplateColumns: `repeat(${panes.length}, minmax(0, 1fr))` };

  const renderRow = (row: MergeRow) => {
    switch (row.kind) {
      case 'same':
        return (
          <div className="mp-row mp-same" style={grid}>
            {showBase && <Line line={row.base} className="mp-base" />}
            <Line line={row.yours} className="mp-yours" />
            <Line line={row.result} className="mp-result" />
            <Line line={row.upstream} className="mp-upstream" />
          </div>
        );
      case 'fold':
        return (
          <div className="mp-fold">
            <button
              type="button"
              className="link"
              onClick={() => setExpanded((prev) => new Set(prev).add(row.region))}
            >
              Show {row.hidden.toLocaleString()} unchanged {row.hidden === 1 ? 'line' : 'lines'}
            </button>
          </div>
        );
      case 'head': {
        const unresolved = row.choice === null;
        return (
          <div className={`mp-head mp-head-${row.region.change}${unresolved ? ' is-unresolved' : ''}`}>
            <span className="mp-head-title">
              <Icon name={row.region.change === 'conflict' ? 'alert' : 'merge'} size={14} />
              Hunk {row.region.id + 1} · {CHANGE_TITLES[row.region.change]}
              {unresolved && <span className="mp-head-todo">— choose what to keep</span>}
            </span>
            <ChoiceBar
              region={row.region}
              choice={row.choice}
              onChoose={(choice) => setChoice(decisionKey, fallback, row.region.id, choice)}
            />
          </div>
        );
      }
      case 'editor': {
        const lines = Math.max(
          row.text.split('\n').length,
          row.region.yours.length,
          row.region.upstream.length,
          2,
        );
        const block = (side: string[], first: number, className: string) => (
          <div className={`mp-block ${className}`}>
            {side.map((text, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines of one hunk are positional
              <Line key={i} line={{ no: first + i, text }} className="mp-block-line" />
            ))}
          </div>
        );
        return (
          <div className="mp-row mp-change mp-editor-row" style={grid}>
            {showBase && block(row.region.base, row.start.base, 'mp-base')}
            {block(row.region.yours, row.start.yours, 'mp-yours mp-side')}
            <div className="mp-cell mp-editor">
              <textarea
                className="input textarea mono"
                aria-label={`Edited text of hunk ${row.region.id + 1}`}
                rows={lines}
                wrap="off"
                value={row.text}
                spellCheck={false}
                onChange={(e) => setChoice(decisionKey, fallback, row.region.id, { edited: e.target.value })}
              />
            </div>
            {block(row.region.upstream, row.start.upstream, 'mp-upstream mp-side')}
          </div>
        );
      }
      default: {
        const change = row.region.change;
        return (
          <div className={`mp-row mp-change mp-change-${change}`} style={grid}>
            {showBase && <Line line={row.base} className="mp-base mp-side" />}
            <Line line={row.yours} className="mp-yours mp-side" />
            {row.result ? (
              <Line line={row.result} className={`mp-result mp-from-${row.result.from}`} />
            ) : row.key === `l${row.region.id}:0` &&
              effectiveChoice(row.region, decision.choices) === null ? (
              <div className="mp-cell mp-result mp-unresolved">
                <span className="mp-no" aria-hidden="true">
                  ?
                </span>
                <span className="mp-text">Not decided yet: choose above</span>
              </div>
            ) : (
              <div className="mp-cell mp-filler mp-result" aria-hidden="true" />
            )}
            <Line line={row.upstream} className="mp-upstream mp-side" />
          </div>
        );
      }
    }
  };

  return (
    <div className="merge-panes" ref={scroll.rootRef}>
      <PaneHeads panes={panes} widest={widest} scroll={scroll} grid={grid} titles={titles} />
      <MergeRowsRegion
        listRef={listRef}
        label={label ?? `Three-way merge of /etc/${file.path}`}
        scroll={scroll}
      >
        <div className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="virtual-row"
                style={{ transform: `translateY(${item.start - margin}px)` }}
              >
                {renderRow(row)}
              </div>
            );
          })}
        </div>
      </MergeRowsRegion>
    </div>
  );
}

/**
 * The engine's entry-by-entry merge of an account database (passwd, group…): shown as the three
 * texts with the result's lines marked by where they came from.
 */
export function EntryMergePanes({ file, texts }: { file: EtcMergeFile; texts: MergeTexts }) {
  const yours = splitText(texts.yours).lines;
  const upstream = splitText(texts.upstream).lines;
  const merged = splitText(file.merged ?? '').lines;
  const yourSet = new Set(yours);
  const upSet = new Set(upstream);
  const n = Math.max(yours.length, upstream.length, merged.length);
  const grid = { gridTemplateColumns: 'repeat(3, minmax(0, 1fr))' };
  const scroll = usePaneScroll();
  const widest = (lines: string[]): number => lines.reduce((w, line) => Math.max(w, lineColumns(line)), 0);
  return (
    <div className="merge-panes" ref={scroll.rootRef}>
      <PaneHeads
        panes={['yours', 'result', 'upstream']}
        widest={{ base: 0, yours: widest(yours), result: widest(merged), upstream: widest(upstream) }}
        scroll={scroll}
        grid={grid}
      />
      <MergeRowsRegion label={`Entry-by-entry merge of /etc/${file.path}`} scroll={scroll}>
        {Array.from({ length: n }, (_, i) => {
          const m = merged[i];
          const from =
            m === undefined
              ? ''
              : yourSet.has(m) && upSet.has(m)
                ? 'same'
                : yourSet.has(m)
                  ? 'yours'
                  : 'upstream';
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
            <div key={i} className="mp-row" style={grid}>
              <Line
                line={yours[i] !== undefined ? { no: i + 1, text: yours[i] as string } : null}
                className="mp-yours"
              />
              <Line
                line={m !== undefined ? { no: i + 1, text: m } : null}
                className={`mp-result${from && from !== 'same' ? ` mp-from-${from}` : ''}`}
              />
              <Line
                line={upstream[i] !== undefined ? { no: i + 1, text: upstream[i] as string } : null}
                className="mp-upstream"
              />
            </div>
          );
        })}
      </MergeRowsRegion>
      <p className="mp-legend">
        <span className="legend-swatch mp-from-yours" aria-hidden="true" /> from your copy
        <span className="legend-swatch mp-from-upstream" aria-hidden="true" /> from the new image
      </p>
    </div>
  );
}

/** The whole result as text, for edits no hunk choice can express. */
function WholeFileEditor({
  value,
  onChange,
  path,
}: {
  value: string;
  onChange: (text: string) => void;
  path: string;
}) {
  return (
    <div className="whole-editor">
      <Notice tone="neutral" compact>
        <p>This exact text is written to /etc/{path}. Conflict markers are not removed for you.</p>
      </Notice>
      <textarea
        className="input textarea mono whole-textarea"
        aria-label={`Result text of /etc/${path}`}
        value={value}
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  );
}

/** The toolbar's hunk tools: one side for every hunk (or none), and whether the base column shows. */
export function HunkTools({
  regions,
  decisionKey,
  decision,
  showBase,
  onShowBase,
}: {
  regions: Region[];
  decisionKey: string;
  decision: FileDecision;
  showBase: boolean;
  onShowBase: (show: boolean) => void;
}) {
  const setDecision = useMergeStore((s) => s.setDecision);
  const baseId = useId();
  const changes = regions.filter((r) => r.kind === 'change');
  const all = (choice: 'yours' | 'upstream' | null): void =>
    setDecision(decisionKey, {
      ...decision,
      mode: 'hunks',
      choices: choice ? Object.fromEntries(changes.map((r) => [r.id, choice])) : {},
    });
  return (
    <>
      {changes.length > 0 && (
        <>
          <Button size="sm" onClick={() => all('yours')}>
            All yours
          </Button>
          <Button size="sm" onClick={() => all('upstream')}>
            All upstream
          </Button>
          <Button size="sm" variant="ghost" icon="undo" onClick={() => all(null)}>
            Reset
          </Button>
        </>
      )}
      <label className="check" htmlFor={baseId}>
        <input
          id={baseId}
          type="checkbox"
          checked={showBase}
          onChange={(e) => onShowBase(e.target.checked)}
        />
        Show base
      </label>
    </>
  );
}

/**
 * A text merge as the person shapes it: hunk by hunk in the panes, or the whole result as text;
 * a note instead when the two sides are the same.
 */
export function HunkMerge({
  same,
  ...panes
}: MergePanesProps & {
  /** The note when no hunk differs: its title and what applying then does. */
  same: { title: string; text: string };
}) {
  const patch = useMergeStore((s) => s.patchDecision);
  if (panes.decision.mode === 'edit')
    return (
      <WholeFileEditor
        path={panes.file.path}
        value={panes.decision.editText ?? ''}
        onChange={(text) => patch(panes.decisionKey, panes.fallback, { editText: text })}
      />
    );
  if (!panes.regions.some((r) => r.kind === 'change'))
    return (
      <Notice tone="success" title={same.title}>
        <p>{same.text}</p>
      </Notice>
    );
  return <MergePanes {...panes} />;
}
