import { diffArrays } from 'diff';

/**
 * A per-hunk three-way merge: the regions where yours or upstream differ from the base, each with the
 * choice a person made, composed into the result text. The engine's own merge decides what OSTree
 * and a line merge would do; this model lets the person decide hunk by hunk.
 */

export type ChangeKind = 'yours' | 'upstream' | 'both-same' | 'conflict';

export interface SameRegion {
  kind: 'same';
  lines: string[];
}

export interface ChangeRegion {
  kind: 'change';
  /** Index among change regions, stable for a given trio of texts. */
  id: number;
  change: ChangeKind;
  base: string[];
  yours: string[];
  upstream: string[];
}

export type Region = SameRegion | ChangeRegion;

export type Choice = 'yours' | 'upstream' | 'both' | 'base' | { edited: string };

export interface SplitText {
  lines: string[];
  finalNewline: boolean;
}

export function splitText(text: string): SplitText {
  if (text === '') return { lines: [], finalNewline: false };
  const finalNewline = text.endsWith('\n');
  return { lines: (finalNewline ? text.slice(0, -1) : text).split('\n'), finalNewline };
}

export function joinText(lines: string[], finalNewline: boolean): string {
  if (!lines.length) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

interface Hunk {
  side: 'yours' | 'upstream';
  oStart: number;
  oLength: number;
  abStart: number;
  abLength: number;
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

/**
 * The spans where `side` differs from the base. Myers' diff (jsdiff) costs O(N·D): a 20,000-line file
 * with a few edits takes milliseconds, where an LCS table would take a second.
 */
function sideHunks(base: string[], other: string[], side: Hunk['side']): Hunk[] {
  const out: Hunk[] = [];
  let o = 0;
  let ab = 0;
  let open: Hunk | null = null;
  for (const part of diffArrays(base, other)) {
    const count = part.count ?? part.value.length;
    if (!part.added && !part.removed) {
      if (open) out.push(open);
      open = null;
      o += count;
      ab += count;
      continue;
    }
    open ??= { side, oStart: o, oLength: 0, abStart: ab, abLength: 0 };
    if (part.removed) {
      open.oLength += count;
      o += count;
    } else {
      open.abLength += count;
      ab += count;
    }
  }
  if (open) out.push(open);
  return out;
}

export function mergeRegions(base: string[], yours: string[], upstream: string[]): Region[] {
  const hunks: Hunk[] = [...sideHunks(base, yours, 'yours'), ...sideHunks(base, upstream, 'upstream')];
  hunks.sort((x, y) => x.oStart - y.oStart || (x.side === y.side ? 0 : x.side === 'yours' ? -1 : 1));

  const regions: Region[] = [];
  let offset = 0;
  let id = 0;
  let i = 0;
  while (i < hunks.length) {
    const first = hunks[i] as Hunk;
    const start = first.oStart;
    let end = first.oStart + first.oLength;
    const group: Hunk[] = [first];
    i++;
    while (i < hunks.length && (hunks[i] as Hunk).oStart <= end) {
      const next = hunks[i] as Hunk;
      end = Math.max(end, next.oStart + next.oLength);
      group.push(next);
      i++;
    }
    if (start > offset) regions.push({ kind: 'same', lines: base.slice(offset, start) });
    // Outside its own hunks a side equals the base, so its span is the base span shifted by its skew.
    const span = (side: Hunk['side'], buffer: string[]): string[] => {
      const own = group.filter((h) => h.side === side);
      if (!own.length) return base.slice(start, end);
      const abStart = Math.min(...own.map((h) => h.abStart));
      const abEnd = Math.max(...own.map((h) => h.abStart + h.abLength));
      const oStart = Math.min(...own.map((h) => h.oStart));
      const oEnd = Math.max(...own.map((h) => h.oStart + h.oLength));
      return buffer.slice(abStart + (start - oStart), abEnd + (end - oEnd));
    };
    const mine = span('yours', yours);
    const theirs = span('upstream', upstream);
    const yoursChanged = group.some((h) => h.side === 'yours');
    const upstreamChanged = group.some((h) => h.side === 'upstream');
    const change: ChangeKind =
      yoursChanged && upstreamChanged
        ? sameLines(mine, theirs)
          ? 'both-same'
          : 'conflict'
        : yoursChanged
          ? 'yours'
          : 'upstream';
    regions.push({
      kind: 'change',
      id: id++,
      change,
      base: base.slice(start, end),
      yours: mine,
      upstream: theirs,
    });
    offset = end;
  }
  if (offset < base.length) regions.push({ kind: 'same', lines: base.slice(offset) });
  return regions;
}

/** What a line merge takes without asking: the side that changed, or nothing for a conflict. */
export function defaultChoice(region: ChangeRegion): Choice | null {
  switch (region.change) {
    case 'yours':
    case 'both-same':
      return 'yours';
    case 'upstream':
      return 'upstream';
    default:
      return null;
  }
}

export function choiceLines(region: ChangeRegion, choice: Choice): string[] {
  if (choice === 'yours') return region.yours;
  if (choice === 'upstream') return region.upstream;
  if (choice === 'base') return region.base;
  if (choice === 'both') return [...region.yours, ...region.upstream];
  return splitText(choice.edited.endsWith('\n') ? choice.edited : `${choice.edited}\n`).lines;
}

export type Choices = Record<number, Choice | undefined>;

export function effectiveChoice(region: ChangeRegion, choices: Choices): Choice | null {
  return choices[region.id] ?? defaultChoice(region);
}

export interface ComposedLine {
  text: string;
  from: 'same' | 'yours' | 'upstream' | 'both' | 'base' | 'edited';
}

export interface Composition {
  text: string;
  unresolved: number;
}

/** The result text from the regions and the choices; null where a conflict is still open. */
export function compose(regions: Region[], choices: Choices, finalNewline: boolean): Composition {
  const out: string[] = [];
  let unresolved = 0;
  for (const region of regions) {
    if (region.kind === 'same') {
      out.push(...region.lines);
      continue;
    }
    const choice = effectiveChoice(region, choices);
    if (!choice) {
      unresolved++;
      continue;
    }
    out.push(...choiceLines(region, choice));
  }
  return { text: joinText(out, out.length ? finalNewline : false), unresolved };
}

/** A side that changed the final newline wins, as the engine's merge does. */
export function mergedFinalNewline(base: SplitText, yours: SplitText, upstream: SplitText): boolean {
  return yours.finalNewline !== base.finalNewline
    ? yours.finalNewline
    : upstream.finalNewline || yours.finalNewline;
}

export function choiceName(choice: Choice | null): string {
  if (!choice) return 'unresolved';
  if (typeof choice === 'object') return 'edited';
  return choice;
}
