import {
  type ChangeRegion,
  type Choice,
  type Choices,
  choiceLines,
  effectiveChoice,
  type Region,
} from './merge-model.ts';

/** One numbered line in one pane. */
export interface PaneLine {
  no: number;
  text: string;
}

export type ResultOrigin = 'same' | 'yours' | 'upstream' | 'both' | 'base' | 'edited';

export type MergeRow =
  | { kind: 'same'; key: string; base: PaneLine; yours: PaneLine; result: PaneLine; upstream: PaneLine }
  | { kind: 'fold'; key: string; region: number; hidden: number }
  | { kind: 'head'; key: string; region: ChangeRegion; choice: Choice | null }
  | {
      kind: 'line';
      key: string;
      region: ChangeRegion;
      base: PaneLine | null;
      yours: PaneLine | null;
      result: (PaneLine & { from: ResultOrigin }) | null;
      upstream: PaneLine | null;
    }
  | {
      kind: 'editor';
      key: string;
      region: ChangeRegion;
      text: string;
      /** First line numbers of the region in base, yours and upstream, for the blocks beside the editor. */
      start: { base: number; yours: number; upstream: number };
    };

const CONTEXT = 3;

function origin(choice: Choice): ResultOrigin {
  return typeof choice === 'object' ? 'edited' : choice;
}

/**
 * Lays the regions out as rows of aligned panes: unchanged stretches fold down to a few lines of
 * context, and each change shows yours, the result and upstream side by side with its choice.
 */
export function mergeRows(regions: Region[], choices: Choices, expanded: Set<number>): MergeRow[] {
  const rows: MergeRow[] = [];
  let b = 1;
  let y = 1;
  let r = 1;
  let u = 1;
  regions.forEach((region, index) => {
    if (region.kind === 'same') {
      const n = region.lines.length;
      const first = index === 0;
      const last = index === regions.length - 1;
      const keepHead = first ? 0 : CONTEXT;
      const keepTail = last ? 0 : CONTEXT;
      const foldable = !expanded.has(index) && n > keepHead + keepTail + 1;
      region.lines.forEach((text, i) => {
        const inFold = foldable && i >= keepHead && i < n - keepTail;
        if (inFold) {
          if (i === keepHead)
            rows.push({ kind: 'fold', key: `f${index}`, region: index, hidden: n - keepHead - keepTail });
        } else {
          rows.push({
            kind: 'same',
            key: `s${index}:${i}`,
            base: { no: b, text },
            yours: { no: y, text },
            result: { no: r, text },
            upstream: { no: u, text },
          });
        }
        b++;
        y++;
        r++;
        u++;
      });
      return;
    }
    const choice = effectiveChoice(region, choices);
    rows.push({ kind: 'head', key: `h${region.id}`, region, choice });
    if (choice && typeof choice === 'object') {
      // While a hunk is being edited its three sides sit beside one editor in the result pane.
      rows.push({
        kind: 'editor',
        key: `e${region.id}`,
        region,
        text: choice.edited,
        start: { base: b, yours: y, upstream: u },
      });
      r += choiceLines(region, choice).length;
    } else {
      const result = choice ? choiceLines(region, choice) : [];
      const n = Math.max(region.yours.length, region.upstream.length, region.base.length, result.length, 1);
      for (let i = 0; i < n; i++) {
        rows.push({
          kind: 'line',
          key: `l${region.id}:${i}`,
          region,
          base: i < region.base.length ? { no: b + i, text: region.base[i] as string } : null,
          yours: i < region.yours.length ? { no: y + i, text: region.yours[i] as string } : null,
          result:
            choice && i < result.length
              ? {
                  no: r + i,
                  text: result[i] as string,
                  from: choice === 'both' ? (i < region.yours.length ? 'yours' : 'upstream') : origin(choice),
                }
              : null,
          upstream: i < region.upstream.length ? { no: u + i, text: region.upstream[i] as string } : null,
        });
      }
      r += result.length;
    }
    b += region.base.length;
    y += region.yours.length;
    u += region.upstream.length;
  });
  return rows;
}

export type Pane = 'base' | 'yours' | 'result' | 'upstream';

/** How many columns a line takes in a monospace pane, tabs to the next multiple of eight. */
export function lineColumns(text: string): number {
  let columns = 0;
  for (const ch of text) columns = ch === '\t' ? columns + 8 - (columns % 8) : columns + 1;
  return columns;
}

/** The widest line of each pane, in columns: how far each pane scrolls sideways. */
export function widestLines(rows: MergeRow[]): Record<Pane, number> {
  const widest: Record<Pane, number> = { base: 0, yours: 0, result: 0, upstream: 0 };
  const fit = (pane: Pane, text: string | undefined): void => {
    if (text !== undefined) widest[pane] = Math.max(widest[pane], lineColumns(text));
  };
  for (const row of rows) {
    if (row.kind === 'same' || row.kind === 'line') {
      fit('base', row.base?.text);
      fit('yours', row.yours?.text);
      fit('result', row.result?.text);
      fit('upstream', row.upstream?.text);
    } else if (row.kind === 'editor') {
      for (const text of row.region.base) fit('base', text);
      for (const text of row.region.yours) fit('yours', text);
      for (const text of row.region.upstream) fit('upstream', text);
    }
  }
  return widest;
}
